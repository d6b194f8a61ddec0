package main

import (
	"context"
	"fmt"
	"net/netip"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"mailgate/internal/dns"
	"mailgate/internal/reputation"
	"mailgate/internal/store"
	"mailgate/internal/verdict"
)

func newReputationCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reputation",
		Short: "inbound source checks: DNS lists, other ISPs' dynamic ranges (IP25B), reverse DNS",
		Long: `The MX judges every client before it receives mail: DNS block lists
([reputation] dnsbl), dynamic (end-user) address space talking straight to
port 25 (other ISPs' feeds imported here, PBL-style list answers, our own
dynamic pools) and reverse DNS. See [reputation] in mailgate config example.`,
	}
	cmd.AddCommand(newReputationImportCmd(), newReputationListCmd(), newReputationRemoveCmd(), newReputationCheckCmd())
	return cmd
}

func newReputationImportCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "import NAME FILE|URL|-",
		Short: "load another ISP's dynamic-range feed (edge feed's txt, csv or json) as list NAME, replacing it",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				n, err := reputation.Import(ctx, st, actor(), args[0], args[1], format, cmd.InOrStdin())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "list %s: %d prefixes from %s\n", args[0], n, args[1])
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "txt, csv or json; empty: tell from the content")
	return cmd
}

func newReputationListCmd() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "list the imported dynamic-range lists", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				ls, err := st.ReputationLists(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPREFIXES\tIMPORTED\tSOURCE")
				for _, l := range ls {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", l.Name, l.Prefixes, l.Imported.UTC().Format(time.RFC3339), l.Source)
				}
				return tw.Flush()
			})
		},
	}
}

func newReputationRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use: "remove NAME", Short: "remove an imported list", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				if err := st.RemoveReputationList(ctx, actor(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "list %s removed\n", args[0])
				return nil
			})
		},
	}
}

func newReputationCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check IP",
		Short: "judge an address as the MX would: prints accept or reject with the reply, the score, then every check's finding",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ip, err := netip.ParseAddr(args[0])
			if err != nil || ip.Zone() != "" {
				return fmt.Errorf("IP %q: not an IP address", args[0])
			}
			ctx := context.Background()
			st, cfg, err := openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			c, err := reputation.New(cfg.ReputationConfig(), dns.New(cfg.DNS.Servers, cfg.DNS.Timeout), cfg.DNS.Timeout, st, newLogger("warn"))
			if err != nil {
				return err
			}
			r := c.Check(ctx, &verdict.Client{IP: ip, Service: "mx"})
			fmt.Fprint(cmd.OutOrStdout(), r.Format())
			if r.Refusal != nil {
				fmt.Fprintln(cmd.OutOrStdout(), "  refused "+refusedWhen(ctx, cfg.Reputation.ConnectWait, c, ip))
			}
			return nil
		},
	}
}

// refusedWhen says where the MX refuses a client the checks refuse: before
// the greeting when the checks on the address alone do (554 is the only
// refusal a greeting may be, RFC 5321 §4.3.2), else at MAIL FROM.
func refusedWhen(ctx context.Context, wait time.Duration, c *reputation.Checker, ip netip.Addr) string {
	if wait > 0 {
		ctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		if r := c.CheckConnect(ctx, ip); r.Refusal != nil {
			return "at connect: 554 instead of the 220 greeting"
		}
	}
	return "at MAIL FROM"
}
