package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"mailgate/internal/dns"
	"mailgate/internal/dnsrecords"
)

func newDNSCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dns", Short: "the DNS records our domains publish: print them, check them live"}
	expected := func(domain string) (*dnsrecords.Zone, *dns.Client, error) {
		keys, cfg, done, err := dkimKeys()
		if err != nil {
			return nil, nil, err
		}
		defer done()
		z, err := dnsrecords.Expected(cfg, keys, domain)
		return z, dns.New(cfg.DNS.Servers, cfg.DNS.Timeout), err
	}
	records := &cobra.Command{
		Use:   "records DOMAIN",
		Short: "print every record DOMAIN must publish, ready to paste into its zone",
		Long: `Prints MX, SPF ([publish] outbound_ips, ending in -all), the active DKIM
key, DMARC, MTA-STS (with the policy text to serve over HTTPS), TLS-RPT and
the RFC 6186 / RFC 8314 SRV records for mail clients, as zone file lines.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			z, _, err := expected(args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), z.Text())
			return err
		},
	}
	check := &cobra.Command{
		Use:   "check DOMAIN",
		Short: "look DOMAIN's records up live: ok, missing or different; exit status 1 if any is not ok",
		Long: `Looks up every record "dns records" prints, through the configured
resolver ([dns] servers, or the system's), and reports each as ok, missing,
different (with what was found) or error (the lookup failed). The exit
status is 1 when anything is not ok, so it can run from cron.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			z, r, err := expected(args[0])
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			report, good := dnsrecords.Report(dnsrecords.Check(ctx, r, z))
			fmt.Fprint(cmd.OutOrStdout(), report)
			if !good {
				return fmt.Errorf("%s: some records are missing or different: publish what `mailgate dns records %s` prints", z.Domain, z.Domain)
			}
			return nil
		},
	}
	cmd.AddCommand(records, check)
	return cmd
}
