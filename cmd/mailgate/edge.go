package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"mailgate/internal/config"
	mgdns "mailgate/internal/dns"
	"mailgate/internal/edge"
	"mailgate/internal/store"
)

func newEdgeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "edge",
		Short: "OP25B edge: port-25 policy for dynamic pools, programmed into the router's nftables",
		Long: `The edge role blocks TCP port 25 from dynamic subscriber pools except
towards our relays (587 and 465 are never filtered: RFC 5068 §3.2,
RFC 8314). Policy lives in the store (pools, exemptions, relays, carrier
sets, scope schedule, action); apply/run program table inet op25b.`,
	}
	cmd.AddCommand(newEdgeRelayCmd(), newEdgeExemptCmd(), newEdgeCarrierCmd(), newEdgeScopeCmd(), newEdgeActionCmd(),
		newEdgePlanCmd(), newEdgeCheckCmd(), newEdgeRenderCmd(), newEdgeApplyCmd(), newEdgeRunCmd(), newEdgeReportCmd(),
		newEdgeFeedCmd(), newEdgeDNSBLCmd(), newEdgeImpactCmd())
	return cmd
}

// loadPolicy compiles the policy in force now; r, when not nil, looks up
// carrier domains' MX hosts (carrierResolver).
func loadPolicy(ctx context.Context, st *store.Store, r edge.Resolver) (*edge.Policy, error) {
	p, _, err := edge.Load(ctx, st, r, nil, time.Now(), newLogger("warn"))
	return p, err
}

// carrierResolver is what every edge command resolves carrier domains'
// MX hosts with: the node's [dns] servers (none: /etc/resolv.conf's),
// as edge run, edge impact and the web API do; nil when resolve is off.
func carrierResolver(cfg *config.Config, resolve bool) edge.Resolver {
	if !resolve {
		return nil
	}
	return mgdns.Carriers(cfg.DNS.Servers, cfg.DNS.Timeout)
}

func newEdgeRelayCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "relay", Short: "our MX/MSA hosts: port 25 to them is always allowed"}
	cmd.AddCommand(
		&cobra.Command{
			Use: "add ADDR|PREFIX...", Short: "add relays", Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					if err := st.AddRelays(ctx, actor(), args); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%d relays added\n", len(args))
					return nil
				})
			},
		},
		&cobra.Command{
			Use: "list", Short: "list relays", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					rs, err := st.Relays(ctx)
					if err != nil {
						return err
					}
					fmt.Fprintln(cmd.OutOrStdout(), "PREFIX")
					for _, r := range rs {
						fmt.Fprintln(cmd.OutOrStdout(), r.Prefix)
					}
					return nil
				})
			},
		},
		&cobra.Command{
			Use: "remove ADDR|PREFIX...", Short: "remove relays", Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					for _, a := range args {
						if err := st.RemoveRelay(ctx, actor(), a); err != nil {
							return err
						}
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%d relays removed\n", len(args))
					return nil
				})
			},
		},
	)
	return cmd
}

func newEdgeExemptCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "exempt", Short: "exempt addresses or prefixes of dynamic pools (audited, optional expiry)"}
	var reason, until string
	var force bool
	add := &cobra.Command{
		Use: "add PREFIX --reason TEXT [--until DATE] [--force]", Short: "exempt an address or prefix", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := edge.ParseOptionalWhen(until, time.Local)
			if err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			ctx := context.Background()
			st, cfg, err := openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.AddExemption(ctx, actor(), args[0], reason, u, edge.ExemptLimit(cfg.Edge, force)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exemption %s added\n", args[0])
			return nil
		},
	}
	add.Flags().StringVar(&reason, "reason", "", "why (recorded in the audit log); required")
	add.Flags().StringVar(&until, "until", "", "expiry: 2006-01-02, 2006-01-02 15:04 (local time) or RFC 3339")
	add.Flags().BoolVar(&force, "force", false, "take a prefix wider than [edge] max_exempt_prefix_v4/v6")
	list := &cobra.Command{
		Use: "list", Short: "list exemptions", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				es, err := st.Exemptions(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PREFIX\tUNTIL\tBY\tADDED\tREASON")
				for _, e := range es {
					u := "-"
					if !e.Until.IsZero() {
						u = e.Until.UTC().Format(time.RFC3339)
						if !e.Until.After(time.Now()) {
							u += " (expired)"
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Prefix, u, e.Actor, e.Created.UTC().Format("2006-01-02"), e.Reason)
				}
				return tw.Flush()
			})
		},
	}
	remove := &cobra.Command{
		Use: "remove PREFIX", Short: "remove an exemption", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				if err := st.RemoveExemption(ctx, actor(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "exemption %s removed\n", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(add, list, remove)
	return cmd
}

func newEdgeCarrierCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "carrier", Short: "carrier sets for phase 1: prefixes and/or mail domains (their MX hosts are resolved)"}
	var resolve bool
	list := &cobra.Command{
		Use: "list", Short: "list carrier sets (--resolve shows the MX addresses)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStoreConfig(func(ctx context.Context, st *store.Store, cfg *config.Config) error {
				cs, err := st.Carriers(ctx)
				if err != nil {
					return err
				}
				var mx map[string][]edge.MXHost
				if resolve {
					var errs []error
					mx, errs = edge.ResolveCarriers(ctx, carrierResolver(cfg, true), cs, nil)
					for _, e := range errs {
						fmt.Fprintln(cmd.ErrOrStderr(), "warning:", e)
					}
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CARRIER\tKIND\tENTRY")
				for _, c := range cs {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Kind, c.Entry)
					for _, h := range mx[c.Entry] {
						for _, a := range h.Addrs {
							fmt.Fprintf(tw, "\t\t  MX %s %s\n", h.Host, a)
						}
					}
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().BoolVar(&resolve, "resolve", false, "resolve domains' MX hosts now")
	cmd.AddCommand(
		&cobra.Command{
			Use: "add NAME PREFIX|DOMAIN...", Short: "add prefixes or mail domains to a carrier set", Args: cobra.MinimumNArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					if err := st.AddCarrierEntries(ctx, actor(), args[0], args[1:]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "carrier %s: %d entries added\n", args[0], len(args)-1)
					return nil
				})
			},
		},
		list,
		&cobra.Command{
			Use: "remove NAME [PREFIX|DOMAIN...]", Short: "remove a carrier set, or some of its entries", Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					if err := st.RemoveCarrier(ctx, actor(), args[0], args[1:]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "carrier %s removed\n", args[0])
					return nil
				})
			},
		},
	)
	return cmd
}

func newEdgeScopeCmd() *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "scope all|carriers [--from DATETIME]",
		Short: "set what port 25 is blocked towards: all (phase 2) or carrier sets only (phase 1), now or from a date",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := edge.ParseOptionalWhen(from, time.Local)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			return withStore(func(ctx context.Context, st *store.Store) error {
				if err := st.SetScope(ctx, actor(), args[0], at); err != nil {
					return err
				}
				when := "now"
				if !at.IsZero() {
					when = "from " + at.Format(time.RFC3339)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "scope %s (%s) %s\n", args[0], edge.Phase(args[0]), when)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "when the scope takes effect: 2006-01-02 15:04 (local time) or RFC 3339; default now")
	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "list scheduled scope changes (see also `edge plan`)", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					sc, err := st.Schedule(ctx)
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "FROM\tSCOPE\tPHASE")
					for _, c := range sc {
						fmt.Fprintf(tw, "%s\t%s\t%s\n", c.From.Format(time.RFC3339), c.Scope, edge.Phase(c.Scope))
					}
					return tw.Flush()
				})
			},
		},
		&cobra.Command{
			Use: "remove DATETIME", Short: "remove the scope change scheduled at DATETIME", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				at, err := edge.ParseWhen(args[0], time.Local)
				if err != nil {
					return err
				}
				return withStore(func(ctx context.Context, st *store.Store) error {
					if err := st.RemoveScopeChange(ctx, actor(), at); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "scope change at %s removed\n", at.Format(time.RFC3339))
					return nil
				})
			},
		},
	)
	return cmd
}

func newEdgeActionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "action [reset|drop|icmp]",
		Short: "what a blocked attempt gets: reset (TCP RST, default), drop, or icmp (admin-prohibited); no argument shows it",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				if len(args) == 1 {
					if err := st.SetAction(ctx, actor(), args[0]); err != nil {
						return err
					}
				}
				a, err := st.Action(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "action %s\n", a)
				return nil
			})
		},
	}
}

