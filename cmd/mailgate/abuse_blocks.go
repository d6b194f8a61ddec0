package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailgate/internal/login"
	"mailgate/internal/store"
)

// newAbuseBlocksCmd is `abuse blocks [list|remove ADDR]`: the login
// throttle's blocks (issue 11 §2).
func newAbuseBlocksCmd() *cobra.Command {
	list := func(cmd *cobra.Command, _ []string) error {
		return withStore(func(ctx context.Context, st *store.Store) error {
			bs, err := st.LoginBlocks(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SOURCE\tSCOPE\tACCOUNT\tFAILURES\tSINCE\tUNTIL\tREASON")
			for _, b := range bs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", b.Source, b.Scope, orDash(b.Account), b.Failures, fmtTime(b.FirstAt), fmtTime(b.BlockedUntil), b.Reason)
			}
			return tw.Flush()
		})
	}
	cmd := &cobra.Command{
		Use:   "blocks [list|remove ADDR]",
		Short: "login blocks in force (SMTP AUTH, IMAP, POP3), and lifting them",
		Long: `Logins are throttled by client address ([abuse.login]): failures are counted per address
(IPv4, IPv6 /64), per network (/24, /48) and per address and account; past the thresholds the
source is blocked for abuse.login.block_time. "list" (the default) shows the blocks in force on
every node; "remove ADDR" lifts the blocks and forgets the failures of ADDR (an address, or a
network as list shows it), audited.`,
		Args: cobra.NoArgs,
		RunE: list,
	}
	cmd.AddCommand(&cobra.Command{Use: "list", Short: "show the login blocks in force", Args: cobra.NoArgs, RunE: list},
		&cobra.Command{
			Use: "remove ADDR", Short: "lift the login blocks of an address or network and forget its failures", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				src, err := login.ParseSource(args[0])
				if err != nil {
					return err
				}
				return withStore(func(ctx context.Context, st *store.Store) error {
					n, err := st.RemoveLoginBlocks(ctx, actor(), src)
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %d counters removed, logins from it are checked again\n", src, n)
					return nil
				})
			},
		})
	return cmd
}
