package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"mailgate/internal/loadgen"
)

func newBenchFloorCmd() *cobra.Command {
	var (
		l          loadgen.Load
		durableDir string
		row        string
	)
	cmd := &cobra.Command{
		Use:   "floor",
		Short: "one-message-per-connection submissions against a server that only speaks the protocol: the floor under any real one",
		Long: `Runs, in this process, a loopback server with the node's certificate and TLS
settings (as bench tls does) that answers every SMTP command with a canned
reply, accepts any AUTH and takes the message content up to CRLF.CRLF, and
drives it with bench submit's client: --clients connections, --per-conn
messages each, pipelined on implicit TLS (RFC 2920, RFC 4954 §4, RFC 8314),
the cheapest session the protocol allows. Without --durable-dir the content
is dropped; with it each message is written as the spool writes one
(unnamed file, fsync, link, directory fsync) before the 250.

Next to bench tls it says how close to the bare handshake rate one message
per connection can come on this machine before any mail logic is counted:
no password check, no sender, limit or quota check, no delivery.`,
		Example: `  mailgate bench floor --messages 2000                        # TLS + the protocol alone
  mailgate bench floor --messages 2000 --durable-dir /var/tmp/floor   # plus a durable write per message`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			serverConf, done, err := benchServerTLS()
			if err != nil {
				return err
			}
			defer done()
			what := "floor submit"
			if durableDir != "" {
				what += " (durable)"
			}
			return runBench(cmd.OutOrStdout(), row, what, func(ctx context.Context) (*loadgen.Result, error) {
				r, err := loadgen.Floor(ctx, serverConf, durableDir, l)
				if err == nil && r.Sent == 0 {
					err = fmt.Errorf("no message was accepted: %v", r.FirstErr)
				}
				return r, err
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&l.Clients, "clients", 20, "concurrent connections")
	f.IntVar(&l.PerConn, "per-conn", 1, "messages per connection")
	f.IntVar(&l.Size, "size", 10240, "message size in bytes")
	f.IntVar(&l.Messages, "messages", 1000, "messages in all")
	f.StringVar(&durableDir, "durable-dir", "", "write each message durably under this directory (on the file system to measure) before the 250")
	f.StringVar(&row, "row", "", "print one tab-separated table row with this label")
	return cmd
}
