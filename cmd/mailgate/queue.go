package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"mailgate/internal/spool"
)

func openSpool() (*spool.Spool, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	return spool.Open(filepath.Join(cfg.DataDir, "spool"))
}

func newQueueCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "queue", Short: "inspect and manage the spool (list, show, remove)"}
	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "list queued messages with pending recipients, next attempt and last error", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				sp, err := openSpool()
				if err != nil {
					return err
				}
				defer sp.Close()
				ids, err := sp.IDs()
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSIZE\tARRIVED\tFROM\tPENDING\tNEXT ATTEMPT\tLAST ERROR")
				for _, id := range ids {
					m, err := sp.Open(id)
					if err != nil {
						continue
					}
					st, err := sp.State(&m.Envelope)
					m.Close()
					if err != nil {
						fmt.Fprintf(tw, "%s\t\t\t\t\t\t%v\n", id, err)
						continue
					}
					e := m.Envelope
					next := st.NextAttempt.UTC().Format(time.DateTime)
					if st.Held {
						next = "held"
					}
					fmt.Fprintf(tw, "%s\t%d\t%s\t<%s>\t%s\t%s\t%s\n", id, e.Size, e.Received.UTC().Format(time.DateTime),
						e.From, strings.Join(st.Pending(), ","), next, st.LastError)
				}
				tw.Flush()
				fmt.Fprintf(cmd.OutOrStdout(), "%d message(s) queued\n", len(ids))
				return nil
			},
		},
		&cobra.Command{
			Use: "show ID", Short: "print a queued message's envelope, delivery state and content", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				sp, err := openSpool()
				if err != nil {
					return err
				}
				defer sp.Close()
				m, err := sp.Open(args[0])
				if err != nil {
					return fmt.Errorf("%s: %w (see `mailgate queue list`)", args[0], err)
				}
				defer m.Close()
				st, err := sp.State(&m.Envelope)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				e := m.Envelope
				fmt.Fprintf(out, "id: %s\norigin: %s\nclient: %s\nauth: %s\narrived: %s\nfrom: <%s>\nattempts: %d\nlast error: %s\n",
					e.ID, e.Origin, e.Client, e.Auth, e.Received.UTC().Format(time.RFC3339), e.From, st.Attempts, st.LastError)
				for _, r := range st.Rcpts {
					fmt.Fprintf(out, "rcpt: <%s> %s %s\n", r.Addr, r.Status, r.Error)
				}
				fmt.Fprintln(out)
				_, err = io.Copy(out, m.Body())
				return err
			},
		},
		&cobra.Command{
			Use: "remove ID...", Short: "delete queued messages without delivering them", Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				sp, err := openSpool()
				if err != nil {
					return err
				}
				defer sp.Close()
				for _, id := range args {
					if err := sp.Remove(id); err != nil {
						return fmt.Errorf("%s: %w", id, err)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s removed\n", id)
				}
				return nil
			},
		},
	)
	return cmd
}
