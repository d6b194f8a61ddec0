// Command idle measures what many idle clients cost a server: -conns
// (10,000) logged-in IMAP clients in IDLE (RFC 2177) over implicit TLS,
// and as many MX clients idle after EHLO, each against a fresh mailgate
// node, and the same IMAP flood against Debian's Dovecot as the peer
// (-dovecot-conns, fewer by default: Dovecot runs one imap process per
// logged-in client), -runs times each, interleaved. Memory is the proportional set size (PSS) of the
// server's whole process tree before and after the flood, divided by the
// connections. While the flood idles, a new client logs in and SELECTs
// INBOX (IMAP) or gets the banner and its EHLO answered (MX): -probes
// times, median and range reported. At the end every IDLE client sends
// DONE and must get its tagged OK: the flood was really there and served.
// The clients come from -sources loopback addresses (127.0.0.2 ...), so
// the per-address caps stay as configured; the node's global caps are
// raised above -conns so the probe is not turned away by the count.
//
//	go run ./bench/idle -mailgate ./mailgate -conns 10000
package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/tls"
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
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"mailgate/bench/measure"
	"mailgate/internal/certs"
)

var (
	conns        = flag.Int("conns", 10000, "idle connections per flood")
	dovecotConns = flag.Int("dovecot-conns", 1000, "IMAP IDLE connections against Dovecot (0: skip it)")
	sources      = flag.Int("sources", 250, "loopback source addresses the flood comes from (127.0.0.2 on)")
	probes       = flag.Int("probes", 5, "new clients timed while the flood idles (odd: the median is one of them)")
	workers      = flag.Int("workers", 32, "connections set up concurrently")
	withMX       = flag.Bool("mx", true, "measure the MX flood too")
	compress     = flag.Bool("compress", false, "IMAP clients send COMPRESS DEFLATE (RFC 4978) before IDLE; the node gets [imap] compress = true (Dovecot is skipped)")
	hold         = flag.Duration("hold", 0, "keep each flood open this long after measuring it (to look at the server meanwhile)")
)

const (
	user     = "idle@bench.example"
	password = "bench-password-1"
)

// row is one line of the table.
type row struct {
	what             string
	conns            int
	before, after    int64 // PSS of the server's process tree, bytes
	probe            []time.Duration
	stillIdle, total int // clients that got their tagged OK to DONE
}

func main() {
	binary := flag.String("mailgate", "./mailgate", "path of the mailgate binary")
	runs := flag.Int("runs", 3, "runs per server, interleaved, each on a fresh server (odd: the median is one of them)")
	flag.Parse()
	raiseNoFile(uint64(*conns) + 1000)
	type target struct {
		name string
		run  func() (row, error)
	}
	targets := []target{{"mailgate IMAP", func() (row, error) { return mailgateIMAP(*binary) }}}
	if *dovecotConns > 0 && !*compress {
		targets = append(targets, target{"dovecot IMAP", dovecotIMAP})
	}
	if *withMX {
		targets = append(targets, target{"mailgate MX", func() (row, error) { return mailgateMX(*binary) }})
	}
	results := make([][]row, len(targets))
	for i := 0; i < *runs; i++ {
		for t, tg := range targets {
			r, err := tg.run()
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench idle: %s: %v\n", tg.name, err)
				os.Exit(1)
			}
			results[t] = append(results[t], r)
		}
	}
	print(results)
}

// limitsTOML raises the global caps over the flood (the per-address caps
// stay the defaults: the flood spreads over -sources addresses).
func limitsTOML() string {
	toml := fmt.Sprintf("[limits]\nmax_connections = %d\n", *conns+100)
	if *compress {
		toml += "[imap]\ncompress = true\n"
	}
	return toml
}

func mailgateIMAP(binary string) (row, error) {
	port := measure.FreePort()
	n, err := measure.StartNode(binary, map[string]int{"imaps": port}, limitsTOML(), user, password)
	if err != nil {
		return row{}, err
	}
	defer n.Stop()
	what := "mailgate IMAP, IDLE"
	if *compress {
		what += ", COMPRESS"
	}
	return imapFlood(what, n.Pid(), "127.0.0.1:"+strconv.Itoa(port), *conns)
}

func mailgateMX(binary string) (row, error) {
	port := measure.FreePort()
	n, err := measure.StartNode(binary, map[string]int{"mx": port}, limitsTOML(), user, password)
	if err != nil {
		return row{}, err
	}
	defer n.Stop()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return flood(row{what: "mailgate MX, after EHLO", conns: *conns}, n.Pid(),
		func(src net.Addr, _ bool) (*client, error) { return mxClient(src, addr) },
		func(c *client) { c.send("QUIT") },
		// Each idle client is still there: a NOOP gets its 250.
		func(c *client) error {
			if err := c.send("NOOP"); err != nil {
				return err
			}
			return c.expectSMTP("250")
		})
}

