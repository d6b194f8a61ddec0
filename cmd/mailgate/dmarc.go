package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"mailgate/internal/node"
)

// newDMARCCmd is `dmarc`: DMARC aggregate reports ([dmarc_reports]).
func newDMARCCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dmarc", Short: "DMARC aggregate reports (RFC 7489 §7.2) to the domains that ask for them"}
	reportNow := &cobra.Command{
		Use:   "report-now",
		Short: "send the DMARC aggregate reports of every count in the database now, the current period included",
		Long: `Builds and queues the reports the node would send when the period ends, for every count
written so far (a running node writes its counts every dmarc_reports.flush_interval), then
removes those counts. The running node delivers the reports (remote delivery, retries, DKIM).
In a fleet, any node may run it: each count is reported once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := context.Background()
			st, cfg, err := openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			sp, err := openSpool()
			if err != nil {
				return err
			}
			defer sp.Close()
			job, err := node.DMARCReportJob(ctx, cfg, st, sp, nil)
			if err != nil {
				return err
			}
			res, err := job.Run(ctx, true)
			for _, s := range res.Skipped {
				fmt.Fprintln(cmd.OutOrStdout(), "skipped:", s)
			}
			for _, s := range res.Notes {
				fmt.Fprintln(cmd.OutOrStdout(), "note:", s)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d report(s) queued for %d domain(s)\n", res.Reports, len(res.Domains))
			if res.TooLarge > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%d short report(s) queued instead of reports over a destination's size limit\n", res.TooLarge)
			}
			return nil
		},
	}
	cmd.AddCommand(reportNow)
	return cmd
}
