package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"mailgate/internal/address"
	"mailgate/internal/config"
	"mailgate/internal/fleet"
	"mailgate/internal/store"
)

func newNodeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "the nodes of a fleet sharing one PostgreSQL (list, drain)"}
	cmd.AddCommand(newNodeDrainCmd(), &cobra.Command{
		Use: "list", Short: "list registered nodes with their internal address, last heartbeat and mailbox count", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := context.Background()
			st, cfg, err := openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			nodes, err := st.Nodes(ctx)
			if err != nil {
				return err
			}
			if len(nodes) == 0 {
				// On SQLite or without [fleet] (the zero config) this
				// is the normal answer: say why rather than print a
				// bare header.
				fmt.Fprintln(cmd.OutOrStdout(), "no nodes registered: a node registers when `mailgate serve` starts with [fleet] set and database a postgres:// URL (see \"A fleet\" in the README)")
				return nil
			}
			now := time.Now()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE\tADDRESS\tSTATE\tLAST HEARTBEAT\tMAILBOXES\tSTARTED")
			for _, n := range nodes {
				state := "up"
				if now.Sub(n.Heartbeat) > liveWindow(cfg) {
					state = "silent"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s (%s ago)\t%d\t%s\n", n.Name, n.Address, state,
					n.Heartbeat.UTC().Format(time.RFC3339), now.Sub(n.Heartbeat).Truncate(time.Second), n.Mailboxes, n.Started.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		},
	})
	return cmd
}

// liveWindow is how long a node may be silent and still count as up: three
// heartbeats, plus the store's one-second resolution.
func liveWindow(cfg *config.Config) time.Duration { return 3*cfg.Fleet.Heartbeat + time.Second }

// pickHome resolves the home a new account will get, before the account
// is added, so an impossible home (no live node, an unknown name) changes
// nothing. "" when this config has no fleet.
func pickHome(ctx context.Context, st *store.Store, cfg *config.Config, home string) (string, error) {
	if !cfg.Fleet.Enabled() {
		if home != "" {
			return "", fmt.Errorf("--home needs a fleet ([fleet] listen in the config)")
		}
		return "", nil
	}
	if home == "" {
		home = cfg.Fleet.Home
	}
	node, err := st.PickHome(ctx, home, liveWindow(cfg), "")
	if err != nil {
		return "", fmt.Errorf("%w; nothing added", err)
	}
	return node, nil
}

// assignHome records the home picked for a new account.
func assignHome(ctx context.Context, w io.Writer, st *store.Store, cfg *config.Config, addr, node string) error {
	if node == "" {
		return nil
	}
	if _, err := st.AssignHome(ctx, actor(), addr, node, liveWindow(cfg)); err != nil {
		return fmt.Errorf("account added, but no home assigned: %w (the first node delivering to it will claim it, or set it with `mailgate user home`)", err)
	}
	fmt.Fprintf(w, "home node of %s: %s\n", addr, node)
	return nil
}

func newUserHomeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "home ADDRESS NODE",
		Short: "record NODE as the home of an account whose mailbox is already there (moves no mail)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				if err := st.SetHome(ctx, actor(), args[0], args[1]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "home node of %s: %s\n", args[0], args[1])
				return nil
			})
		},
	}
}

// homeColumn is the HOME column of `user list`, shown only in a fleet
// (some account has a home): account "" gives the header.
func homeColumn(homes map[string]string, account string) string {
	if len(homes) == 0 {
		return ""
	}
	if account == "" {
		return "\tHOME"
	}
	if h := homes[account]; h != "" {
		return "\t" + h
	}
	return "\t-"
}

func newUserMoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "move ADDRESS NODE",
		Short: "move an account's mailbox to another fleet node: UIDs, UIDVALIDITY and folders kept; mail arriving meanwhile follows",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := context.Background()
			st, _, certs, err := openFleet(ctx, "user move")
			if err != nil {
				return err
			}
			defer st.Close()
			acct, err := address.Normalize(args[0])
			if err != nil {
				return err
			}
			res, err := fleet.RequestMove(ctx, st, certs, actor(), acct, args[1])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), res)
			return nil
		},
	}
}

func newNodeDrainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "drain NODE",
		Short: "move every mailbox homed on NODE to the least-loaded other live nodes (user move for each)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := context.Background()
			st, cfg, certs, err := openFleet(ctx, "node drain")
			if err != nil {
				return err
			}
			defer st.Close()
			return fleet.Drain(ctx, st, certs, actor(), args[0], liveWindow(cfg), func(res string) {
				fmt.Fprintln(cmd.OutOrStdout(), res)
			})
		},
	}
}

// openFleet opens the store with a node's fleet certificates, for the
// commands that talk to other nodes (what names the command for the error).
func openFleet(ctx context.Context, what string) (*store.Store, *config.Config, *fleet.Certs, error) {
	st, cfg, err := openStore(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if !cfg.Fleet.Enabled() {
		st.Close()
		return nil, nil, nil, fmt.Errorf("%s needs a fleet: run it with a node's config ([fleet] with its certificates)", what)
	}
	certs, err := fleet.LoadCerts(cfg.Fleet.CAFile, cfg.Fleet.CertFile, cfg.Fleet.KeyFile)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return st, cfg, certs, nil
}
