package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"mailgate/internal/config"
	"mailgate/internal/store"
)

func newUserQuotaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "quota ADDRESS [SIZE|default|unlimited]",
		Short: "show or set an account's mailbox storage quota",
		Long: `Without SIZE, prints the account's quota and whether it is its own or the
node's default ([mailbox] quota). SIZE is octets or takes a unit: "500MB",
"2GiB", "10M" (binary). "unlimited" (or 0) lifts the limit for this account;
"default" gives it the node's default again. The change is audited (user.quota).`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				if len(args) == 2 {
					bytes := store.QuotaDefault
					if !strings.EqualFold(args[1], "default") {
						var err error
						if bytes, err = config.ParseByteSize(args[1]); err != nil {
							return err
						}
					}
					if err := st.SetAccountQuota(ctx, actor(), args[0], bytes); err != nil {
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
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\tquota=%s (%s)\n", strings.ToLower(args[0]), quotaText(own), from)
				return err
			})
		},
	}
}

func quotaText(bytes int64) string {
	if bytes == 0 {
		return "unlimited"
	}
	return config.FormatByteSize(bytes)
}