// imapFlood opens n IDLE clients to addr, measures pid's process tree,
// times the probes and ends every IDLE.
func imapFlood(what string, pid int, addr string, n int) (row, error) {
	// One login first, so the password cache and the folder index exist
	// before the baseline (they are not per connection).
	if c, err := imapClient(nil, addr, false); err != nil {
		return row{what: what, conns: n}, err
	} else {
		c.Close()
	}
	time.Sleep(time.Second) // the first session's goroutines end
	return flood(row{what: what, conns: n}, pid,
		func(src net.Addr, idle bool) (*client, error) { return imapClient(src, addr, idle) },
		func(*client) {},
		func(c *client) error {
			if err := c.send("DONE"); err != nil {
				return err
			}
			return c.expectIMAP("c")
		})
}

// flood opens r.conns idle clients (dial with a source address each and
// idle true), measures pid's process tree before and after, times *probes
// new clients (dial from no set source, not idle; bye before closing)
// while they are all open, and counts the idle ones still answering.
func flood(r row, pid int, dial func(src net.Addr, idle bool) (*client, error), bye func(*client), still func(*client) error) (row, error) {
	r.before = pss(pid)
	idle, err := open(r.conns, func(i int) (*client, error) { return dial(source(i), true) })
	defer closeAll(idle)
	if err != nil {
		return r, err
	}
	r.after = pss(pid)
	if *hold > 0 {
		fmt.Fprintf(os.Stderr, "bench idle: %s: %d clients idle, server pid %d, holding for %v\n", r.what, r.conns, pid, *hold)
		time.Sleep(*hold)
	}
	for i := 0; i < *probes; i++ {
		t0 := time.Now()
		c, err := dial(nil, false)
		if err != nil {
			return r, fmt.Errorf("new client during the flood: %w", err)
		}
		r.probe = append(r.probe, time.Since(t0))
		bye(c)
		c.Close()
	}
	r.total = len(idle)
	r.stillIdle = countOK(idle, still)
	return r, nil
}

// client is one connection and its reader.
type client struct {
	net.Conn
	r        *bufio.Reader
	deflated bool // after COMPRESS DEFLATE
}

func (c *client) send(line string) error {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	b := []byte(line + "\r\n")
	if c.deflated {
		b = deflateLine(b)
	}
	_, err := c.Write(b)
	return err
}

// deflaters are shared by the clients: a line deflated by a fresh
// compressor and sync-flushed is a valid continuation of any DEFLATE
// stream (it refers to nothing before it), so no client keeps one.
var deflaters = sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, flate.BestSpeed); return w }}

func deflateLine(b []byte) []byte {
	var out bytes.Buffer
	w := deflaters.Get().(*flate.Writer)
	w.Reset(&out)
	w.Write(b)
	w.Flush()
	deflaters.Put(w)
	return out.Bytes()
}

// expectIMAP reads up to the tagged reply to tag and wants OK.
func (c *client) expectIMAP(tag string) error {
	c.SetDeadline(time.Now().Add(60 * time.Second))
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				return errors.New(strings.TrimSpace(line))
			}
			return nil
		}
		if strings.HasPrefix(line, "* BYE") {
			return errors.New(strings.TrimSpace(line))
		}
	}
}

// expectSMTP reads a reply, all its lines, and wants code.
func (c *client) expectSMTP(code string) error {
	c.SetDeadline(time.Now().Add(60 * time.Second))
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if len(line) < 4 || line[3] != '-' {
			if !strings.HasPrefix(line, code) {
				return errors.New(strings.TrimSpace(line))
			}
			return nil
		}
	}
}

func dial(src net.Addr, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second, LocalAddr: src}
	return d.Dial("tcp", addr)
}

