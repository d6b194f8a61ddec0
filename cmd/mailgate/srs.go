package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"mailgate/internal/srs"
)

func newSRSCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "srs", Short: "the Sender Rewriting Scheme addresses of forwarded mail: make one, check one"}
	// The node's rewriter, from [srs]; the secret file is read, never
	// created here (serve creates it at first start).
	open := func() (*srs.Rewriter, error) {
		cfg, err := loadConfig()
		if err != nil {
			return nil, err
		}
		return srs.Open(cfg.SRSDomain(), cfg.SRSSecretFile(), cfg.SRS.MaxAge, false)
	}
	forward := &cobra.Command{
		Use:   "forward SENDER",
		Short: "print the address SENDER becomes when this node forwards its mail (today's)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rw, err := open()
			if err != nil {
				return err
			}
			a, err := rw.Forward(args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), a)
			return err
		},
	}
	reverse := &cobra.Command{
		Use:   "reverse ADDRESS",
		Short: "print where a bounce to the SRS address ADDRESS goes, or why the MX refuses it",
		Long: `Checks ADDRESS as the MX does a bounce's recipient: the hash against
every secret, the stamp against max_age. Prints the original sender (for
SRS1, the first forwarder's SRS0 address). The domain of ADDRESS is not
checked; the MX takes only srs.domain's.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rw, err := open()
			if err != nil {
				return err
			}
			orig, err := rw.Reverse(args[0])
			if err != nil {
				return fmt.Errorf("%s: %w (the MX answers 550 5.1.1)", args[0], err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), orig)
			return err
		},
	}
	cmd.AddCommand(forward, reverse)
	return cmd
}
