package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"mailgate/internal/store"
)

// newUserSpamCmd is `mailgate user spam ADDRESS [flags]`: show or change
// an account's spam-check service.
func newUserSpamCmd() *cobra.Command {
	var service, action, tag string
	var threshold float64
	cmd := &cobra.Command{
		Use:   "spam ADDRESS",
		Short: "show or set an account's spam-check service: on/off, header|tag|junk, threshold, subject tag",
		Long: `Without flags, prints the account's settings. "default" (for --action, --tag)
and 0 (for --threshold) mean the operator's [scan.spam] setting.

  --service on|off           judge this account's mail at all
  --action header|tag|junk   spam gets our X-Spam-* fields only, a subject tag too,
                             or goes into the Junk folder
  --threshold SCORE          mail scoring at least SCORE is spam
  --tag TEXT                 the subject tag`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				set, err := st.AccountSpam(ctx, args[0])
				if err != nil {
					return err
				}
				changed := false
				f := cmd.Flags()
				if f.Changed("service") {
					switch service {
					case "on", "off":
						set.Enabled = service == "on"
					default:
						return fmt.Errorf("--service %q: say on or off", service)
					}
					changed = true
				}
				if f.Changed("action") {
					set.Action = unlessDefault(action)
					changed = true
				}
				if f.Changed("threshold") {
					set.Threshold, changed = threshold, true
				}
				if f.Changed("tag") {
					set.Tag = unlessDefault(tag)
					changed = true
				}
				if changed {
					if err := st.SetAccountSpam(ctx, actor(), args[0], set); err != nil {
						return err
					}
				}
				return printSpam(cmd, strings.ToLower(args[0]), set)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&service, "service", "", "on or off")
	f.StringVar(&action, "action", "", "header, tag, junk or default")
	f.Float64Var(&threshold, "threshold", 0, "score from which mail is spam (0 = default)")
	f.StringVar(&tag, "tag", "", "subject tag (default = the operator's)")
	return cmd
}

func printSpam(cmd *cobra.Command, addr string, s store.SpamSettings) error {
	orDefault := func(v string) string {
		if v == "" {
			return "default"
		}
		return v
	}
	service := "off"
	if s.Enabled {
		service = "on"
	}
	threshold := "default"
	if s.Threshold > 0 {
		threshold = fmt.Sprintf("%g", s.Threshold)
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s spam: service=%s action=%s threshold=%s tag=%q\n",
		addr, service, orDefault(s.Action), threshold, orDefault(s.Tag))
	return err
}

// unlessDefault maps the word "default" to "", the store's "operator's
// setting".
func unlessDefault(v string) string {
	if v == "default" {
		return ""
	}
	return v
}
