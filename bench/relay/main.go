// Command relay benchmarks outbound relaying side by side with Postfix:
// messages for a remote domain go in on one side and out to the same
// remote smtp-sink, and the rate is counted at the sink (end to end).
//
//   - postfix: smtp-source (-s 20 -m N -l 10240, plaintext, no AUTH, from
//     mynetworks) → Postfix → relayhost [127.0.0.1]:sink.
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
//	go run ./bench/relay -mailgate ./mailgate -runs 2 -messages 2000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"

	"mailgate/internal/loadgen"
	"mailgate/internal/testpeer"
)

type result struct{ accepted, endToEnd, cpuPer1000 float64 }

var (
	messages = flag.Int("messages", 2000, "messages per run")
	sessions = flag.Int("sessions", 20, "parallel sessions")
	size     = flag.Int("size", 10240, "message size in bytes")
)

func main() {
	binary := flag.String("mailgate", "./mailgate", "path of the mailgate binary")
	runs := flag.Int("runs", 2, "interleaved runs per target")
	flag.Parse()
	dnsAddr, stopDNS := serveDNS()
	defer stopDNS()
	targets := []struct {
		name string
		run  func() (result, error)
	}{
		{"postfix 3.7 (smtp-source → relayhost → sink)", func() (result, error) { return runPostfix(false) }},
		{"mailgate (submission → spool → MX → sink)", func() (result, error) { return runMailgate(*binary, dnsAddr, false) }},
		{"postfix 3.7 drain: deferred queue → sink", func() (result, error) { return runPostfix(true) }},
		{"mailgate drain: queue → MX → sink", func() (result, error) { return runMailgate(*binary, dnsAddr, true) }},
	}
	results := make([][]result, len(targets))
	for r := 0; r < *runs; r++ {
		for i, tg := range targets {
			res, err := tg.run()
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", tg.name, err)
				os.Exit(1)
			}
			results[i] = append(results[i], res)
			fmt.Fprintf(os.Stderr, "run %d %-46s accepted %6.0f/s  end-to-end %6.0f/s  cpu %.2fs/1000\n", r+1, tg.name, res.accepted, res.endToEnd, res.cpuPer1000)
		}
	}
	fmt.Printf("\nOutbound relay to a remote smtp-sink, %d × %d-byte messages, %d sessions, %d interleaved runs: min / median / max\n\n",
		*messages, *size, *sessions, *runs)
	fmt.Printf("| %-46s | %-20s | %-20s | %-20s |\n", "target", "accepted msg/s", "end-to-end msg/s", "CPU s per 1000 msgs")
	fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 48), strings.Repeat("-", 22), strings.Repeat("-", 22), strings.Repeat("-", 22))
	for i, tg := range targets {
		fmt.Printf("| %-46s | %-20s | %-20s | %-20s |\n", tg.name,
			mmm(results[i], func(r result) float64 { return r.accepted }, "%.0f"),
			mmm(results[i], func(r result) float64 { return r.endToEnd }, "%.0f"),
			mmm(results[i], func(r result) float64 { return r.cpuPer1000 }, "%.2f"))
	}
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
// port (0: a free one).
func startSink(port int) (int, string, func(), error) {
	if port == 0 {
		port = freePort()
	}
	dir, err := os.MkdirTemp("", "mailgate-bench-sink-")
	if err != nil {
		return 0, "", nil, err
	}
	os.Chmod(dir, 0o777)
	sink := exec.Command("smtp-sink", "-u", "nobody", "-d", filepath.Join(dir, "m."), "127.0.0.1:"+strconv.Itoa(port), "256")
	if err := sink.Start(); err != nil {
		return 0, "", nil, err
	}
	stop := func() { sink.Process.Kill(); sink.Wait(); os.RemoveAll(dir) }
	if err := waitPort(port); err != nil {
		stop()
		return 0, "", nil, err
	}
	return port, dir, stop, nil
}

func runPostfix(drain bool) (result, error) {
	sinkPort, sinkDir, stopSink := freePort(), "", func() {}
	if !drain {
		var err error
		if sinkPort, sinkDir, stopSink, err = startSink(sinkPort); err != nil {
			return result{}, err
		}
	}
	defer func() { stopSink() }()
	port := freePort()
	pf, err := testpeer.StartPostfix(port, map[string]string{
		"relayhost":                           fmt.Sprintf("[127.0.0.1]:%d", sinkPort),
		"smtpd_client_connection_count_limit": "0",
		"smtpd_client_connection_rate_limit":  "0",
		"default_process_limit":               "100",
		"smtp_destination_concurrency_limit":  "20",
	})
	if err != nil {
		return result{}, err
	}
	defer pf.Stop()
	if err := waitPort(port); err != nil {
		return result{}, err
	}
	load := func() (time.Duration, float64, error) {
		cmd := exec.Command("smtp-source", "-s", strconv.Itoa(*sessions), "-m", strconv.Itoa(*messages),
			"-l", strconv.Itoa(*size), "-f", "sender@bench.example", "-t", "user@relay.bench",
			"-M", "client.bench.example", "127.0.0.1:"+strconv.Itoa(port))
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, 0, fmt.Errorf("smtp-source: %v: %s", err, out)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		return time.Since(start), time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), nil
	}
	if !drain {
		return measure(load, countFiles(sinkDir))
	}
	if _, _, err := load(); err != nil {
		return result{}, err
	}
	// Wait until every message was tried once and deferred.
	if err := waitFor(func() bool { return strings.Count(pf.Log(), "status=deferred") >= *messages }); err != nil {
		return result{}, fmt.Errorf("postfix: %w", err)
	}
	var err2 error
	if _, sinkDir, stopSink, err2 = startSink(sinkPort); err2 != nil {
		return result{}, err2
	}
	flush := func() (time.Duration, float64, error) { return time.Nanosecond, 0, pf.Flush() }
	return measure(flush, countFiles(sinkDir))
}

