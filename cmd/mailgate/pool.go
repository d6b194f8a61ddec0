package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailgate/internal/edge"
	"mailgate/internal/store"
)

func newPoolCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "pool", Short: "manage subscriber address pools (dynamic: port 25 filtered; static: not)"}
	var kind string
	add := &cobra.Command{
		Use: "add NAME --kind dynamic|static PREFIX...", Short: "add prefixes (or addresses) to a pool, creating it", Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind == "" {
				return fmt.Errorf("give --kind dynamic or --kind static")
			}
			return withStore(func(ctx context.Context, st *store.Store) error {
				n, err := st.AddPoolPrefixes(ctx, actor(), args[0], kind, args[1:])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "pool %s (%s): %d prefixes added\n", args[0], kind, n)
				return nil
			})
		},
	}
	add.Flags().StringVar(&kind, "kind", "", "dynamic or static")
	var replace bool
	var importFormat string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "import prefixes from CSV (pool,kind,prefix; header optional) or TOML ([[pool]] name, kind, prefixes); - reads stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			var err error
			if args[0] == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(args[0])
			}
			if err != nil {
				return err
			}
			isTOML := edge.IsTOMLPoolFile(args[0])
			switch importFormat {
			case "csv":
				isTOML = false
			case "toml":
				isTOML = true
			case "":
			default:
				return fmt.Errorf("--format %q: want csv or toml", importFormat)
			}
			rows, err := edge.ParsePoolFile(data, isTOML)
			if err != nil {
				return err
			}
			return withStore(func(ctx context.Context, st *store.Store) error {
				n, err := st.ImportPools(ctx, actor(), rows, replace)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d rows read, %d prefixes added\n", len(rows), n)
				return nil
			})
		},
	}
	imp.Flags().BoolVar(&replace, "replace", false, "make each pool named in the file hold exactly the file's prefixes")
	imp.Flags().StringVar(&importFormat, "format", "", "csv or toml (default: toml for *.toml, else csv)")
	list := &cobra.Command{
		Use: "list [NAME]", Short: "list pools, or the prefixes of one pool", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				if len(args) == 1 {
					ps, err := st.PoolPrefixes(ctx, args[0])
					if err != nil {
						return err
					}
					fmt.Fprintln(tw, "PREFIX\tKIND\tADDED")
					for _, p := range ps {
						fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Prefix, p.Kind, p.Added.UTC().Format("2006-01-02 15:04"))
					}
					return tw.Flush()
				}
				pools, err := st.Pools(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintln(tw, "POOL\tKIND\tPREFIXES\tUPDATED")
				for _, p := range pools {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p.Name, p.Kind, p.Prefixes, p.Updated.UTC().Format("2006-01-02 15:04"))
				}
				return tw.Flush()
			})
		},
	}
	remove := &cobra.Command{
		Use: "remove NAME [PREFIX...]", Short: "remove a pool, or only some of its prefixes", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				if err := st.RemovePool(ctx, actor(), args[0], args[1:]); err != nil {
					return err
				}
				if len(args) == 1 {
					fmt.Fprintf(cmd.OutOrStdout(), "pool %s removed\n", args[0])
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%d prefixes removed from pool %s\n", len(args)-1, args[0])
				}
				return nil
			})
		},
	}
	var format string
	export := &cobra.Command{
		Use: "export [NAME]", Short: "print pools in the import format (--format csv|toml)", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return withStore(func(ctx context.Context, st *store.Store) error {
				ps, err := st.PoolPrefixes(ctx, name)
				if err != nil {
					return err
				}
				switch format {
				case "csv":
					return edge.WritePoolCSV(cmd.OutOrStdout(), ps)
				case "toml":
					return edge.WritePoolTOML(cmd.OutOrStdout(), ps)
				}
				return fmt.Errorf("--format %q: want csv or toml", format)
			})
		},
	}
	export.Flags().StringVar(&format, "format", "csv", "csv or toml")
	check := &cobra.Command{
		Use: "check", Short: "report overlapping prefixes (how longest-prefix match resolves them) and exemptions outside dynamic pools", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				ps, err := st.PoolPrefixes(ctx, "")
				if err != nil {
					return err
				}
				es, err := st.Exemptions(ctx)
				if err != nil {
					return err
				}
				c := edge.CheckPools(ps, es)
				out := cmd.OutOrStdout()
				for _, o := range c.Overlaps {
					fmt.Fprintf(out, "overlap: %s (pool %s, %s) inside %s (pool %s, %s): %s\n",
						o.Inner.Prefix, o.Inner.Pool, o.Inner.Kind, o.Outer.Prefix, o.Outer.Pool, o.Outer.Kind, o.Effect)
				}
				for _, e := range c.Idle {
					fmt.Fprintf(out, "exemption %s has no effect: its address is in no dynamic pool\n", e.Prefix)
				}
				fmt.Fprintf(out, "%d prefixes checked, %d overlaps, %d idle exemptions\n", c.Prefixes, len(c.Overlaps), len(c.Idle))
				return nil
			})
		},
	}
	cmd.AddCommand(add, imp, list, remove, export, check)
	return cmd
}
