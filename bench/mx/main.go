// Command mx benchmarks inbound mail side by side with Postfix: the same
// load from Postfix's own smtp-source (-s 20 -m N -l 10240) to one local
// user, against (1) smtp-sink alone, the protocol ceiling, (2) Debian's
// Postfix delivering to Maildir with its virtual agent, and (3) mailgate.
// Runs are interleaved; it prints min/median/max of accepted msg/s,
// end-to-end msg/s (until the last message is in Maildir) and CPU seconds
// per 1000 messages (machine-wide busy time less the load generator's).
//
//	go run ./bench/mx -mailgate ./mailgate -runs 3 -messages 5000
package main

import (
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

	"mailgate/internal/testpeer"
)

type result struct {
	accepted, endToEnd, cpuPer1000 float64
}

func main() {
	binary := flag.String("mailgate", "./mailgate", "path of the mailgate binary")
	runs := flag.Int("runs", 3, "interleaved runs per target")
	messages := flag.Int("messages", 5000, "messages per run (smtp-source -m)")
	sessions := flag.Int("sessions", 20, "parallel sessions (smtp-source -s)")
	size := flag.Int("size", 10240, "message size in bytes (smtp-source -l)")
	flag.Parse()

	load := func(port int) (time.Duration, float64, error) {
		cmd := exec.Command("smtp-source", "-s", strconv.Itoa(*sessions), "-m", strconv.Itoa(*messages),
			"-l", strconv.Itoa(*size), "-f", "sender@remote.example", "-t", "alice@example.net",
			"-M", "client.bench.example", "127.0.0.1:"+strconv.Itoa(port))
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, 0, fmt.Errorf("smtp-source: %v: %s", err, out)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		own := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		return time.Since(start), own, nil
	}

	targets := []struct {
		name string
		run  func() (result, error)
	}{
		{"smtp-sink (ceiling)", func() (result, error) { return runSink(load, *messages) }},
		{"postfix 3.7 (virtual → Maildir)", func() (result, error) { return runPostfix(load, *messages) }},
		{"mailgate (MX → spool → Maildir)", func() (result, error) { return runMailgate(*binary, load, *messages) }},
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
			fmt.Fprintf(os.Stderr, "run %d %-34s accepted %7.0f/s  end-to-end %7.0f/s  cpu %.2fs/1000\n", r+1, tg.name, res.accepted, res.endToEnd, res.cpuPer1000)
		}
	}
	fmt.Printf("\nInbound SMTP, %d × %d-byte messages, %d sessions (smtp-source), %d interleaved runs: min / median / max\n\n",
		*messages, *size, *sessions, *runs)
	fmt.Printf("| %-34s | %-22s | %-22s | %-22s |\n", "target", "accepted msg/s", "end-to-end msg/s", "CPU s per 1000 msgs")
	fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 36), strings.Repeat("-", 24), strings.Repeat("-", 24), strings.Repeat("-", 24))
	for i, tg := range targets {
		fmt.Printf("| %-34s | %-22s | %-22s | %-22s |\n", tg.name,
			mmm(results[i], func(r result) float64 { return r.accepted }, "%.0f"),
			mmm(results[i], func(r result) float64 { return r.endToEnd }, "%.0f"),
			mmm(results[i], func(r result) float64 { return r.cpuPer1000 }, "%.2f"))
	}
	pf, mg := median(results[1], func(r result) float64 { return r.endToEnd }), median(results[2], func(r result) float64 { return r.endToEnd })
	if pf > 0 {
		fmt.Printf("\nmailgate end-to-end / postfix end-to-end (medians): %.2fx\n", mg/pf)
	}
}

func mmm(rs []result, f func(result) float64, format string) string {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	return fmt.Sprintf(format+" / "+format+" / "+format, v[0], v[len(v)/2], v[len(v)-1])
}

func median(rs []result, f func(result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

// busy returns the machine's busy CPU seconds so far (/proc/stat).
func busy() float64 {
	b, _ := os.ReadFile("/proc/stat")
	line := strings.SplitN(string(b), "\n", 2)[0]
	f := strings.Fields(line)[1:]
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

// measure runs the load and waits until delivered() reaches n.
func measure(load func(int) (time.Duration, float64, error), port, n int, delivered func() int) (result, error) {
	cpu0 := busy()
	start := time.Now()
	acceptDur, own, err := load(port)
	if err != nil {
		return result{}, err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for delivered() < n {
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("only %d of %d messages delivered after 10 minutes", delivered(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	e2e := time.Since(start)
	cpu := busy() - cpu0 - own
	return result{
		accepted:   float64(n) / acceptDur.Seconds(),
		endToEnd:   float64(n) / e2e.Seconds(),
		cpuPer1000: cpu / float64(n) * 1000,
	}, nil
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

func runSink(load func(int) (time.Duration, float64, error), n int) (result, error) {
	port := freePort()
	sink := exec.Command("smtp-sink", "-u", "nobody", "127.0.0.1:"+strconv.Itoa(port), "256")
	if err := sink.Start(); err != nil {
		return result{}, err
	}
	defer func() { sink.Process.Kill(); sink.Wait() }()
	if err := waitPort(port); err != nil {
		return result{}, err
	}
	cpu0 := busy()
	d, own, err := load(port)
	if err != nil {
		return result{}, err
	}
	rate := float64(n) / d.Seconds()
	return result{accepted: rate, endToEnd: rate, cpuPer1000: (busy() - cpu0 - own) / float64(n) * 1000}, nil
}

func runPostfix(load func(int) (time.Duration, float64, error), n int) (result, error) {
	port := freePort()
	base, err := os.MkdirTemp("", "mailgate-bench-maildir-")
	if err != nil {
		return result{}, err
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
		return result{}, err
	}
	defer pf.Stop()
	if err := waitPort(port); err != nil {
		return result{}, err
	}
	return measure(load, port, n, countFiles(filepath.Join(base, "example.net", "alice", "new")))
}

func runMailgate(binary string, load func(int) (time.Duration, float64, error), n int) (result, error) {
	dir, err := os.MkdirTemp("", "mailgate-bench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	port := freePort()
	cfg := fmt.Sprintf(`hostname = "mail.bench.example"
data_dir = %q
[listen]
mx = "127.0.0.1:%d"
submission = ""
submissions = ""
pop3 = ""
pop3s = ""
imap = ""
imaps = ""
http = ""
[limits]
max_connections_per_ip = 100
[log]
level = "warn"
`, dir, port)
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
	if err := cli("", "domain", "add", "example.net"); err != nil {
		return result{}, err
	}
	if err := cli("bench-password\n", "user", "add", "alice@example.net", "--password-stdin"); err != nil {
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
	return measure(load, port, n, countFiles(filepath.Join(dir, "mail", "example.net", "alice", "new")))
}
