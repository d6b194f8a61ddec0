package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"mailgate/internal/delivery"
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
	cmd := &cobra.Command{Use: "queue", Short: "inspect and manage the spool (list, show, retry, hold, release, remove, bounce)"}
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
				fmt.Fprintln(tw, "ID\tSIZE\tARRIVED\tFROM\tPENDING\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR")
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
					fmt.Fprintf(tw, "%s\t%d\t%s\t<%s>\t%s\t%d\t%s\t%s\n", id, e.Size, e.Received.UTC().Format(time.DateTime),
						e.From, strings.Join(st.Pending(), ","), st.Attempts, next, st.LastError)
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
				fmt.Fprintf(out, "id: %s\norigin: %s\nclient: %s\nauth: %s\narrived: %s\nfrom: <%s>\nattempts: %d\nnext attempt: %s\nheld: %v\nlast error: %s\n",
					e.ID, e.Origin, e.Client, e.Auth, e.Received.UTC().Format(time.RFC3339), e.From, st.Attempts,
					st.NextAttempt.UTC().Format(time.RFC3339), st.Held, st.LastError)
				for _, r := range st.Rcpts {
					fmt.Fprintf(out, "rcpt: <%s> %s %s %s\n", r.Addr, r.Status, r.Remote, r.Error)
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
					if err := sp.Remove(id); errors.Is(err, spool.ErrNotFound) {
						return fmt.Errorf("%s: %w (see `mailgate queue list`)", id, err)
					} else if err != nil {
						return fmt.Errorf("%s: %w", id, err)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s removed\n", id)
				}
				return nil
			},
		},
		queueStateCmd("retry", "make messages due: tried at the next queue scan unless held (ID... or --all)", "will be retried within delivery.scan_interval",
			spool.Actions["retry"]),
		queueStateCmd("hold", "keep messages queued without delivery attempts (ID... or --all)", "held",
			spool.Actions["hold"]),
		queueStateCmd("release", "release held messages: tried at the next queue scan (ID... or --all)", "released",
			spool.Actions["release"]),
		newQueueBounceCmd(),
	)
	return cmd
}

// queueStateCmd changes the delivery state of the named (or all) messages.
// A running node reads state afresh before each attempt, so the change
// takes effect at the next queue scan.
func queueStateCmd(use, short, done string, change func(*spool.State)) *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use: use + " ID...|--all", Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return fmt.Errorf("%s: give message IDs or --all (see `mailgate queue list`)", use)
			}
			sp, err := openSpool()
			if err != nil {
				return err
			}
			defer sp.Close()
			if all {
				if args, err = sp.IDs(); err != nil {
					return err
				}
				if len(args) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "the queue is empty: nothing to %s\n", use)
					return nil
				}
			}
			// Several at a time: each save is durable (file and
			// directory fsync), and the file system can commit
			// concurrent fsyncs together.
			errs := make([]error, len(args))
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for i, id := range args {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					errs[i] = sp.Change(id, change)
				}()
			}
			wg.Wait()
			for i, id := range args {
				if all && errors.Is(errs[i], spool.ErrNotFound) {
					continue // delivered while we went through the queue
				}
				if errs[i] != nil {
					return errs[i]
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", id, done)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&all, "all", false, "every queued message")
	return c
}

// newQueueBounceCmd fails every pending recipient of the named messages:
// the sender gets a DSN (RFC 3464) and the message leaves the queue.
func newQueueBounceCmd() *cobra.Command {
	return &cobra.Command{
		Use: "bounce ID...", Short: "return messages to their sender with a DSN and remove them", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			sp, err := openSpool()
			if err != nil {
				return err
			}
			defer sp.Close()
			for _, id := range args {
				if err := delivery.ReturnToSender(sp, cfg.Hostname, id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s bounced\n", id)
			}
			return nil
		},
	}
}
