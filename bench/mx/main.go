// Command mx benchmarks inbound mail side by side with Postfix: the same
// load from Postfix's own smtp-source (-s 20 -m N -l 10240) to one local
// user, against (1) smtp-sink alone, the protocol ceiling, (2) Debian's
// Postfix delivering to Maildir with its virtual agent, and (3) mailgate.
// mailgate runs twice more: with its scanners, and with the earlier path
// (spool first, [delivery] local_before_ack = false). Runs are interleaved; it prints min/median/max of accepted msg/s,
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

// Target names, by which the ratios below find their rows.
const (
	nameSink     = "smtp-sink (ceiling)"
	namePostfix  = "postfix 3.7 (virtual → Maildir)"
	nameBefore   = "mailgate (MX → Maildir before 250), checks on"
	nameSpool    = "mailgate (MX → spool → Maildir), checks on"
	nameOff      = "mailgate, [auth] checks off"
	nameScanners = "mailgate checks on + clamd + rspamd"
)

func main() {
	binary := flag.String("mailgate", "./mailgate", "path of the mailgate binary")
	runs := flag.Int("runs", 3, "interleaved runs per target")
	pathsOnly := flag.Bool("paths-only", false, "only Postfix and mailgate's two local paths (no sink, checks-off or scanner rows)")
	flag.Parse()
	measure.DeferRemoval = true
	defer measure.RemoveDeferred()
	// The sender's domain: smtp-source mails from 127.0.0.1 as
	// sender@remote.example, which SPF authorizes; DMARC p=none. The
	// client's reverse DNS too (127.0.0.1 is localhost, forward-confirmed),
	// as a caching resolver answers it and Postfix finds it in /etc/hosts:
	// without it mailgate asked nsd at every connection, nsd refused the
	// name it does not serve, a REFUSED is not cached (RFC 2308 §7), and the
	// table measured that, about 80 ms a connection on a loaded machine.
	ns, err := testpeer.StartNSD(map[string]string{
		"remote.example":       "@ IN TXT \"v=spf1 ip4:127.0.0.1 -all\"\n_dmarc IN TXT \"v=DMARC1; p=none\"",
		"0.0.127.in-addr.arpa": "1 IN PTR localhost.\n",
		"localhost":            "@ IN A 127.0.0.1\n",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer ns.Stop()
	var sc *scanners
	if !*pathsOnly {
		if sc, err = startScanners(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer sc.stop()
	}
	dnsTOML := fmt.Sprintf("[dns]\nservers = [%q]\n", ns.Addr)
	mailgate := func(extra string) func() (measure.Result, error) {
		return func() (measure.Result, error) { return runMailgate(*binary, dnsTOML+extra) }
	}
	targets := []measure.Target{
		{Name: nameSink, Run: runSink},
		{Name: namePostfix, Run: runPostfix},
		{Name: nameBefore, Run: mailgate("")},
		// The earlier path, selectable for one release: every message
		// spooled first, delivered by the agent after the 250.
		{Name: nameSpool, Run: mailgate("[delivery]\nlocal_before_ack = false\n")},
		{Name: nameOff, Run: mailgate("[auth]\nenabled = false\n")},
	}
	if *pathsOnly {
		targets = targets[1:4]
	} else {
		targets = append(targets, measure.Target{Name: nameScanners, Run: func() (measure.Result, error) { return runMailgate(*binary, dnsTOML+sc.toml()) }})
	}
	results, err := measure.Interleave(targets, *runs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		measure.RemoveDeferred()
		os.Exit(1)
	}
	measure.PrintTable(fmt.Sprintf("Inbound SMTP, %d × %d-byte messages, %d sessions (smtp-source), %d interleaved runs",
		*messages, *size, *sessions, *runs), targets, results)
	median := func(name string) float64 {
		for i, t := range targets {
			if t.Name == name {
				return measure.Median(results[i], func(r measure.Result) float64 { return r.EndToEnd })
			}
		}
		return 0
	}
	if pf := median(namePostfix); pf > 0 {
		fmt.Printf("\nmailgate end-to-end / postfix end-to-end (medians): %.2fx Maildir before 250 (the default), %.2fx spool first\n",
			median(nameBefore)/pf, median(nameSpool)/pf)
	}
	if *pathsOnly {
		return
	}
	if off := median(nameOff); off > 0 {
		fmt.Printf("mailgate checks on / checks off, end-to-end (medians): %.2fx\n", median(nameBefore)/off)
	}
	if on := median(nameBefore); on > 0 {
		fmt.Printf("mailgate with scanners / without (end-to-end medians): %.2fx\n", median(nameScanners)/on)
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
	defer measure.Remove(base)
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
