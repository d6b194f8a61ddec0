// Command relay benchmarks outbound relaying side by side with Postfix:
// messages for a remote domain go in on one side and out to the same
// remote smtp-sink, and the rate is counted at the sink (end to end).
//
//   - postfix: smtp-source (-s 20 -m N -l 10240, plaintext, no AUTH, from
//     mynetworks) → Postfix → relayhost [127.0.0.1]:sink.
//   - postfix submission: the same load as mailgate's below, into Postfix
//     as a submission server (STARTTLS, Cyrus SASL AUTH) → relayhost.
//   - mailgate: the same N messages over submission (STARTTLS + AUTH PLAIN,
//     20 clients, 10 per connection, internal/loadgen: smtp-source cannot
//     authenticate) → spool → MX lookup in a DNS server run here → sink.
//
// The "drain" rows measure the outbound half alone: the N messages are
// queued while the sink is down (each deferred once), then the sink starts
// and the queue is flushed (postqueue -f; mailgate queue retry --all); the
// rate is N over the time until the sink holds them all.
//
// Runs are interleaved; it prints min/median/max of accepted msg/s,
// end-to-end msg/s (until the sink holds every message) and machine CPU
// seconds per 1000 messages (less the load generator's own).
//
//	go run ./bench/relay -mailgate ./mailgate -runs 3 -messages 2000
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"

	"mailgate/bench/measure"
	"mailgate/internal/loadgen"
	"mailgate/internal/testpeer"
)

var (
	messages = flag.Int("messages", 2000, "messages per run")
	sessions = flag.Int("sessions", 20, "parallel sessions")
	size     = flag.Int("size", 10240, "message size in bytes")
)

func main() {
	binary := flag.String("mailgate", "./mailgate", "path of the mailgate binary")
	runs := flag.Int("runs", 3, "interleaved runs per target (odd, so the median is one run)")
	flag.Parse()
	dnsAddr, stopDNS := serveDNS()
	defer stopDNS()
	targets := []measure.Target{
		{Name: "postfix 3.7 (smtp-source → relayhost → sink)", Run: func() (measure.Result, error) { return runPostfix(false) }},
		{Name: "postfix 3.7 (submission → relayhost → sink)", Run: runPostfixSubmission},
		{Name: "mailgate (submission → spool → MX → sink)", Run: func() (measure.Result, error) { return runMailgate(*binary, dnsAddr, false) }},
		{Name: "postfix 3.7 drain: deferred queue → sink", Run: func() (measure.Result, error) { return runPostfix(true) }},
		{Name: "mailgate drain: queue → MX → sink", Run: func() (measure.Result, error) { return runMailgate(*binary, dnsAddr, true) }},
	}
	results, err := measure.Interleave(targets, *runs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	measure.PrintTable(fmt.Sprintf("Outbound relay to a remote smtp-sink, %d × %d-byte messages, %d sessions, %d interleaved runs",
		*messages, *size, *sessions, *runs), targets, results)
}

// serveDNS answers relay.bench MX → mx.relay.bench → 127.0.0.1, NXDOMAIN
// for anything else (so no MTA-STS policy).
func serveDNS() (string, func()) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case q.Name == "relay.bench." && q.Qtype == mdns.TypeMX:
			rr, _ := mdns.NewRR("relay.bench. 60 IN MX 10 mx.relay.bench.")
			m.Answer = append(m.Answer, rr)
		case q.Name == "mx.relay.bench." && q.Qtype == mdns.TypeA:
			rr, _ := mdns.NewRR("mx.relay.bench. 60 IN A 127.0.0.1")
			m.Answer = append(m.Answer, rr)
		case q.Name == "relay.bench." || q.Name == "mx.relay.bench.":
		default:
			m.Rcode = mdns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	return pc.LocalAddr().String(), func() { srv.Shutdown() }
}

// startSink runs smtp-sink storing each message in a fresh directory, on
// port.
func startSink(port int) (string, func(), error) {
	dir, err := os.MkdirTemp("", "mailgate-bench-sink-")
	if err != nil {
		return "", nil, err
	}
	os.Chmod(dir, 0o777)
	sink := exec.Command("smtp-sink", "-u", "nobody", "-d", filepath.Join(dir, "m."), "127.0.0.1:"+strconv.Itoa(port), "256")
	if err := sink.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { sink.Process.Kill(); sink.Wait(); os.RemoveAll(dir) }
	if err := measure.WaitPort(port); err != nil {
		stop()
		return "", nil, err
	}
	return dir, stop, nil
}

