package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailgate/internal/config"
	"mailgate/internal/dkim"
)

// dkimKeys returns the keys in the configured store (shared by every node
// of a fleet), and the store to close after. Keys made before they moved
// into the store, under <data_dir>/dkim, are copied in on first use.
func dkimKeys() (dkim.Keys, *config.Config, func(), error) {
	st, cfg, err := openStore(context.Background())
	if err != nil {
		return dkim.Keys{}, nil, nil, err
	}
	return dkim.Keys{Dir: filepath.Join(cfg.DataDir, "dkim"), Store: st, Actor: actor()}, cfg, func() { st.Close() }, nil
}

func newDKIMCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dkim", Short: "DKIM signing keys of our domains (keygen, show, activate, list, retire)"}
	var selector, algo string
	var activate bool
	keygen := &cobra.Command{
		Use:   "keygen DOMAIN",
		Short: "generate a signing key and print the DNS TXT record to publish",
		Long: `Generates a DKIM key for DOMAIN, stores it in the database (so every
node of a fleet signs with it) and prints the TXT record to publish. The first key of a domain becomes
active at once; for a rotation, generate under a new selector, publish the
record, then run "mailgate dkim activate DOMAIN SELECTOR" (or pass
--activate). A running node (every node of a fleet) picks up the active key with the
next message.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, _, done, err := dkimKeys()
			if err != nil {
				return err
			}
			defer done()
			rec, err := k.Generate(args[0], selector, algo, activate)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), rec)
			return nil
		},
	}
	keygen.Flags().StringVar(&selector, "selector", "mailgate", "selector (the s= tag; the record goes under SELECTOR._domainkey.DOMAIN)")
	keygen.Flags().StringVar(&algo, "algo", "rsa", "key algorithm: rsa (2048 bits, verifiable everywhere) or ed25519 (RFC 8463)")
	keygen.Flags().BoolVar(&activate, "activate", false, "sign with the new key at once even if the domain already has an active key")
	show := &cobra.Command{
		Use: "show DOMAIN [SELECTOR]", Short: "print the TXT record of a key (default: the active one)", Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, _, done, err := dkimKeys()
			if err != nil {
				return err
			}
			defer done()
			sel := ""
			if len(args) == 2 {
				sel = args[1]
			} else if sel, _, err = k.Active(args[0]); err != nil {
				return err
			}
			rec, err := k.Record(args[0], sel)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), rec)
			return nil
		},
	}
	activateCmd := &cobra.Command{
		Use: "activate DOMAIN SELECTOR", Short: "sign DOMAIN's mail with SELECTOR's key from now on", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, _, done, err := dkimKeys()
			if err != nil {
				return err
			}
			defer done()
			if err := k.Activate(args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s now signs with selector %s\n", canonicalDomain(args[0]), args[1])
			return nil
		},
	}
	list := &cobra.Command{
		Use: "list [DOMAIN]", Short: "list domains with keys and their active selector, or the keys of one domain", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, _, done, err := dkimKeys()
			if err != nil {
				return err
			}
			defer done()
			if len(args) == 1 {
				ks, err := k.KeysOf(args[0])
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SELECTOR\tALGORITHM\tACTIVE\tCREATED")
				for _, ki := range ks {
					active := "-"
					if ki.Active {
						active = "yes"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ki.Selector, ki.Algorithm, active, ki.Created.Format("2006-01-02 15:04"))
				}
				return tw.Flush()
			}
			m, err := k.List()
			if err != nil {
				return err
			}
			doms := make([]string, 0, len(m))
			for d := range m {
				doms = append(doms, d)
			}
			sort.Strings(doms)
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DOMAIN\tACTIVE SELECTOR")
			for _, d := range doms {
				fmt.Fprintf(tw, "%s\t%s\n", d, m[d])
			}
			return tw.Flush()
		},
	}
	retire := &cobra.Command{
		Use: "retire DOMAIN SELECTOR", Short: "delete a key that is no longer active (after a rotation, once its record is withdrawn)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, _, done, err := dkimKeys()
			if err != nil {
				return err
			}
			defer done()
			if err := k.Retire(args[0], args[1]); err != nil {
				return err
			}
			d := canonicalDomain(args[0])
			fmt.Fprintf(cmd.OutOrStdout(), "key %s of %s retired: withdraw its record %s._domainkey.%s\n", args[1], d, args[1], d)
			return nil
		},
	}
	cmd.AddCommand(keygen, show, activateCmd, list, retire)
	return cmd
}