func newEdgePlanCmd() *cobra.Command {
	return &cobra.Command{
		Use: "plan", Short: "show the scope schedule: what is in force now and the phase changes to come", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				p, err := loadPolicy(ctx, st, nil)
				if err != nil {
					return err
				}
				printTimeline(cmd.OutOrStdout(), edge.PlanTimeline(p))
				return nil
			})
		},
	}
}

func newEdgeCheckCmd() *cobra.Command {
	var resolve bool
	cmd := &cobra.Command{
		Use:   "check SRC DST [PORT]",
		Short: "decide one TCP attempt: prints allow or block, then the reason chain (port defaults to 25)",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			portText := ""
			if len(args) == 3 {
				portText = args[2]
			}
			src, dst, port, err := edge.ParseCheck(args[0], args[1], portText)
			if err != nil {
				return err
			}
			return withStoreConfig(func(ctx context.Context, st *store.Store, cfg *config.Config) error {
				p, err := loadPolicy(ctx, st, carrierResolver(cfg, resolve))
				if err != nil {
					return err
				}
				block, reasons := p.Check(src, dst, port)
				fmt.Fprint(cmd.OutOrStdout(), edge.FormatCheck(block, reasons))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&resolve, "resolve", true, "resolve carrier domains' MX hosts")
	return cmd
}

func newEdgeRenderCmd() *cobra.Command {
	var format string
	var window time.Duration
	var resolve bool
	cmd := &cobra.Command{
		Use: "render", Short: "print the ruleset: nftables (table inet op25b) or --format iptables (iptables + ipset)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := context.Background()
			_, _, r, err := loadRuleset(ctx, resolve, window)
			if err != nil {
				return err
			}
			switch format {
			case "nft", "nftables":
				fmt.Fprint(cmd.OutOrStdout(), r.RenderNft())
			case "iptables":
				fmt.Fprint(cmd.OutOrStdout(), r.RenderIptables())
			default:
				return fmt.Errorf("--format %q: want nft or iptables", format)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "nft", "nft or iptables")
	cmd.Flags().DurationVar(&window, "window", 0, "how long the kernel remembers a source's attempts (default: edge.attempt_window)")
	cmd.Flags().BoolVar(&resolve, "resolve", true, "resolve carrier domains' MX hosts")
	return cmd
}

func newEdgeApplyCmd() *cobra.Command {
	var window time.Duration
	var dry, resolve, verify bool
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "program table inet op25b in this network namespace: one atomic transaction, only the differences",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := context.Background()
			cfg, p, r, err := loadRuleset(ctx, resolve, window)
			if err != nil {
				return err
			}
			if dry {
				cur, err := edge.ReadKernel()
				if err != nil {
					return err
				}
				script, ch := edge.Plan(cur, r)
				fmt.Fprint(cmd.OutOrStdout(), script)
				fmt.Fprintf(cmd.ErrOrStderr(), "dry run: %s\n", ch)
				return nil
			}
			start := time.Now()
			ch, err := edge.Apply(ctx, r, cfg.DataDir, verify)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "applied: %s (scope %s, %s, action %s) in %s\n", ch, p.Scope, edge.Phase(p.Scope), p.Action, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().DurationVar(&window, "window", 0, "how long the kernel remembers a source's attempts, set at table creation (default: edge.attempt_window)")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print the nft transaction instead of running it")
	cmd.Flags().BoolVar(&resolve, "resolve", true, "resolve carrier domains' MX hosts")
	cmd.Flags().BoolVar(&verify, "verify", false, "read every element of the kernel's sets back and repair any difference, instead of trusting the last apply's cache (rules: only their marker is checked)")
	return cmd
}

func newEdgeRunCmd() *cobra.Command {
	var interval, resolveEvery, window, recordEvery time.Duration
	cmd := &cobra.Command{
		Use:   "run",
		Short: "keep applying as the store or the schedule changes (polls; touches only table inet op25b)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, cfg, err := openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			log := newLogger(cfg.Log.Level)
			interval = orDuration(interval, cfg.Edge.PollInterval)
			log.Info("edge run: started", "interval", interval)
			r := &edge.Runner{
				Store: st, Resolver: carrierResolver(cfg, true), CacheDir: cfg.DataDir, Log: log,
				Interval: interval,
				Resolve:  orDuration(resolveEvery, cfg.Edge.ResolveInterval),
				Window:   orDuration(window, cfg.Edge.AttemptWindow),
				Router:   cfg.Hostname, RecordEvery: recordEvery,
			}
			return r.Run(ctx)
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", 0, "how often to poll the store and re-apply (default: edge.poll_interval)")
	cmd.Flags().DurationVar(&resolveEvery, "resolve-every", 0, "how often to re-resolve carrier domains' MX hosts (default: edge.resolve_interval)")
	cmd.Flags().DurationVar(&window, "window", 0, "how long the kernel remembers a source's attempts (default: edge.attempt_window)")
	cmd.Flags().DurationVar(&recordEvery, "record-every", time.Minute, "how often the kernel's attempt counts are copied to the store (edge report --store)")
	return cmd
}

func newEdgeReportCmd() *cobra.Command {
	var top int
	var format string
	var fromStore bool
	cmd := &cobra.Command{
		Use:   "report",
		Short: "top blocked sources from the kernel's counters: attempts, distinct destinations, first/last seen, pool",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format %q: want table or json", format)
			}
			return withStore(func(ctx context.Context, st *store.Store) error {
				if fromStore {
					return printStoredAttempts(ctx, cmd, st, top, format)
				}
				p, err := loadPolicy(ctx, st, nil)
				if err != nil {
					return err
				}
				as, err := edge.ReadAttempts(p, time.Now())
				if err != nil {
					return err
				}
				if top > 0 && len(as) > top {
					as = as[:top]
				}
				if format == "json" {
					rows := []attemptsRow{}
					for _, a := range as {
						rows = append(rows, attemptsRow{a, subscriberOf(ctx, st, a.Source, a.LastSeen)})
					}
					return writeJSON(cmd.OutOrStdout(), rows)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SOURCE\tATTEMPTS\tDESTINATIONS\tFIRST SEEN\tLAST SEEN\tPOOL\tSUBSCRIBER")
				for _, a := range as {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\n", a.Source, a.Count, a.Destinations, fmtTime(a.FirstSeen), fmtTime(a.LastSeen), a.Pool,
						subscriberOf(ctx, st, a.Source, a.LastSeen))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().IntVar(&top, "top", 50, "show at most this many sources (0: all)")
	cmd.Flags().BoolVar(&fromStore, "store", false, "report from the store: every router's recorded counts (edge run), beyond the kernel's window")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

// attemptsRow is one source of edge report --format json: the kernel's
// counts and who held the address (RADIUS accounting), "-" when unknown.
type attemptsRow struct {
	edge.Attempts
	Subscriber string
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func newEdgeFeedCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use: "feed --format txt|csv|json", Short: "print our dynamic space for carriers and receivers (as the DNSBL lists it: static holes and exemptions left out)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				p, err := loadPolicy(ctx, st, nil)
				if err != nil {
					return err
				}
				return edge.WriteFeed(cmd.OutOrStdout(), format, edge.Feed(p))
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "txt", "txt, csv or json")
	return cmd
}

func newEdgeDNSBLCmd() *cobra.Command {
	var listen, zone string
	var reload time.Duration
	cmd := &cobra.Command{
		Use:   "dnsbl [--listen ADDR] [--zone ZONE]",
		Short: "serve a DNSBL zone answering 127.0.0.10 for addresses in our dynamic pools, exempted ones aside (UDP and TCP)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if reload <= 0 {
				return fmt.Errorf("--reload %v: want a positive duration", reload)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, cfg, err := openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if zone == "" {
				zone = cfg.Edge.DNSBLZone
			}
			if listen == "" {
				listen = cfg.Edge.DNSBLListen
			}
			if zone == "" || listen == "" {
				return fmt.Errorf("give --zone and --listen, or set edge.dnsbl_zone and edge.dnsbl_listen in the config")
			}
			log := newLogger(cfg.Log.Level)
			p, err := loadPolicy(ctx, st, nil)
			if err != nil {
				return err
			}
			bl := edge.NewDNSBL(zone, p)
			udp := &dns.Server{Addr: listen, Net: "udp", Handler: bl}
			tcp := &dns.Server{Addr: listen, Net: "tcp", Handler: bl}
			errc := make(chan error, 2)
			for _, s := range []*dns.Server{udp, tcp} {
				go func() { errc <- s.ListenAndServe() }()
			}
			log.Info("edge dnsbl: serving", "listen", listen, "zone", bl.Zone)
			tick := time.NewTicker(reload)
			defer tick.Stop()
			version := p.Version
			for {
				select {
				case <-ctx.Done():
					udp.Shutdown()
					tcp.Shutdown()
					return nil
				case err := <-errc:
					udp.Shutdown()
					tcp.Shutdown()
					return fmt.Errorf("dnsbl on %s: %w", listen, err)
				case <-tick.C:
					v, err := st.EdgeVersion(ctx)
					if err != nil {
						log.Error("edge dnsbl: read store version", "err", err)
						continue
					}
					if nc := bl.Policy().NextChange(); v == version && (nc.IsZero() || time.Now().Before(nc)) {
						continue // unchanged, and no exemption expired since
					}
					np, err := loadPolicy(ctx, st, nil)
					if err != nil {
						log.Error("edge dnsbl: load policy; still answering from the last one", "err", err)
						continue
					}
					bl.SetPolicy(np)
					version = np.Version
					log.Info("edge dnsbl: reloaded", "version", version)
				}
			}
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to serve DNS on, UDP and TCP (default: edge.dnsbl_listen)")
	cmd.Flags().StringVar(&zone, "zone", "", "the DNSBL zone, e.g. dyn.dnsbl.isp.example (default: edge.dnsbl_zone)")
	cmd.Flags().DurationVar(&reload, "reload", 10*time.Second, "how often to check the store for changes")
	return cmd
}

// loadRuleset reads the policy from the configured store and builds the
// ruleset render and apply both start from.
func loadRuleset(ctx context.Context, resolve bool, window time.Duration) (*config.Config, *edge.Policy, *edge.Ruleset, error) {
	st, cfg, err := openStore(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	defer st.Close()
	p, err := loadPolicy(ctx, st, carrierResolver(cfg, resolve))
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, p, p.Ruleset(orDuration(window, cfg.Edge.AttemptWindow)), nil
}

// orDuration is a flag's value, or the config's when the flag was not given.
func orDuration(flag, cfg time.Duration) time.Duration {
	if flag > 0 {
		return flag
	}
	return cfg
}

// writeJSON prints v as indented JSON (edge report --format json).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printStoredAttempts is edge report --store: the attempt counts every
// router's edge run recorded.
func printStoredAttempts(ctx context.Context, cmd *cobra.Command, st *store.Store, top int, format string) error {
	rs, err := st.AttemptsReport(ctx, top)
	if err != nil {
		return err
	}
	if format == "json" {
		if rs == nil {
			rs = []store.AttemptRecord{}
		}
		return writeJSON(cmd.OutOrStdout(), rs)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tATTEMPTS\tDESTINATIONS\tFIRST SEEN\tLAST SEEN\tPOOL\tROUTERS\tSUBSCRIBER")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%d\t%s\n", r.Source, r.Attempts, r.Destinations, fmtTime(r.FirstSeen), fmtTime(r.LastSeen), r.Pool, r.Routers,
			subscriberOf(ctx, st, r.Source, r.LastSeen))
	}
	return tw.Flush()
}

// printTimeline prints `edge plan`.
func printTimeline(out io.Writer, t edge.Timeline) {
	fmt.Fprintf(out, "now (%s): scope %s (%s), action %s\n", t.At.Local().Format(time.RFC3339), t.Scope, t.Phase, t.Action)
	if t.Defaulted {
		fmt.Fprintln(out, "no schedule: scope all (phase 2) by default")
	}
	for _, c := range t.Changes {
		fmt.Fprintf(out, "%s  %-8s %s  [%s]\n", c.From.Local().Format(time.RFC3339), c.Scope, c.Phase, c.State)
	}
	for _, e := range t.Expiring {
		fmt.Fprintf(out, "%s  exemption %s expires (%s)\n", e.Until.Local().Format(time.RFC3339), e.Prefix, e.Reason)
	}
	if t.NextChange != nil {
		fmt.Fprintf(out, "next change: %s\n", t.NextChange.Local().Format(time.RFC3339))
	}
}
