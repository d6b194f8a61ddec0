package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"mailgate/internal/abuse"
)

// newAbuseCmd is `abuse`: the abuse desk's tools.
func newAbuseCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "abuse", Short: "the abuse desk: port-25 notices, login blocks, compromised accounts"}
	var dryRun bool
	var threshold int
	notices := &cobra.Command{
		Use:   "notices",
		Short: "send graded notices (first notice, reminders) to subscribers whose lines keep hitting the port-25 block",
		Long: `Reads the blocked port-25 attempts every router's edge run recorded (edge report --store),
names the subscriber who held each source (RADIUS accounting), and puts a notice into the
mailbox of the account linked to that subscriber (subscriber link): a first notice once the
attempts reach abuse.notice_threshold, then a reminder at most every abuse.notice_reminder_after
while attempts go on. Notices are queued and delivered by the running node (in a fleet, the
account's home node). Every notice is audited. Run it from cron; --dry-run only prints.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := context.Background()
			st, cfg, err := openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			p := abuse.NoticePolicy{
				Threshold: uint64(cfg.Abuse.NoticeThreshold), ReminderAfter: cfg.Abuse.NoticeReminderAfter,
				From: cfg.Abuse.NoticeFrom, Hostname: cfg.Hostname,
			}
			if threshold > 0 {
				p.Threshold = uint64(threshold)
			}
			if p.From == "" {
				p.From = "postmaster@" + cfg.Hostname
			}
			if f := cfg.Abuse.NoticeTextFile; f != "" {
				if p.Text, err = template.New(filepath.Base(f)).Funcs(abuse.TextFuncs).ParseFiles(f); err != nil {
					return fmt.Errorf("abuse.notice_text_file: %w", err)
				}
			}
			now := time.Now()
			cases, err := abuse.PlanNotices(ctx, st, p, now)
			if err != nil {
				return err
			}
			if !dryRun {
				// Queued like any local mail: the running node (in a
				// fleet, the account's home node) delivers it.
				sp, err := openSpool()
				if err != nil {
					return err
				}
				defer sp.Close()
				if err := abuse.SendNotices(ctx, st, p, sp, actor(), cases, now, false); err != nil {
					return err
				}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SUBSCRIBER\tACCOUNT\tATTEMPTS\tSOURCES\tLAST SEEN\tNOTICE")
			for _, c := range cases {
				action := fmt.Sprintf("grade %d sent", c.Grade)
				switch {
				case c.Skip != "":
					action = "none: " + c.Skip
				case dryRun:
					action = fmt.Sprintf("grade %d due (dry run)", c.Grade)
				}
				var srcs []string
				for _, s := range c.Sources {
					srcs = append(srcs, s.String())
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", c.Subscriber, orDash(c.Account), c.Attempts, strings.Join(srcs, " "), fmtTime(c.LastSeen), action)
			}
			return tw.Flush()
		},
	}
	notices.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be sent, send nothing")
	notices.Flags().IntVar(&threshold, "threshold", 0, "blocked attempts that earn a notice (default: abuse.notice_threshold)")
	cmd.AddCommand(notices, newAbuseBlocksCmd())
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
