// Command mx benchmarks inbound mail side by side with Postfix: the same
// load from Postfix's own smtp-source (-s 20 -m N -l 10240) to one local
// user, against (1) smtp-sink alone, the protocol ceiling, (2) Debian's
// Postfix delivering to Maildir with its virtual agent, and (3) mailgate.
// Runs are interleaved; it prints min/median/max of accepted msg/s,
// end-to-end msg/s (until the last message is in Maildir) and CPU seconds
// per 1000 messages (machine-wide busy time less the load generator's).
// mailgate runs with its inbound checks on (SPF, DKIM, DMARC, the sender's
// records served by a local nsd and answered from mailgate's DNS cache
// after the first message), with [auth] off, and with Debian's clamd and
// rspamd on as well (offline, internal/testpeer); a second table gives the
// latency each scanner adds to a message (p50/p99 over unique messages:
// clamd caches the verdict of content it has seen, and smtp-source sends
// the same filler).
//
//	go run ./bench/mx -mailgate ./mailgate -runs 3 -messages 5000
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"mailgate/bench/measure"
	"mailgate/internal/testpeer"
)

var (
	messages = flag.Int("messages", 5000, "messages per run (smtp-source -m)")
	sessions = flag.Int("sessions", 20, "parallel sessions (smtp-source -s)")
	size     = flag.Int("size", 10240, "message size in bytes (smtp-source -l)")
	// scanCount is how many messages the scanner latency table scans.
	scanCount = flag.Int("scan-messages", 500, "messages per scanner in the latency table")
)

// load sends the run's messages to alice@example.net at port.
func load(port int) measure.Load {
	return measure.SMTPSource("127.0.0.1:"+strconv.Itoa(port), *sessions, *messages, *size, "sender@remote.example", "alice@example.net")
}

func main() {
	binary := flag.String("mailgate", "./mailgate", "path of the mailgate binary")
	runs := flag.Int("runs", 3, "interleaved runs per target")
	flag.Parse()
	// The sender's domain: smtp-source mails from 127.0.0.1 as
	// sender@remote.example, which SPF authorizes; DMARC p=none.
	ns, err := testpeer.StartNSD(map[string]string{"remote.example": "@ IN TXT \"v=spf1 ip4:127.0.0.1 -all\"\n_dmarc IN TXT \"v=DMARC1; p=none\""})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer ns.Stop()
	sc, err := startScanners()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer sc.stop()
	dnsTOML := fmt.Sprintf("[dns]\nservers = [%q]\n", ns.Addr)
	targets := []measure.Target{
		{Name: "smtp-sink (ceiling)", Run: runSink},
		{Name: "postfix 3.7 (virtual → Maildir)", Run: runPostfix},
		{Name: "mailgate (MX → spool → Maildir), checks on", Run: func() (measure.Result, error) { return runMailgate(*binary, dnsTOML) }},
		{Name: "mailgate, [auth] checks off", Run: func() (measure.Result, error) {
			return runMailgate(*binary, dnsTOML+"[auth]\nenabled = false\n")
		}},
		{Name: "mailgate checks on + clamd + rspamd", Run: func() (measure.Result, error) { return runMailgate(*binary, dnsTOML+sc.toml()) }},
	}
	results, err := measure.Interleave(targets, *runs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	measure.PrintTable(fmt.Sprintf("Inbound SMTP, %d × %d-byte messages, %d sessions (smtp-source), %d interleaved runs",
		*messages, *size, *sessions, *runs), targets, results)
	e2e := func(r measure.Result) float64 { return r.EndToEnd }
	if pf := measure.Median(results[1], e2e); pf > 0 {
		fmt.Printf("\nmailgate end-to-end / postfix end-to-end (medians): %.2fx\n", measure.Median(results[2], e2e)/pf)
	}
	if off := measure.Median(results[3], e2e); off > 0 {
		fmt.Printf("mailgate checks on / checks off, end-to-end (medians): %.2fx\n", measure.Median(results[2], e2e)/off)
	}
	if on := measure.Median(results[2], e2e); on > 0 {
		fmt.Printf("mailgate with scanners / without (end-to-end medians): %.2fx\n", measure.Median(results[4], e2e)/on)
	}
	if err := printScanLatency(sc, *scanCount, *size); err != nil {
		fmt.Fprintln(os.Stderr, err)
		sc.stop()
		os.Exit(1)
	}
}

func runSink() (measure.Result, error) {
	port := measure.FreePort()
	sink := exec.Command("smtp-sink", "-u", "nobody", "127.0.0.1:"+strconv.Itoa(port), "256")
	if err := sink.Start(); err != nil {
		return measure.Result{}, err
	}
	defer func() { sink.Process.Kill(); sink.Wait() }()
	if err := measure.WaitPort(port); err != nil {
		return measure.Result{}, err
	}
	// smtp-sink stores nothing: accepted is delivered.
	return measure.Run(*messages, load(port), func() int { return *messages }, time.Minute)
}

func runPostfix() (measure.Result, error) {
	port := measure.FreePort()
	base, err := os.MkdirTemp("", "mailgate-bench-maildir-")
	if err != nil {
		return measure.Result{}, err
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	os.Chown(base, 65534, 65534)
	pf, err := testpeer.StartPostfix(port, map[string]string{
		"virtual_mailbox_domains":               "example.net",
		"virtual_mailbox_base":                  base,
		"virtual_mailbox_maps":                  "inline:{ alice@example.net=example.net/alice/ }",
		"virtual_uid_maps":                      "static:65534",
		"virtual_gid_maps":                      "static:65534",
		"virtual_minimum_uid":                   "100",
		"virtual_destination_concurrency_limit": "20",
		"smtpd_client_connection_count_limit":   "0",
		"smtpd_client_connection_rate_limit":    "0",
		"default_process_limit":                 "100",
	})
	if err != nil {
		return measure.Result{}, err
	}
	defer pf.Stop()
	if err := measure.WaitPort(port); err != nil {
		return measure.Result{}, err
	}
	return measure.Run(*messages, load(port), measure.CountFiles(filepath.Join(base, "example.net", "alice", "new")), 10*time.Minute)
}

func runMailgate(binary, extraTOML string) (measure.Result, error) {
	port := measure.FreePort()
	n, err := measure.StartNode(binary, map[string]int{"mx": port}, extraTOML+"[limits]\nmax_connections_per_ip = 100\n", "alice@example.net", "bench-password")
	if err != nil {
		return measure.Result{}, err
	}
	defer n.Stop()
	return measure.Run(*messages, load(port), measure.CountFiles(filepath.Join(n.Dir, "mail", "example.net", "alice", "new")), 10*time.Minute)
}