func waitFor(cond func() bool) error {
	deadline := time.Now().Add(5 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func runMailgate(binary, dnsAddr string, drain bool) (result, error) {
	sinkPort, sinkDir, stopSink := freePort(), "", func() {}
	if !drain {
		var err error
		if sinkPort, sinkDir, stopSink, err = startSink(sinkPort); err != nil {
			return result{}, err
		}
	}
	defer func() { stopSink() }()
	dir, err := os.MkdirTemp("", "mailgate-bench-relay-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	port := freePort()
	cfg := fmt.Sprintf(`hostname = "mail.bench.example"
data_dir = %q
[listen]
mx = ""
submission = "127.0.0.1:%d"
submissions = ""
pop3 = ""
pop3s = ""
imap = ""
imaps = ""
http = ""
[log]
level = "warn"
[delivery]
remote_port = %d
concurrency_per_destination = 20
workers = 32
scan_interval = "100ms"
retry_initial = "1h"
retry_max = "4h"
[dns]
servers = [%q]
`, dir, port, sinkPort, dnsAddr)
	cfgPath := filepath.Join(dir, "mailgate.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return result{}, err
	}
	cli := func(stdin string, args ...string) error {
		c := exec.Command(binary, append([]string{"-c", cfgPath}, args...)...)
		c.Stdin = strings.NewReader(stdin)
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("mailgate %v: %v: %s", args, err, out)
		}
		return nil
	}
	if err := cli("", "domain", "add", "bench.example"); err != nil {
		return result{}, err
	}
	if err := cli("bench-password\n", "user", "add", "load@bench.example", "--password-stdin"); err != nil {
		return result{}, err
	}
	srv := exec.Command(binary, "-c", cfgPath, "serve")
	if err := srv.Start(); err != nil {
		return result{}, err
	}
	defer func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() }()
	if err := waitPort(port); err != nil {
		return result{}, err
	}
	load := func() (time.Duration, float64, error) {
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		r, err := loadgen.Run(context.Background(), loadgen.Load{
			Target: loadgen.Target{Addr: "127.0.0.1:" + strconv.Itoa(port), User: "load@bench.example", Password: "bench-password", Timeout: time.Minute},
			From:   "load@bench.example", To: []string{"user@relay.bench"},
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
	if !drain {
		return measure(load, countFiles(sinkDir))
	}
	if _, _, err := load(); err != nil {
		return result{}, err
	}
	// Wait until every message was tried once: a state file each.
	if err := waitFor(func() bool { return countFiles(filepath.Join(dir, "spool", "state"))() >= *messages }); err != nil {
		return result{}, fmt.Errorf("mailgate: %w", err)
	}
	var err2 error
	if _, sinkDir, stopSink, err2 = startSink(sinkPort); err2 != nil {
		return result{}, err2
	}
	retry := func() (time.Duration, float64, error) { return time.Nanosecond, 0, cli("", "queue", "retry", "--all") }
	return measure(retry, countFiles(sinkDir))
}

// measure runs the load and waits until delivered() reaches the count.
func measure(load func() (time.Duration, float64, error), delivered func() int) (result, error) {
	n := *messages
	cpu0 := busy()
	start := time.Now()
	acceptDur, own, err := load()
	if err != nil {
		return result{}, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for delivered() < n {
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("only %d of %d messages at the sink after 5 minutes", delivered(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	e2e := time.Since(start)
	cpu := busy() - cpu0 - own
	res := result{endToEnd: float64(n) / e2e.Seconds(), cpuPer1000: cpu / float64(n) * 1000}
	if acceptDur > time.Microsecond { // drain runs accept nothing
		res.accepted = float64(n) / acceptDur.Seconds()
	}
	return res, nil
}

func countFiles(dir string) func() int {
	return func() int {
		d, err := os.Open(dir)
		if err != nil {
			return 0
		}
		defer d.Close()
		names, _ := d.Readdirnames(-1)
		return len(names)
	}
}

// busy returns the machine's busy CPU seconds so far (/proc/stat).
func busy() float64 {
	b, _ := os.ReadFile("/proc/stat")
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:]
	var total float64
	for i, x := range f {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		v, _ := strconv.ParseFloat(x, 64)
		total += v
	}
	return total / 100 // USER_HZ
}

func mmm(rs []result, f func(result) float64, format string) string {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	if v[len(v)-1] == 0 {
		return "-"
	}
	return fmt.Sprintf(format+" / "+format+" / "+format, v[0], v[len(v)/2], v[len(v)-1])
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitPort(port int) error {
	for i := 0; i < 300; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("port %d did not open", port)
}