// imapClient connects over TLS, logs in and SELECTs INBOX, then with idle
// starts IDLE and waits for the continuation.
func imapClient(src net.Addr, addr string, idle bool) (*client, error) {
	raw, err := dial(src, addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	c := &client{Conn: tc, r: bufio.NewReaderSize(tc, 1024)}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	line, err := c.r.ReadString('\n')
	if err == nil && !strings.HasPrefix(line, "* OK") {
		err = errors.New(strings.TrimSpace(line))
	}
	steps := []struct{ tag, cmd string }{{"a", "LOGIN " + user + " " + password}, {"b", "SELECT INBOX"}}
	for _, s := range steps {
		if err != nil {
			break
		}
		if err = c.send(s.tag + " " + s.cmd); err == nil {
			err = c.expectIMAP(s.tag)
		}
	}
	if err == nil && idle && *compress {
		if err = c.send("z COMPRESS DEFLATE"); err == nil {
			if err = c.expectIMAP("z"); err == nil {
				c.r = bufio.NewReaderSize(flate.NewReader(tc), 1024)
				c.deflated = true
			}
		}
	}
	if err == nil && idle {
		if err = c.send("c IDLE"); err == nil {
			line, err = c.r.ReadString('\n')
			if err == nil && !strings.HasPrefix(line, "+") {
				err = errors.New(strings.TrimSpace(line))
			}
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// mxClient connects, reads the banner and says EHLO.
func mxClient(src net.Addr, addr string) (*client, error) {
	raw, err := dial(src, addr)
	if err != nil {
		return nil, err
	}
	c := &client{Conn: raw, r: bufio.NewReaderSize(raw, 1024)}
	err = c.expectSMTP("220")
	if err == nil {
		if err = c.send("EHLO client.bench.example"); err == nil {
			err = c.expectSMTP("250")
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// source is the flood's i-th client's address: -sources loopback
// addresses in turn (127.0.0.1 is left to the probes).
func source(i int) net.Addr {
	k := 2 + i%*sources
	return &net.TCPAddr{IP: net.IPv4(127, 0, byte(k/256), byte(k%256))}
}

// open sets up n clients with -workers at a time; the first failure ends
// it (a refused flood client is a wrong setup, not a data point).
func open(n int, connect func(i int) (*client, error)) ([]*client, error) {
	out := make([]*client, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || firstErr != nil {
					return
				}
				c, err := connect(i)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("client %d of %d: %w", i+1, n, err) })
					return
				}
				out[i] = c
			}
		}()
	}
	wg.Wait()
	got := out[:0]
	for _, c := range out {
		if c != nil {
			got = append(got, c)
		}
	}
	return got, firstErr
}

func closeAll(cs []*client) {
	for _, c := range cs {
		c.Close()
	}
}

// countOK runs check on every client, -workers at a time, and counts
// those that passed.
func countOK(cs []*client, check func(*client) error) int {
	var ok atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(cs) {
					return
				}
				if check(cs[i]) == nil {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(ok.Load())
}

// pss sums the proportional set size of pid and its descendants
// (/proc/PID/smaps_rollup): for one process it is its RSS less its share
// of pages it shares; for Dovecot's many processes it counts each shared
// page once.
func pss(pid int) int64 {
	var total int64
	for _, p := range tree(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				total += kb << 10
			}
		}
	}
	return total
}

// tree lists pid and its descendants.
func tree(pid int) []int {
	out := []int{pid}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, tree(c)...)
			}
		}
	}
	return out
}

// raiseNoFile lifts this process's soft open-file limit to the hard one
// and says so when even that is below want (each client is a
// descriptor): root may raise the hard limit too, a container may not.
func raiseNoFile(want uint64) {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return
	}
	if rl.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return
		}
		fmt.Fprintf(os.Stderr, "bench idle: the open-file hard limit %d is below the %d this run needs (raise it: ulimit -Hn, prlimit)\n", rl.Max, want)
	}
	rl.Cur = rl.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
}

// perConn is a run's memory per connection in KiB.
func (r row) perConn() float64 { return float64(r.after-r.before) / float64(r.conns) / 1024 }

// print gives per server the run with the median memory per connection,
// the range over the runs, and the probes of all runs.
func print(results [][]row) {
	fmt.Printf("\nIdle connections (%d CPUs, %s), %d runs each: memory = PSS of the server's processes, new client = ", cpus(), kernel(), len(results[0]))
	fmt.Printf("IMAP: TLS + LOGIN + SELECT, MX: banner + EHLO, timed while the flood idles (%d per run)\n", *probes)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SERVER\tCONNECTIONS\tMEMORY BEFORE MB\tAFTER MB\tKIB PER CONNECTION\tMIN-MAX\tNEW CLIENT MS MEDIAN\tMIN-MAX\tSTILL SERVED")
	for _, rs := range results {
		sort.Slice(rs, func(i, j int) bool { return rs[i].perConn() < rs[j].perConn() })
		r := rs[len(rs)/2]
		var probe []time.Duration
		served, total := 0, 0
		for _, x := range rs {
			probe = append(probe, x.probe...)
			served += x.stillIdle
			total += x.total
		}
		fmt.Fprintf(w, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f-%.1f\t%s\t%s\t%d/%d\n", r.what, r.conns,
			float64(r.before)/(1<<20), float64(r.after)/(1<<20), r.perConn(), rs[0].perConn(), rs[len(rs)-1].perConn(),
			ms(medianOf(probe)), ms(minOf(probe))+"-"+ms(maxOf(probe)), served, total)
	}
	w.Flush()
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }

