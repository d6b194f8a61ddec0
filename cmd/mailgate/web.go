package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"mailgate/internal/store"
)

func newWebCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "web", Short: "the web server's credentials: carriers' feed tokens"}
	tok := &cobra.Command{Use: "feed-token", Short: "tokens carriers use to fetch /feed/dynamic.{txt,csv,json} over HTTPS (stored hashed, audited)"}
	tok.AddCommand(
		&cobra.Command{
			Use: "add CARRIER", Short: "issue a carrier's token (printed once)", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					t, err := st.AddFeedToken(ctx, actor(), args[0])
					if err != nil {
						return err
					}
					fmt.Fprintln(cmd.OutOrStdout(), t)
					return nil
				})
			},
		},
		&cobra.Command{
			Use: "list", Short: "list carriers holding a token", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					ts, err := st.FeedTokens(ctx)
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "CARRIER\tBY\tCREATED")
					for _, t := range ts {
						fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Carrier, t.Actor, t.Created.UTC().Format(time.RFC3339))
					}
					return tw.Flush()
				})
			},
		},
		&cobra.Command{
			Use: "remove CARRIER", Short: "revoke a carrier's token", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					if err := st.RemoveFeedToken(ctx, actor(), args[0]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "feed token of %s removed\n", args[0])
					return nil
				})
			},
		},
	)
	cmd.AddCommand(tok)
	return cmd
}
