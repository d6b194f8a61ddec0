package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailgate/internal/sieve"
	"mailgate/internal/store"
)

func newSieveCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sieve", Short: "manage accounts' Sieve filter scripts (RFC 5228), run at local delivery"}
	var name string
	var activate, none bool
	put := &cobra.Command{
		Use: "put ADDRESS FILE", Short: "store a script (FILE - reads stdin); it must compile", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			content, err := readScript(args[1])
			if err != nil {
				return err
			}
			n := name
			if n == "" {
				if args[1] == "-" {
					return fmt.Errorf("give the script a --name when it comes from stdin")
				}
				n = strings.TrimSuffix(filepath.Base(args[1]), ".sieve")
			}
			return withStore(func(ctx context.Context, st *store.Store) error {
				if err := st.PutSieveScript(ctx, actor(), args[0], n, content); err != nil {
					return err
				}
				if activate {
					if err := st.ActivateSieveScript(ctx, actor(), args[0], n); err != nil {
						return err
					}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "script %q of %s stored%s\n", n, args[0], map[bool]string{true: " and active"}[activate])
				return nil
			})
		},
	}
	put.Flags().StringVar(&name, "name", "", "script name (default: the file name without .sieve)")
	put.Flags().BoolVar(&activate, "activate", false, "make it the active script")
	activateCmd := &cobra.Command{
		Use: "activate ADDRESS [NAME]", Short: "make NAME the one active script (--none: no filtering)", Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := ""
			if len(args) == 2 {
				n = args[1]
			} else if !none {
				return fmt.Errorf("name the script to activate, or give --none to turn filtering off")
			}
			return withStore(func(ctx context.Context, st *store.Store) error {
				if err := st.ActivateSieveScript(ctx, actor(), args[0], n); err != nil {
					return err
				}
				if n == "" {
					fmt.Fprintf(cmd.OutOrStdout(), "%s has no active script\n", args[0])
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "script %q of %s is active\n", n, args[0])
				}
				return nil
			})
		},
	}
	activateCmd.Flags().BoolVar(&none, "none", false, "deactivate the active script")
	var from, to string
	run := &cobra.Command{
		Use: "run FILE MESSAGE", Short: "run a script on a message file and print the actions, storing nothing", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			content, err := readScript(args[0])
			if err != nil {
				return err
			}
			s, err := sieve.Compile(content)
			if err != nil {
				return fmt.Errorf("%s:%v", args[0], err)
			}
			raw, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			res, err := sieve.Run(cmd.Context(), s, sieve.ParseMessage(raw), sieve.Env{Envelope: sieve.Envelope{From: from, To: to}})
			if err != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "error: %v (the message is kept)\n", err)
			}
			for _, a := range res.Strings() {
				fmt.Fprintln(cmd.OutOrStdout(), a)
			}
			for _, n := range res.Notes {
				fmt.Fprintln(cmd.OutOrStdout(), "note: "+n)
			}
			return nil
		},
	}
	run.Flags().StringVar(&from, "from", "", "envelope sender")
	run.Flags().StringVar(&to, "to", "", "envelope recipient")
	cmd.AddCommand(
		put,
		&cobra.Command{
			Use: "get ADDRESS [NAME]", Short: "print a script (default: the active one)", Args: cobra.RangeArgs(1, 2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					var sc *store.SieveScript
					var err error
					if len(args) == 2 {
						sc, err = st.SieveScript(ctx, args[0], args[1])
					} else {
						sc, err = st.ActiveSieveScript(ctx, args[0])
					}
					if err != nil {
						return err
					}
					_, err = io.WriteString(cmd.OutOrStdout(), sc.Content)
					return err
				})
			},
		},
		&cobra.Command{
			Use: "list ADDRESS", Short: "list an account's scripts", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					list, err := st.SieveScripts(ctx, args[0])
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tACTIVE\tUPDATED")
					for _, s := range list {
						fmt.Fprintf(tw, "%s\t%v\t%s\n", s.Name, s.Active, s.Updated.UTC().Format("2006-01-02 15:04:05"))
					}
					return tw.Flush()
				})
			},
		},
		activateCmd,
		&cobra.Command{
			Use: "delete ADDRESS NAME", Short: "delete a script that is not active", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					if err := st.DeleteSieveScript(ctx, actor(), args[0], args[1]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "script %q of %s deleted\n", args[1], args[0])
					return nil
				})
			},
		},
		&cobra.Command{
			Use: "check FILE", Short: "check a script compiles, as put would (errors give line:column)", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				content, err := readScript(args[0])
				if err != nil {
					return err
				}
				if err := store.CheckSieveScript(content); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", args[0])
				return nil
			},
		},
		run,
	)
	return cmd
}

func readScript(path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, sieve.DefaultMaxScriptSize+1))
	} else {
		b, err = os.ReadFile(path)
	}
	return string(b), err
}
