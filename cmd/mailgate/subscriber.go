package main

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"mailgate/internal/store"
)

// newSubscriberCmd is `subscriber`: who held an address (from the BNG's
// RADIUS accounting), and the link from a subscriber line to a mail account.
func newSubscriberCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "subscriber", Short: "subscriber lines from RADIUS accounting: who held an address, links to mail accounts"}
	var at string
	who := &cobra.Command{
		Use:   "who IP",
		Short: "the subscriber who held IP (now, or at --at), from the BNG's RADIUS accounting",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ip, err := netip.ParseAddr(args[0])
			if err != nil {
				return fmt.Errorf("%q is not an IP address", args[0])
			}
			when := time.Now()
			if at != "" {
				if when, err = time.Parse(time.RFC3339, at); err != nil {
					return fmt.Errorf("--at %q: want RFC 3339, e.g. 2026-12-01T10:00:00Z", at)
				}
			}
			return withStore(func(ctx context.Context, st *store.Store) error {
				ss, err := st.SubscriberAt(ctx, ip, when)
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "subscriber %s\n", ss.Username)
				if ss.Account != "" {
					fmt.Fprintf(w, "account    %s\n", ss.Account)
				}
				if ss.Class != "" {
					fmt.Fprintf(w, "class      %s\n", ss.Class)
				}
				fmt.Fprintf(w, "session    %s on %s, from %s until %s\n", ss.SessionID, ss.NAS, fmtTime(ss.Start), orOpen(ss.Stop))
				return nil
			})
		},
	}
	who.Flags().StringVar(&at, "at", "", "the moment to ask about (RFC 3339); default now")
	link := &cobra.Command{
		Use:   "link USERNAME ACCOUNT",
		Short: "link a subscriber (the RADIUS User-Name) to a mail account, for reports and notices",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				if err := st.LinkSubscriber(ctx, actor(), args[0], args[1]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "subscriber %s linked to %s\n", args[0], args[1])
				return nil
			})
		},
	}
	cmd.AddCommand(who, link)
	return cmd
}

func orOpen(t time.Time) string {
	if t.IsZero() {
		return "now (open)"
	}
	return fmtTime(t)
}

// subscriberOf names who held ip at the moment at, for reports.
func subscriberOf(ctx context.Context, st *store.Store, ip netip.Addr, at time.Time) string {
	return st.SubscriberLabel(ctx, ip, at)
}
