package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"mailgate/internal/buildinfo"
	"mailgate/internal/node"
)

func newServeCmd() *cobra.Command {
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "run the mail node (MX, submission, POP3, IMAP, spool, delivery)",
		Long: `Run the mail node until SIGTERM or SIGINT, then shut down gracefully.

Without -c: loopback only, at the standard port + 2000 (MX 2525,
submission 2587, submissions 2465, POP3 2110/2995, IMAP 2143/2993,
ManageSieve 6190, HTTP 8025, HTTPS 8443), data in ./mailgate-data,
SQLite, and a self-signed certificate generated on first start.
With -c FILE (or MAILGATE_CONFIG), the [listen] addresses of FILE;
start from "mailgate config example".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			out := cmd.OutOrStdout()
			// First, as `mailgate version` prints it: which build a log is from.
			bi := buildinfo.Read()
			fmt.Fprintf(out, "mailgate %s\n", bi)
			log := newLogger(cfg.Log.Level)
			log.Info("starting", buildAttrs(bi)...)
			// Postfix's smtpd and Dovecot's services never serve the
			// internet as root; neither should we, but refusing would
			// break a first try (and the tests, which run as root).
			if os.Geteuid() == 0 {
				fmt.Fprintln(out, "mailgate: warning: "+runningAsRoot)
				log.Warn(runningAsRoot)
			}
			fmt.Fprintf(out, "mailgate: host %s, data in %s, database %s\n", cfg.Hostname, cfg.DataDir, redactDSN(cfg.DatabaseDSN()))
			cfgFlag := ""
			if configPath != "" {
				cfgFlag = " -c " + configPath
			}
			fmt.Fprintf(out, "mailgate: to begin, in another terminal:\n"+
				"  mailgate%[1]s domain add example.net\n"+
				"  mailgate%[1]s user add alice@example.net      (asks for the password)\n", cfgFlag)
			return node.Run(ctx, cfg, log, out)
		},
	}
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a Go CPU profile to this file until shutdown (for performance work)")
	return cmd
}

// runningAsRoot is serve's warning when started as root.
const runningAsRoot = "running as root: run as an unprivileged user, see `mailgate config systemd`"

// buildAttrs are serve's first log line's: the version, the commit when
// the build has one, the Go version.
func buildAttrs(bi buildinfo.Info) []any {
	attrs := []any{"version", bi.Version}
	if bi.Revision != "" {
		attrs = append(attrs, "revision", bi.Revision)
	}
	if bi.Modified != nil {
		attrs = append(attrs, "modified", *bi.Modified)
	}
	return append(attrs, "go", bi.GoVersion)
}
