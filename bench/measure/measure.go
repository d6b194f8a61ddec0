// Package measure holds what the benchmark programs under bench/ share:
// machine-wide CPU accounting, waiting for a server or a count of files,
// a throw-away mailgate node, and the min / median / max summary.
package measure

import (
	"errors"
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

// Result is one run against one target.
type Result struct {
	Accepted   float64 // messages per second accepted by the target (0: not measured)
	EndToEnd   float64 // messages per second until the last one was delivered
	CPUPer1000 float64 // machine CPU seconds per 1000 messages, less the load generator's
}

// Load drives a target and reports how long accepting took and the CPU
// seconds the load generator itself used.
type Load func() (accept time.Duration, ownCPU float64, err error)

// Run runs load for n messages and waits (up to limit) until delivered()
// reaches n.
func Run(n int, load Load, delivered func() int, limit time.Duration) (Result, error) {
	cpu0 := Busy()
	start := time.Now()
	accept, own, err := load()
	if err != nil {
		return Result{}, err
	}
	if err := WaitFor(func() bool { return delivered() >= n }, limit); err != nil {
		return Result{}, fmt.Errorf("only %d of %d messages delivered: %w", delivered(), n, err)
	}
	e2e := time.Since(start)
	res := Result{EndToEnd: float64(n) / e2e.Seconds(), CPUPer1000: (Busy() - cpu0 - own) / float64(n) * 1000}
	if accept > time.Microsecond {
		res.Accepted = float64(n) / accept.Seconds()
	}
	return res, nil
}

// Busy returns the machine's busy CPU seconds so far (/proc/stat, all
// CPUs, idle and iowait excluded): kernel threads doing our fsyncs count.
func Busy() float64 {
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

// ChildCPU returns the CPU seconds a finished command used.
func ChildCPU(cmd *exec.Cmd) float64 {
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// CountFiles counts the entries of dir (0 while it does not exist).
func CountFiles(dir string) func() int {
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

// WaitFor polls cond until it holds or limit passes.
func WaitFor(cond func() bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// FreePort returns a loopback TCP port for a server about to start
// (testpeer.FreePort: outside the ephemeral range, never handed out twice).
func FreePort() int {
	p, err := testpeer.FreePort()
	if err != nil {
		panic(err)
	}
	return p
}

// WaitPort waits up to 15 s for 127.0.0.1:port to accept connections.
func WaitPort(port int) error {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return WaitFor(func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 15*time.Second)
}

// Spread formats the min / median / max of f over rs ("-" if all zero).
func Spread(rs []Result, f func(Result) float64, format string) string {
	v := values(rs, f)
	if len(v) == 0 || v[len(v)-1] == 0 {
		return "-"
	}
	return fmt.Sprintf(format+" / "+format+" / "+format, v[0], median(v), v[len(v)-1])
}

// Median is the median of f over rs.
func Median(rs []Result, f func(Result) float64) float64 {
	v := values(rs, f)
	if len(v) == 0 {
		return 0
	}
	return median(v)
}

// median of sorted v: the middle value, or the mean of the two middle ones
// for an even count (v[len/2] alone was the better of two runs).
func median(v []float64) float64 {
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func values(rs []Result, f func(Result) float64) []float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	return v
}

// Node is a throw-away mailgate node for a benchmark.
type Node struct {
	Dir     string
	Config  string
	binary  string
	srv     *exec.Cmd
	keepDir bool
}

// allListeners lists every listener key so a node opens only the ones a
// benchmark names.
var allListeners = []string{"mx", "submission", "submissions", "pop3", "pop3s", "imap", "imaps", "managesieve", "http", "https"}

// ListenTOML is a [listen] table that opens the given listeners on
// loopback and turns every other one off: a default port left on would
// make two benchmark nodes (or a benchmark beside a running server)
// fight over it.
func ListenTOML(listen map[string]int) string {
	var b strings.Builder
	b.WriteString("[listen]\n")
	for _, k := range allListeners {
		addr := ""
		if p, ok := listen[k]; ok {
			addr = "127.0.0.1:" + strconv.Itoa(p)
		}
		fmt.Fprintf(&b, "%s = %q\n", k, addr)
	}
	return b.String()
}

// StartNode writes a config (listeners as given, the rest off, extra TOML
// tables after), creates domain and user with password, and starts serve.
func StartNode(binary string, listen map[string]int, extraTOML, user, password string) (*Node, error) {
	dir, err := os.MkdirTemp("", "mailgate-bench-")
	if err != nil {
		return nil, err
	}
	n := &Node{Dir: dir, Config: filepath.Join(dir, "mailgate.toml"), binary: binary}
	var b strings.Builder
	fmt.Fprintf(&b, "hostname = \"mail.bench.example\"\ndata_dir = %q\n%s", dir, ListenTOML(listen))
	fmt.Fprintf(&b, "[log]\nlevel = \"warn\"\n%s", extraTOML)
	if err := os.WriteFile(n.Config, []byte(b.String()), 0o600); err != nil {
		n.Stop()
		return nil, err
	}
	if err := n.CLI("", "domain", "add", user[strings.LastIndexByte(user, '@')+1:]); err != nil {
		n.Stop()
		return nil, err
	}
	if err := n.CLI(password+"\n", "user", "add", user, "--password-stdin"); err != nil {
		n.Stop()
		return nil, err
	}
	ports := make([]int, 0, len(listen))
	for _, p := range listen {
		ports = append(ports, p)
	}
	if err := n.serve(ports); err != nil {
		n.Stop()
		return nil, err
	}
	return n, nil
}

// Launch writes config into dir/mailgate.toml and starts serve on it,
// waiting for the given ports. Stop leaves dir in place: it is the
// caller's (a fleet benchmark shares one work directory among nodes).
func Launch(binary, dir, config string, ports ...int) (*Node, error) {
	n := &Node{Dir: dir, Config: filepath.Join(dir, "mailgate.toml"), binary: binary, keepDir: true}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(n.Config, []byte(config), 0o600); err != nil {
		return nil, err
	}
	if err := n.serve(ports); err != nil {
		n.Stop()
		return nil, err
	}
	return n, nil
}

// serve starts the node and waits until every port answers.
func (n *Node) serve(ports []int) error {
	n.srv = exec.Command(n.binary, "-c", n.Config, "serve")
	n.srv.Stderr = os.Stderr // a node that fails to start says why
	if err := n.srv.Start(); err != nil {
		return err
	}
	for _, p := range ports {
		if err := WaitPort(p); err != nil {
			return err
		}
	}
	return nil
}

// Pid is the node's server process.
func (n *Node) Pid() int { return n.srv.Process.Pid }

// CLI runs a mailgate command against the node's config.
func (n *Node) CLI(stdin string, args ...string) error {
	c := exec.Command(n.binary, append([]string{"-c", n.Config}, args...)...)
	c.Stdin = strings.NewReader(stdin)
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("mailgate %v: %v: %s", args, err, out)
	}
	return nil
}

// Stop shuts the node down (once) and removes its directory unless
// Launch made it.
func (n *Node) Stop() {
	if n.srv != nil && n.srv.Process != nil {
		n.srv.Process.Signal(syscall.SIGTERM)
		n.srv.Wait()
		n.srv = nil
	}
	if !n.keepDir {
		Remove(n.Dir)
	}
}

// DeferRemoval makes Remove keep directories until RemoveDeferred, at the
// end of a benchmark. On ext4 without a journal (this project's benchmark
// machines) a new inode is never one freed in the last 60 s (6 min while
// its inode table block is dirty): each allocation in a group scans past
// every such inode from the group's start (recently_deleted, the kernel
// time a profile shows under open(O_TMPFILE)). A run that starts just
// after the previous run's directory of thousands of files was removed
// pays for that removal, whichever target it is.
var DeferRemoval bool

var deferred []string

// Remove removes a run's directory now, or at RemoveDeferred.
func Remove(dir string) {
	if DeferRemoval {
		deferred = append(deferred, dir)
		return
	}
	os.RemoveAll(dir)
}

// RemoveDeferred removes the directories Remove kept.
func RemoveDeferred() {
	for _, d := range deferred {
		os.RemoveAll(d)
	}
	deferred = nil
}

// SMTPSource is a Load that runs Postfix's smtp-source against addr.
func SMTPSource(addr string, sessions, messages, size int, from, to string) Load {
	return func() (time.Duration, float64, error) {
		cmd := exec.Command("smtp-source", "-s", strconv.Itoa(sessions), "-m", strconv.Itoa(messages),
			"-l", strconv.Itoa(size), "-f", from, "-t", to, "-M", "client.bench.example", addr)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("smtp-source: %v: %s", err, out)
		}
		return time.Since(start), ChildCPU(cmd), nil
	}
}

// Target is one row of a benchmark table.
type Target struct {
	Name string
	Run  func() (Result, error)
}

// Interleave runs every target once per round, runs rounds in all, so
// slow drifts of the machine touch every target alike, and prints each
// run to stderr as it ends.
func Interleave(targets []Target, runs int) ([][]Result, error) {
	if runs < 1 {
		return nil, fmt.Errorf("runs is %d: at least 1 (an odd count, so the median is one run)", runs)
	}
	results := make([][]Result, len(targets))
	for r := 0; r < runs; r++ {
		for i, tg := range targets {
			res, err := tg.Run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", tg.Name, err)
			}
			results[i] = append(results[i], res)
			fmt.Fprintf(os.Stderr, "run %d %-46s accepted %6.0f/s  end-to-end %6.0f/s  cpu %.2fs/1000\n",
				r+1, tg.Name, res.Accepted, res.EndToEnd, res.CPUPer1000)
		}
	}
	return results, nil
}

// PrintTable prints the min / median / max table of Interleave's results.
func PrintTable(title string, targets []Target, results [][]Result) {
	fmt.Printf("\n%s: min / median / max\n\n", title)
	fmt.Printf("| %-46s | %-20s | %-20s | %-20s |\n", "target", "accepted msg/s", "end-to-end msg/s", "CPU s per 1000 msgs")
	fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 48), strings.Repeat("-", 22), strings.Repeat("-", 22), strings.Repeat("-", 22))
	for i, tg := range targets {
		fmt.Printf("| %-46s | %-20s | %-20s | %-20s |\n", tg.Name,
			Spread(results[i], func(r Result) float64 { return r.Accepted }, "%.0f"),
			Spread(results[i], func(r Result) float64 { return r.EndToEnd }, "%.0f"),
			Spread(results[i], func(r Result) float64 { return r.CPUPer1000 }, "%.2f"))
	}
}
