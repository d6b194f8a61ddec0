package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"mailgate/internal/address"
	"mailgate/internal/config"
	"mailgate/internal/mailbox"
	"mailgate/internal/quotawarn"
	"mailgate/internal/store"
)

func newUserQuotaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "quota ADDRESS [SIZE|default|unlimited]",
		Short: "show or set an account's mailbox storage quota",
		Long: `Without SIZE, prints the account's quota and whether it is its own or the
node's default ([mailbox] quota). SIZE is octets or takes a unit: "500MB",
"2GiB", "10M" (binary). "unlimited" (or 0) lifts the limit for this account;
"default" gives it the node's default again. The change is audited (user.quota).
A quota lowered under the usage past one of [mailbox] quota_warnings stores
that warning in the subscriber's INBOX once, as mail taking it there would
(a Maildir on this node only).
The usage of the account's Maildir, when it is on this node, is counted from
the disk.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStoreConfig(func(ctx context.Context, st *store.Store, cfg *config.Config) error {
				if len(args) == 2 {
					bytes, err := store.ParseQuota(args[1])
					if err != nil {
						return err
					}
					// A quota lowered under a usage past a warning stores
					// the notice (a Maildir on this node only).
					w := quotawarn.FromConfig(cfg, newLogger("warn"))
					if err := w.SetQuota(ctx, st, filepath.Join(cfg.DataDir, "mail"), actor(), args[0], bytes); err != nil {
						return err
					}
				}
				own, ok, err := st.AccountQuota(ctx, args[0])
				if err != nil {
					return err
				}
				from := "own"
				if !ok {
					own, from = st.DefaultMailboxQuota(), "default"
				}
				// The store's form, as delivery names the Maildir
				// (CanonicalDomain: an IDN or upper-case domain), not
				// strings.ToLower's. AccountQuota found it: well formed.
				addr, _ := address.Normalize(args[0])
				line := fmt.Sprintf("%s\tquota=%s (%s)", addr, store.FormatQuota(own), from)
				// The usage of a Maildir on this node; in a fleet, of one
				// homed here.
				if dir, err := mailbox.Dir(filepath.Join(cfg.DataDir, "mail"), addr); err == nil {
					if _, err := os.Stat(dir); err == nil {
						if u, err := mailbox.CountUsage(dir); err == nil {
							line += fmt.Sprintf(" usage=%d octets, %d messages", u.Bytes, u.Messages)
						}
					}
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), line)
				return err
			})
		},
	}
}
