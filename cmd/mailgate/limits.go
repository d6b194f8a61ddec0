package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"mailgate/internal/store"
)

// newUserLimitsCmd is `user limits ADDRESS`: an account's own daily send
// limits over the [limits] defaults.
func newUserLimitsCmd() *cobra.Command {
	var rcpts, msgs string
	cmd := &cobra.Command{
		Use:   "limits ADDRESS",
		Short: "show or set an account's daily send limits (recipients and messages per rolling 24 hours)",
		Long: `Without flags, shows the account's limits and what it sent in the last 24 hours.
--recipients-per-day and --messages-per-day take a count, 0 for no limit, or
"default" for the [limits] setting.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := context.Background()
			st, cfg, err := openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if _, err := st.Account(ctx, args[0]); err != nil {
				return err
			}
			o, err := st.LimitOverride(ctx, args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("recipients-per-day") || cmd.Flags().Changed("messages-per-day") {
				if o.RecipientsPerDay, err = limitFlag("recipients-per-day", rcpts, o.RecipientsPerDay, cmd.Flags().Changed("recipients-per-day")); err != nil {
					return err
				}
				if o.MessagesPerDay, err = limitFlag("messages-per-day", msgs, o.MessagesPerDay, cmd.Flags().Changed("messages-per-day")); err != nil {
					return err
				}
				if err := st.SetLimitOverride(ctx, actor(), args[0], o); err != nil {
					return err
				}
			}
			r, m, err := st.SendUsage(ctx, args[0])
			if err != nil {
				return err
			}
			lim := o.Apply(store.SendLimits{RecipientsPerDay: cfg.Limits.RecipientsPerDay, MessagesPerDay: cfg.Limits.MessagesPerDay})
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "recipients per day: %s%s; sent in the last 24 h: %d\n", limitText(lim.RecipientsPerDay), overrideNote(o.RecipientsPerDay), r)
			fmt.Fprintf(w, "messages per day:   %s%s; sent in the last 24 h: %d\n", limitText(lim.MessagesPerDay), overrideNote(o.MessagesPerDay), m)
			return nil
		},
	}
	cmd.Flags().StringVar(&rcpts, "recipients-per-day", "", `recipients per 24 hours: a count, 0 (no limit) or "default"`)
	cmd.Flags().StringVar(&msgs, "messages-per-day", "", `messages per 24 hours: a count, 0 (no limit) or "default"`)
	return cmd
}

// limitFlag parses a limit flag; an unset flag keeps the current value.
func limitFlag(name, v string, current *int, set bool) (*int, error) {
	if !set {
		return current, nil
	}
	if v == "default" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("--%s %q: %w (want a count, 0 for no limit, or \"default\")", name, v, store.ErrInvalid)
	}
	return &n, nil
}

func limitText(n int) string {
	if n == 0 {
		return "no limit"
	}
	return strconv.Itoa(n)
}

func overrideNote(v *int) string {
	if v == nil {
		return " (default)"
	}
	return " (this account)"
}

// overrideText is one column of `user list`'s limits: the account's own
// value, or "default".
func overrideText(v *int) string {
	if v == nil {
		return "default"
	}
	return limitText(*v)
}
