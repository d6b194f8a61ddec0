package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"mailgate/internal/certs"
	"mailgate/internal/config"
	"mailgate/internal/edge"
	"mailgate/internal/loadgen"
	"mailgate/internal/password"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "measure a node: submission load (submit) and the machine's limits (fsync, tls, auth)",
		Long: `Load tools for capacity planning. Each prints one result line (and the
first error, if any), or with --row LABEL one tab-separated row: label,
rate/s, p50 ms, p99 ms, count, failed (scripts/bench-submission.sh builds
its table from those rows).`,
	}
	cmd.AddCommand(newBenchSubmitCmd(), newBenchFsyncCmd(), newBenchTLSCmd(), newBenchFloorCmd(), newBenchAuthCmd(), newBenchEdgeReadCmd())
	return cmd
}

// runBench runs one measurement, which SIGINT/SIGTERM cut short, and
// prints what it measured, also when it ends in an error.
func runBench(w io.Writer, row, what string, run func(context.Context) (*loadgen.Result, error)) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	r, err := run(ctx)
	if r != nil {
		printResult(w, row, what, r)
	}
	return err
}

func printResult(w io.Writer, row, what string, r *loadgen.Result) {
	p50, p99 := loadgen.Percentile(r.Latencies, 50), loadgen.Percentile(r.Latencies, 99)
	if row != "" {
		fmt.Fprintf(w, "%s\t%.1f\t%.1f\t%.1f\t%d\t%d\n", row, r.Rate(), ms(p50), ms(p99), r.Sent, r.Failed)
		return
	}
	fmt.Fprintf(w, "%s: %d in %.2fs = %.1f/s, p50 %.1f ms, p99 %.1f ms, %d failed\n",
		what, r.Sent, r.Elapsed.Seconds(), r.Rate(), ms(p50), ms(p99), r.Failed)
	if r.FirstErr != nil {
		fmt.Fprintf(w, "first error: %v\n", r.FirstErr)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func newBenchSubmitCmd() *cobra.Command {
	var (
		l        loadgen.Load
		addr     string
		implicit bool
		pwStdin  bool
		to       string
		row      string
	)
	cmd := &cobra.Command{
		Use:   "submit",
		Short: "N concurrent clients doing STARTTLS (or implicit TLS) + AUTH + messages of S bytes, M per connection",
		Long: `Submits --messages messages from --clients concurrent connections, --per-conn
messages per connection, each --size bytes, as --user (password from
--password-stdin, never argv). Prints messages/s and p50/p99 latency; a
message's latency runs from the start of its transaction to the 250, and for
the first message of a connection includes connect, TLS and AUTH.
Without --addr it uses the config's listen.submission (listen.submissions
with --implicit-tls). With --pipelining the client sends commands in groups
and reads their replies afterwards, as Postfix's smtp client does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if l.Target.User == "" {
				return errors.New("--user is required: an account of the node (mailgate user add)")
			}
			if !pwStdin {
				return errors.New("give the password on standard input with --password-stdin (never on the command line)")
			}
			pw, err := readStdinLine(cmd)
			if err != nil {
				return err
			}
			l.Target.Password = pw
			if addr == "" {
				cfg, err := loadConfig()
				if err != nil {
					return err
				}
				addr = cfg.Listen.Submission
				if implicit {
					addr = cfg.Listen.Submissions
				}
			}
			l.Target.Addr, l.Target.ImplicitTLS = addr, implicit
			l.From = l.Target.User
			if to == "" {
				to = l.Target.User
			}
			l.To = strings.Split(to, ",")
			return runBench(cmd.OutOrStdout(), row, "submit", func(ctx context.Context) (*loadgen.Result, error) {
				r, err := loadgen.Run(ctx, l)
				if err == nil && r.Sent == 0 {
					what := "message"
					if l.PerConn == 0 {
						what = "session"
					}
					err = fmt.Errorf("no %s was accepted: %v", what, r.FirstErr)
				}
				if err == nil && l.Target.ResumeTLS && r.Resumed == 0 {
					err = errors.New("--resume-tls: the server resumed no TLS session (session tickets off?): the figures would be full handshakes")
				}
				return r, err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "", "host:port of the submission service (default: from the config)")
	f.BoolVar(&implicit, "implicit-tls", false, "TLS from the first byte (port 465) instead of STARTTLS")
	f.BoolVar(&l.Target.Pipelining, "pipelining", false, "send commands in groups as Postfix's smtp client does (RFC 2920): AUTH PLAIN with the first MAIL/RCPT/DATA (RFC 4954 §4), QUIT with the last message; default: wait for each reply")
	f.BoolVar(&l.Target.ResumeTLS, "resume-tls", false, "resume TLS sessions from earlier connections, as a returning mail client does (RFC 8446 §2.2)")
	f.StringVar(&l.Target.User, "user", "", "account to authenticate as; also the sender")
	f.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.StringVar(&to, "to", "", "recipients, comma-separated (default: the user itself)")
	f.IntVar(&l.Clients, "clients", 20, "concurrent connections")
	f.IntVar(&l.PerConn, "per-conn", 1, "messages per connection; 0: connect, TLS, EHLO, AUTH and QUIT only (--messages counts sessions)")
	f.IntVar(&l.Size, "size", 10240, "message size in bytes")
	f.IntVar(&l.Messages, "messages", 400, "messages in all")
	f.StringVar(&row, "row", "", "print one tab-separated table row with this label")
	return cmd
}

func newBenchFsyncCmd() *cobra.Command {
	var (
		dir           string
		size, writers int
		d             time.Duration
		row           string
	)
	cmd := &cobra.Command{
		Use:   "fsync",
		Short: "durable writes per second: write S bytes + fsync + link + directory fsync, in a loop",
		Long: `Measures the storage limit the spool is bound by: each operation writes
--size bytes to a new nameless file (O_TMPFILE, as the spool does), fsyncs it,
links it into another directory and fsyncs that directory. Run it in a directory on the spool's file system
(default: a temporary directory under the config's data_dir).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				cfg, err := loadConfig()
				if err != nil {
					return err
				}
				if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
					return err
				}
				dir = cfg.DataDir
			}
			tmp, err := os.MkdirTemp(dir, "bench-fsync-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			return runBench(cmd.OutOrStdout(), row, fmt.Sprintf("fsync (%d writer(s), %d bytes)", writers, size), func(ctx context.Context) (*loadgen.Result, error) {
				return loadgen.Fsync(ctx, tmp, size, writers, d)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "directory to write in (default: under data_dir)")
	f.IntVar(&size, "size", 10240, "bytes per file")
	f.IntVar(&writers, "writers", 1, "concurrent writers")
	f.DurationVar(&d, "duration", 5*time.Second, "how long to run")
	f.StringVar(&row, "row", "", "print one tab-separated table row with this label")
	return cmd
}

// benchServerTLS is the node's server TLS settings with its certificate
// (a fresh self-signed one when no config is given, removed by done),
// for the in-process servers of bench tls and bench floor.
func benchServerTLS() (_ *tls.Config, done func(), _ error) {
	cfg := config.Default()
	certDir := ""
	done = func() {}
	if configFile() != "" {
		c, err := loadConfig()
		if err != nil {
			return nil, nil, err
		}
		cfg, certDir = c, c.DataDir
	}
	if certDir == "" {
		tmp, err := os.MkdirTemp("", "mailgate-bench-tls-")
		if err != nil {
			return nil, nil, err
		}
		certDir, done = tmp, func() { os.RemoveAll(tmp) }
	}
	cert, err := certs.Load(cfg.TLS.CertFile, cfg.TLS.KeyFile, certDir, cfg.Hostname)
	if err != nil {
		done()
		return nil, nil, err
	}
	return certs.ServerConfig(cert), done, nil
}

func newBenchTLSCmd() *cobra.Command {
	var (
		clients int
		d       time.Duration
		row     string
		addr    string
	)
	cmd := &cobra.Command{
		Use:   "tls",
		Short: "bare TLS handshakes per second on loopback with the node's certificate and TLS settings",
		Long: `Runs a loopback TLS server with the configured certificate (or a fresh
self-signed one when no config is given) and the node's TLS settings, and
--clients concurrent clients doing connect + handshake + close in a loop.
This bounds submissions at one message per connection.
With --addr the clients handshake with that server instead (TLS from the
first byte, as on port 465): another MTA's TLS stack, measured from the
client side (its CPU is not counted here).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if addr != "" {
				return runBench(cmd.OutOrStdout(), row, fmt.Sprintf("TLS handshakes with %s (%d clients)", addr, clients), func(ctx context.Context) (*loadgen.Result, error) {
					return loadgen.HandshakesTo(ctx, addr, clients, d)
				})
			}
			serverConf, done, err := benchServerTLS()
			if err != nil {
				return err
			}
			defer done()
			return runBench(cmd.OutOrStdout(), row, fmt.Sprintf("TLS handshakes (%d clients)", clients), func(ctx context.Context) (*loadgen.Result, error) {
				return loadgen.Handshakes(ctx, serverConf, clients, d)
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&clients, "clients", 20, "concurrent clients")
	f.DurationVar(&d, "duration", 5*time.Second, "how long to run")
	f.StringVar(&row, "row", "", "print one tab-separated table row with this label")
	f.StringVar(&addr, "addr", "", "host:port of a TLS server to handshake with (implicit TLS) instead of a loopback server with the node's certificate")
	return cmd
}

func newBenchAuthCmd() *cobra.Command {
	var (
		workers int
		d       time.Duration
		row     string
	)
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "password verifications per second (argon2id, the parameters accounts are hashed with)",
		Long: `A login the node has not verified in the last 10 minutes (successful ones
are cached, failed ones never) costs one argon2id verification, so this
bounds first logins and password guesses per second. --workers verify
concurrently, but as in the node at most one per CPU computes at a time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hash, err := password.Hash("bench-password")
			if err != nil {
				return err
			}
			return runBench(cmd.OutOrStdout(), row, fmt.Sprintf("argon2id verifications (%d workers)", workers), func(ctx context.Context) (*loadgen.Result, error) {
				return loadgen.Repeat(ctx, workers, d, func() error {
					ok, err := password.Verify(hash, "bench-password")
					if err == nil && !ok {
						err = errors.New("verification failed")
					}
					return err
				})
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&workers, "workers", 2, "concurrent verifications")
	f.DurationVar(&d, "duration", 5*time.Second, "how long to run")
	f.StringVar(&row, "row", "", "print one tab-separated table row with this label")
	return cmd
}

func newBenchEdgeReadCmd() *cobra.Command {
	var page bool
	cmd := &cobra.Command{
		Use:   "edge-read",
		Short: "read table inet op25b's sets back from the kernel as edge apply --verify does: elements, wall and CPU time",
		Long: `The read-back is a netlink dump, and the kernel restarts its walk of a set
for every dump message: the message size decides the cost. --page-messages
reads with page-sized messages, as before --verify was primed for 32 KiB
ones. CPU time is the process's user + system time (the kernel walks the
set inside our recvmsg calls, so that counts as ours).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var before, after syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			start := time.Now()
			n, err := edge.ReadBack(page)
			if err != nil {
				return err
			}
			wall := time.Since(start)
			syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			cpu := time.Duration(after.Utime.Nano() - before.Utime.Nano() + after.Stime.Nano() - before.Stime.Nano())
			sys := time.Duration(after.Stime.Nano() - before.Stime.Nano())
			fmt.Fprintf(cmd.OutOrStdout(), "edge-read: %d elements in %d ms, cpu %d ms (system %d ms)\n",
				n, wall.Milliseconds(), cpu.Milliseconds(), sys.Milliseconds())
			return nil
		},
	}
	cmd.Flags().BoolVar(&page, "page-messages", false, "page-sized dump messages (the read-back before it was primed)")
	return cmd
}
