package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"mailgate/internal/edge"
)

func newEdgeImpactCmd() *cobra.Command {
	var at, scope, poolFile, nfdumpTZ string
	var exempt, unexempt []string
	var top int
	var asJSON, resolve bool
	cmd := &cobra.Command{
		Use:   "impact FILE|- [--at DATETIME] [--scope all|carriers] [--pools FILE] [--exempt PREFIX] [--unexempt PREFIX]",
		Short: "replay flow records (nfdump CSV or `src dst [port]` lines) against the policy: what would be blocked, now and after a change",
		Long: `Replays flow records against the OP25B policy and reports what it
would block: flows read, TCP/25 flows, blocked flows, distinct blocked
sources and destinations, and the top blocked sources with their pool,
the subscriber who held the address (RADIUS accounting) and the reason
chain of one of their flows (as edge check prints it).

With a what-if — --at (the policy as the scope schedule and exemption
expiries make it then), --scope (the scope replaced, from --at or now),
--pools (prefixes added or moved, a pool import file), --exempt and
--unexempt (exemptions added or dropped), in any combination — that
policy is replayed too and the flows and sources that change from
allowed to blocked, and back, are listed. Nothing is changed in the store.

Input, detected from its first line:
  nfdump CSV    nfdump -r FILE -o csv (header ts,te,td,sa,da,sp,dp,pr,...;
                the summary nfdump prints at the end is skipped). nfdump
                prints ts in its own local time without naming the zone:
                --nfdump-tz says which (UTC unless told; run nfdump with
                TZ=UTC to match). The subscriber of a source is looked up
                at its flows' ts.
  plain         SRC DST [PORT] a line, spaces, tabs or commas, # comments,
                PORT 25 when left out
Malformed lines are counted and the first few named; they stop nothing.`,
		Example: `  nfdump -R /var/cache/nfdump/2026/12/01 -o csv 'proto tcp and dst port 25' > day.csv
  mailgate edge impact day.csv --scope all --top 10
  mailgate edge impact day.csv --at 2027-04-01 --json
  mailgate edge impact day.csv --pools new-pools.csv --unexempt 10.10.7.7/32
  printf '10.10.0.5 203.0.113.9\n10.10.0.6 198.51.100.1 587\n' | mailgate edge impact -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := edge.ImpactWhatIf{Scope: scope, Exempt: exempt, Unexempt: unexempt, PoolsName: poolFile}
			if poolFile != "" {
				var err error
				if w.Pools, err = os.ReadFile(poolFile); err != nil {
					return fmt.Errorf("--pools: %w", err)
				}
			}
			in, err := openFlows(cmd, args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			ctx := context.Background()
			st, cfg, err := openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			q := edge.ImpactQuery{At: at, WhatIf: w, Top: top, NfdumpTZ: nfdumpTZ}
			q.Resolver = carrierResolver(cfg, resolve)
			im, err := edge.ImpactFromStore(ctx, st, in, q)
			var qe *edge.QueryError
			switch {
			case errors.As(err, &qe) && qe.Param == "flows":
				return fmt.Errorf("%s: %w", args[0], qe.Err)
			case errors.As(err, &qe) && qe.Param == "pools":
				return fmt.Errorf("--pools %s: %w", poolFile, qe.Err)
			case err != nil:
				return flagError(err)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), im) // warnings included
			}
			for _, w := range im.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			return printImpact(cmd.OutOrStdout(), im)
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "also replay the policy as it will be then: 2006-01-02, 2006-01-02 15:04 (local time) or RFC 3339")
	cmd.Flags().StringVar(&scope, "scope", "", "also replay with the scope replaced: all (phase 2) or carriers (phase 1)")
	cmd.Flags().StringVar(&poolFile, "pools", "", "also replay with these pool prefixes added (or moved): a file as pool import reads it (CSV pool,kind,prefix or TOML)")
	cmd.Flags().StringArrayVar(&exempt, "exempt", nil, "also replay with this prefix exempted (repeatable)")
	cmd.Flags().StringArrayVar(&unexempt, "unexempt", nil, "also replay without this exemption (repeatable; as edge exempt list shows it)")
	cmd.Flags().StringVar(&nfdumpTZ, "nfdump-tz", "UTC", "the zone nfdump printed its ts column in (its machine's, or its TZ's): UTC, an offset as +09:00, or a name as Asia/Tokyo")
	cmd.Flags().IntVar(&top, "top", 20, "list at most this many sources per table")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	cmd.Flags().BoolVar(&resolve, "resolve", true, "resolve carrier domains' MX hosts (with the [dns] servers)")
	return cmd
}

// flagError names a bad what-if value by its flag (--at: ...).
func flagError(err error) error {
	var qe *edge.QueryError
	if errors.As(err, &qe) {
		return fmt.Errorf("--%s: %w", qe.Param, qe.Err)
	}
	return err
}

// openFlows opens the flow file, or stdin for "-".
func openFlows(cmd *cobra.Command, name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(cmd.InOrStdin()), nil
	}
	return os.Open(name)
}

// printImpact is the table form of edge impact.
func printImpact(out io.Writer, im *edge.Impact) error {
	fmt.Fprintf(out, "flows read:   %d (%s)\n", im.Flows, orDash(string(im.Format)))
	fmt.Fprintf(out, "TCP/25 flows: %d\n", im.TCP25)
	if im.Malformed > 0 {
		fmt.Fprintf(out, "malformed:    %d lines skipped\n", im.Malformed)
		for _, e := range im.Errors {
			fmt.Fprintf(out, "  %s\n", e)
		}
	}
	printSide(out, "now", im.Now)
	last := im.Now
	if im.Then != nil {
		printSide(out, "then", *im.Then)
		last = *im.Then
	}
	fmt.Fprintf(out, "\ntop blocked sources (%s):\n", sideName(im.Then != nil))
	if err := printSources(out, last.Top); err != nil {
		return err
	}
	if im.Then == nil {
		return nil
	}
	for _, c := range []struct {
		name string
		ch   *edge.VerdictChange
	}{{"allowed now, blocked then", im.ToBlocked}, {"blocked now, allowed then", im.ToAllowed}} {
		fmt.Fprintf(out, "\n%s: %d flows from %d sources\n", c.name, c.ch.Flows, c.ch.Sources)
		if err := printSources(out, c.ch.Top); err != nil {
			return err
		}
	}
	return nil
}

func sideName(then bool) string {
	if then {
		return "then"
	}
	return "now"
}

func printSide(out io.Writer, name string, s edge.ImpactSide) {
	fmt.Fprintf(out, "%-5s %s  scope %s (%s): %d flows blocked, %d sources, %d destinations\n",
		name+":", s.At.Local().Format(time.RFC3339), s.Scope, s.Phase, s.Blocked, s.Sources, s.Destinations)
}

// printSources prints a top list, then each source's reason chain on one
// line (the first line, "port 25: OP25B applies", is the same for all).
func printSources(out io.Writer, rows []edge.SourceRow) error {
	if len(rows) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tFLOWS\tDESTINATIONS\tPOOL\tSUBSCRIBER")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", r.Source, r.Flows, r.Destinations, r.Pool, r.Subscriber)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		reasons := r.Reasons
		if len(reasons) > 1 {
			reasons = reasons[1:]
		}
		fmt.Fprintf(out, "  %s -> %s: %s\n", r.Source, r.Example, strings.Join(reasons, "; "))
	}
	return nil
}
