package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"mailgate/internal/store"
)

func newAPICmd() *cobra.Command {
	cmd := &cobra.Command{Use: "api", Short: "the admin API (/api/v1/ on the https listener): tokens"}
	tok := &cobra.Command{Use: "token", Short: "API tokens (stored hashed, audited)"}
	var scopes []string
	add := &cobra.Command{
		Use: "add NAME --scope read,directory,queue,edge,dkim", Short: "create a token (printed once)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				t, err := st.AddAPIToken(ctx, actor(), args[0], scopes)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), t)
				return nil
			})
		},
	}
	add.Flags().StringSliceVar(&scopes, "scope", nil, "what the token may do: "+strings.Join(store.APIScopes, ", ")+" (repeat or comma-separate)")
	tok.AddCommand(add,
		&cobra.Command{
			Use: "list", Short: "list tokens", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					ts, err := st.APITokens(ctx)
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tSCOPES\tBY\tCREATED")
					for _, t := range ts {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, strings.Join(t.Scopes, ","), t.Actor, t.Created.UTC().Format(time.RFC3339))
					}
					return tw.Flush()
				})
			},
		},
		&cobra.Command{
			Use: "remove NAME", Short: "revoke a token", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					if err := st.RemoveAPIToken(ctx, actor(), args[0]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "api token %s removed\n", args[0])
					return nil
				})
			},
		},
	)
	cmd.AddCommand(tok)
	return cmd
}