// relayRun measures one target: with the sink up from the start (end to
// end), or, for drain, with the sink down until every message was tried
// and deferred once (tried()), then up while flush() empties the queue.
func relayRun(sinkPort int, drain bool, load measure.Load, tried func() bool, flush func() error) (measure.Result, error) {
	if !drain {
		dir, stop, err := startSink(sinkPort)
		if err != nil {
			return measure.Result{}, err
		}
		defer stop()
		return measure.Run(*messages, load, measure.CountFiles(dir), 5*time.Minute)
	}
	if _, _, err := load(); err != nil {
		return measure.Result{}, err
	}
	if err := measure.WaitFor(tried, 5*time.Minute); err != nil {
		return measure.Result{}, fmt.Errorf("waiting for every message to be deferred once: %w", err)
	}
	dir, stop, err := startSink(sinkPort)
	if err != nil {
		return measure.Result{}, err
	}
	defer stop()
	return measure.Run(*messages, func() (time.Duration, float64, error) { return 0, 0, flush() }, measure.CountFiles(dir), 5*time.Minute)
}

// postfixRelaySettings are both Postfix rows' main.cf overrides: relay
// everything to the sink, with no client limits in the way of the load.
func postfixRelaySettings(sinkPort int) map[string]string {
	return map[string]string{
		"relayhost":                           fmt.Sprintf("[127.0.0.1]:%d", sinkPort),
		"smtpd_client_connection_count_limit": "0",
		"smtpd_client_connection_rate_limit":  "0",
		"default_process_limit":               "100",
		"smtp_destination_concurrency_limit":  "20",
	}
}

func runPostfix(drain bool) (measure.Result, error) {
	sinkPort, port := measure.FreePort(), measure.FreePort()
	pf, err := testpeer.StartPostfix(port, postfixRelaySettings(sinkPort))
	if err != nil {
		return measure.Result{}, err
	}
	defer pf.Stop()
	if err := measure.WaitPort(port); err != nil {
		return measure.Result{}, err
	}
	load := measure.SMTPSource("127.0.0.1:"+strconv.Itoa(port), *sessions, *messages, *size, "sender@bench.example", "user@relay.bench")
	tried := func() bool { return strings.Count(pf.Log(), "status=deferred") >= *messages }
	return relayRun(sinkPort, drain, load, tried, pf.Flush)
}

// runPostfixSubmission is the same load as mailgate's — STARTTLS, AUTH
// PLAIN, 10 messages per connection, from internal/loadgen — into Postfix
// set up as a submission server (Cyrus SASL), relaying to the sink.
func runPostfixSubmission() (measure.Result, error) {
	sinkPort, port := measure.FreePort(), measure.FreePort()
	pf, err := testpeer.StartPostfixSubmission(port, "load@bench.example", "bench-password", postfixRelaySettings(sinkPort))
	if err != nil {
		return measure.Result{}, err
	}
	defer pf.Stop()
	if err := measure.WaitPort(port); err != nil {
		return measure.Result{}, err
	}
	return relayRun(sinkPort, false, submitLoad(port, "load@bench.example", "bench-password"), nil, nil)
}

// submitLoad submits the run's messages through STARTTLS + AUTH PLAIN with
// internal/loadgen: 20 clients, 10 messages per connection. It returns the
// time taken and the CPU seconds the load generator itself used.
func submitLoad(port int, user, password string) measure.Load {
	return func() (time.Duration, float64, error) {
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		r, err := loadgen.Run(context.Background(), loadgen.Load{
			Target: loadgen.Target{Addr: "127.0.0.1:" + strconv.Itoa(port), User: user, Password: password, Timeout: time.Minute},
			From:   user, To: []string{"user@relay.bench"},
			Clients: *sessions, PerConn: 10, Size: *size, Messages: *messages,
		})
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		if err != nil {
			return 0, 0, err
		}
		if r.Sent != *messages {
			return 0, 0, fmt.Errorf("only %d of %d accepted: %v", r.Sent, *messages, r.FirstErr)
		}
		own := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano()).Seconds()
		return r.Elapsed, own, nil
	}
}

func runMailgate(binary, dnsAddr string, drain bool) (measure.Result, error) {
	sinkPort, port := measure.FreePort(), measure.FreePort()
	n, err := measure.StartNode(binary, map[string]int{"submission": port}, fmt.Sprintf(`[delivery]
remote_port = %d
concurrency_per_destination = 20
workers = 32
scan_interval = "100ms"
retry_initial = "1h"
retry_max = "4h"
[dns]
servers = [%q]
`, sinkPort, dnsAddr), "load@bench.example", "bench-password")
	if err != nil {
		return measure.Result{}, err
	}
	defer n.Stop()
	load := submitLoad(port, "load@bench.example", "bench-password")
	// Every message tried once: a state file each.
	tried := func() bool { return measure.CountFiles(filepath.Join(n.Dir, "spool", "state"))() >= *messages }
	return relayRun(sinkPort, drain, load, tried, func() error { return n.CLI("", "queue", "retry", "--all") })
}
