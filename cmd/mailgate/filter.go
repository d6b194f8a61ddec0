package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailgate/internal/sieve"
	"mailgate/internal/store"
)

func newFilterCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "filter", Short: "simple filter rules (header matches a regular expression → folder), kept in the account's Sieve script"}
	var r sieve.Rule
	add := &cobra.Command{
		Use: "add ADDRESS --header FIELD --regex RE --folder NAME", Short: "add a rule: mail whose FIELD matches RE (case-insensitive) goes to folder NAME",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				if err := st.AddFilterRule(ctx, actor(), args[0], r); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "rule added for %s: %s matches %q -> %s\n", args[0], r.Header, r.Regex, r.Folder)
				return nil
			})
		},
	}
	add.Flags().StringVar(&r.Header, "header", "Subject", "header field to test")
	add.Flags().StringVar(&r.Regex, "regex", "", "regular expression (RE2 syntax, case-insensitive)")
	add.Flags().StringVar(&r.Folder, "folder", "", "folder to file matching mail into (created when missing)")
	add.MarkFlagRequired("regex")
	add.MarkFlagRequired("folder")
	cmd.AddCommand(
		add,
		&cobra.Command{
			Use: "list ADDRESS", Short: "list the rules, numbered", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					rules, err := st.FilterRules(ctx, args[0])
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "#\tHEADER\tREGEX\tFOLDER")
					for i, r := range rules {
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i+1, r.Header, r.Regex, r.Folder)
					}
					return tw.Flush()
				})
			},
		},
		&cobra.Command{
			Use: "remove ADDRESS N", Short: "remove rule N (as list numbers them)", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				n, err := strconv.Atoi(args[1])
				if err != nil {
					return fmt.Errorf("rule number %q: give the number filter list shows", args[1])
				}
				return withStore(func(ctx context.Context, st *store.Store) error {
					if err := st.RemoveFilterRule(ctx, actor(), args[0], n); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "rule %d of %s removed\n", n, args[0])
					return nil
				})
			},
		},
	)
	return cmd
}