func sorted(d []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

func medianOf(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return sorted(d)[len(d)/2]
}
func minOf(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return sorted(d)[0]
}
func maxOf(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return sorted(d)[len(d)-1]
}

func cpus() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func kernel() string {
	out, _ := exec.Command("uname", "-r").Output()
	return strings.TrimSpace(string(out))
}

// dovecotIMAP runs the IMAP flood against Debian's Dovecot on an empty
// Maildir: performance-mode imap-login (service_count = 0, one process
// holding many clients and their TLS), one imap process per logged-in
// client as Dovecot runs IMAP, per-user connection cap raised.
func dovecotIMAP() (row, error) {
	if _, err := exec.LookPath("dovecot"); err != nil {
		return row{}, errors.New("dovecot not installed (scripts/test-deps.sh installs dovecot-imapd)")
	}
	work, err := os.MkdirTemp("", "mailgate-bench-idle-dovecot-")
	if err != nil {
		return row{}, err
	}
	defer os.RemoveAll(work)
	// Dovecot's unprivileged processes must reach the passwd file and
	// the certificate; the mail processes run as nobody.
	if err := os.Chmod(work, 0o711); err != nil {
		return row{}, err
	}
	certDir := filepath.Join(work, "tls")
	// A self-signed ECDSA certificate as mailgate makes its own: the
	// same handshake cost on both servers.
	if _, err := certs.Load("", "", certDir, "mail.bench.example"); err != nil {
		return row{}, err
	}
	if err := os.Chmod(certDir, 0o755); err != nil {
		return row{}, err
	}
	maildir := filepath.Join(work, "mail")
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(maildir, d), 0o700); err != nil {
			return row{}, err
		}
	}
	for _, d := range []string{"run", "index", "control", "home", "auth"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return row{}, err
		}
	}
	passwd := filepath.Join(work, "auth", "passwd")
	if err := os.WriteFile(passwd, []byte(user+":{PLAIN}"+password+"\n"), 0o644); err != nil {
		return row{}, err
	}
	for _, d := range []string{maildir, "index", "control", "home"} {
		if !filepath.IsAbs(d) {
			d = filepath.Join(work, d)
		}
		if out, err := exec.Command("chown", "-R", "nobody:nogroup", d).CombinedOutput(); err != nil {
			return row{}, fmt.Errorf("chown: %v: %s", err, out)
		}
	}
	port := measure.FreePort()
	limit := *dovecotConns + 100
	conf := filepath.Join(work, "dovecot.conf")
	text := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/run
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <%[2]s/selfsigned.crt
ssl_key = <%[2]s/selfsigned.key
mail_location = maildir:%[3]s:INDEX=%[1]s/index:CONTROL=%[1]s/control:LAYOUT=maildir++
mail_max_userip_connections = %[4]d
default_process_limit = %[4]d
default_client_limit = %[4]d
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = %[5]d
    ssl = yes
  }
  service_count = 0
  process_min_avail = 2
  client_limit = %[4]d
}
service imap {
  process_limit = %[4]d
}
service anvil {
  client_limit = %[6]d
}
passdb {
  driver = passwd-file
  args = %[7]s
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=%[1]s/home
}
`, work, certDir, maildir, limit, port, 3*limit, passwd)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return row{}, err
	}
	cmd := exec.Command("dovecot", "-F", "-c", conf)
	if err := cmd.Start(); err != nil {
		return row{}, err
	}
	defer func() {
		exec.Command("dovecot", "-c", conf, "stop").Run()
		cmd.Wait()
	}()
	if err := measure.WaitPort(port); err != nil {
		log, _ := os.ReadFile(filepath.Join(work, "dovecot.log"))
		return row{}, fmt.Errorf("%v: %s", err, log)
	}
	version, _ := exec.Command("dovecot", "--version").Output()
	what := "dovecot " + strings.Fields(string(version) + " ?")[0] + " IMAP, IDLE"
	r, err := imapFlood(what, cmd.Process.Pid, "127.0.0.1:"+strconv.Itoa(port), *dovecotConns)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(work, "dovecot.log"))
		if len(log) > 2000 {
			log = log[len(log)-2000:]
		}
		err = fmt.Errorf("%v\n%s", err, log)
	}
	return r, err
}
