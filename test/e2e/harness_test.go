// Package e2e runs the real mailgate binary against real clients and peers
// (swaks, curl, Python's smtplib/imaplib/poplib, Postfix, nft in network
// namespaces). Every server binds loopback or addresses inside namespaces
// the test created.
package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailgate/internal/testpeer"
)

// binary is the mailgate binary built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mailgate-e2e-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mailgate")
	args := []string{"build", "-o", binary}
	if os.Getenv("MAILGATE_E2E_RACE") != "" {
		// A server built with the race detector: data races in the
		// node's goroutines make it print a report and exit 66.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../../cmd/mailgate")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building mailgate failed:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Node is one running `mailgate serve` with its own data directory,
// config file and loopback ports.
type Node struct {
	t      testing.TB
	Dir    string // data_dir
	Config string // path of the TOML file
	Ports  map[string]int
	Extra  string // extra TOML appended to the generated config
	// Wrap is a command serve runs under, e.g. prlimit and its options
	// ending in "--"; empty runs the binary directly.
	Wrap []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	out    *bytes.Buffer
}

// services that get a loopback port in every test node.
var services = []string{"mx", "submission", "submissions", "pop3", "pop3s", "imap", "imaps", "managesieve", "http", "https"}

// NewNode writes a config (loopback ports, SQLite unless database is
// given) without starting the server, so CLI set-up can run first.
func NewNode(t testing.TB, database string, extraTOML string) *Node {
	t.Helper()
	n := &Node{t: t, Dir: t.TempDir(), Ports: map[string]int{}, Extra: extraTOML}
	var listen strings.Builder
	for _, s := range services {
		n.Ports[s] = FreePort(t)
		fmt.Fprintf(&listen, "%s = \"127.0.0.1:%d\"\n", s, n.Ports[s])
	}
	n.Config = filepath.Join(n.Dir, "mailgate.toml")
	cfg := fmt.Sprintf("hostname = \"mail.test.example\"\ndata_dir = %q\ndatabase = %q\n%s\n%s[listen]\n%s", n.Dir, database, extraTOML, noLoginThrottle(extraTOML), listen.String())
	if err := os.WriteFile(n.Config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return n
}

// noLoginThrottle turns login throttling's delays and blocks off, unless
// the test configures [abuse.login] itself: every test client comes from
// 127.0.0.1, so the failed logins of tests about other things would add
// up to delays and blocks no real client population sees. The throttle's
// own tests (login_throttle_test.go) set it.
func noLoginThrottle(extraTOML string) string {
	if strings.Contains(extraTOML, "[abuse.login]") {
		return ""
	}
	return "[abuse.login]\ndelay = \"0s\"\nmax_delay = \"0s\"\nblock_after = 0\nblock_after_account = 0\nblock_after_network = 0\n"
}

// Addr is the loopback host:port of a service.
func (n *Node) Addr(service string) string {
	return fmt.Sprintf("127.0.0.1:%d", n.Ports[service])
}

// CLI runs a mailgate command against this node's config; stdin may be "".
func (n *Node) CLI(stdin string, args ...string) (string, error) {
	cmd := exec.Command(binary, append([]string{"-c", n.Config}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// MustCLI runs a command and fails the test if it fails.
func (n *Node) MustCLI(stdin string, args ...string) string {
	n.t.Helper()
	out, err := n.CLI(stdin, args...)
	if err != nil {
		n.t.Fatalf("mailgate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// AddUser adds the domain (if new) and an account with password.
func (n *Node) AddUser(addr, password string) {
	n.t.Helper()
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	if out, err := n.CLI("", "domain", "add", domain); err != nil && !strings.Contains(out, "already exists") {
		n.t.Fatalf("domain add %s: %v\n%s", domain, err, out)
	}
	n.MustCLI(password+"\n", "user", "add", addr, "--password-stdin")
}

// Start runs `mailgate serve` and waits until every listener answers. If
// the server exits first, the test fails with what it printed.
func (n *Node) Start() {
	n.t.Helper()
	n.mu.Lock()
	n.out = &bytes.Buffer{}
	argv := append(append([]string(nil), n.Wrap...), binary, "-c", n.Config, "serve")
	n.cmd = exec.Command(argv[0], argv[1:]...)
	n.cmd.Stdout, n.cmd.Stderr = lockedWriter{&n.mu, n.out}, lockedWriter{&n.mu, n.out}
	err := n.cmd.Start()
	exited := make(chan struct{})
	n.exited = exited
	if err == nil {
		go func(cmd *exec.Cmd) { cmd.Wait(); close(exited) }(n.cmd)
	}
	n.mu.Unlock()
	if err != nil {
		n.t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, s := range services {
		for !dialable(n.Addr(s)) {
			select {
			case <-exited:
				n.t.Fatalf("mailgate serve exited before %s (%s) answered:\n%s", s, n.Addr(s), n.Log())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				n.t.Fatalf("%s (%s) did not answer within 15s; server output:\n%s", s, n.Addr(s), n.Log())
			}
		}
	}
}

func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// Log returns what the server printed so far.
func (n *Node) Log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.out == nil {
		return ""
	}
	return n.out.String()
}

// Kill sends SIGKILL and waits: a crash, nothing flushed.
func (n *Node) Kill() {
	n.signal(syscall.SIGKILL)
}

// Stop sends SIGTERM and waits for the graceful shutdown.
func (n *Node) Stop() {
	n.signal(syscall.SIGTERM)
}

func (n *Node) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	if strings.Contains(n.Log(), "WARNING: DATA RACE") {
		n.t.Errorf("the server reported a data race (MAILGATE_E2E_RACE):\n%s", n.Log())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// FreePort returns a loopback TCP port for a server about to start
// (testpeer.FreePort: outside the ephemeral range, never handed out twice).
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := testpeer.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// WaitPort waits up to 15 s for addr to accept connections.
func WaitPort(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !dialable(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not open within 15s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dialTLS connects to addr over TLS, accepting the node's self-signed
// certificate; the connection is closed when the test ends.
func dialTLS(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, insecureTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readLine reads one line from r (reading c) within d and returns it
// without its line end; proto names the protocol when it fails.
func readLine(t testing.TB, c net.Conn, r *bufio.Reader, d time.Duration, proto string) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("%s read: %v", proto, err)
	}
	return strings.TrimRight(l, "\r\n")
}

// NeedTool skips the test when a command-line peer is missing (see
// MissingPeer).
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		MissingPeer(t, "%s not installed (make test installs it)", name)
	}
	return p
}

// NeedSwaksTLS is NeedTool for swaks, which also needs its TLS support:
// without Net::SSLeay (a Recommends of the swaks package) it runs, and
// fails every --tls session.
func NeedSwaksTLS(t testing.TB) string {
	t.Helper()
	p := NeedTool(t, "swaks")
	out, _ := exec.Command(p, "--support").CombinedOutput()
	if !bytes.Contains(out, []byte("=== TLS supported")) {
		MissingPeer(t, "swaks has no TLS (apt-get install libnet-ssleay-perl libio-socket-ssl-perl; make test installs them):\n%s", out)
	}
	return p
}

// MissingPeer is testpeer.MissingPeer: skip under a bare go test, fail
// under make test.
func MissingPeer(t testing.TB, format string, args ...any) {
	t.Helper()
	testpeer.MissingPeer(t, format, args...)
}

// Maildir lists the files in new/ and cur/ of an account's mailbox.
func (n *Node) Maildir(account string) []string {
	at := strings.LastIndexByte(account, '@')
	dir := filepath.Join(n.Dir, "mail", account[at+1:], account[:at])
	var out []string
	for _, sub := range []string{"new", "cur"} {
		m, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
		sortByDeliveryTime(m)
		out = append(out, m...)
	}
	return out
}

// sortByDeliveryTime orders Maildir files oldest first by the delivery
// time their names start with: seconds, then "M" and microseconds, which
// are not zero-padded, so name order is not delivery order within one
// second. Names without that form keep name order.
func sortByDeliveryTime(files []string) {
	when := func(f string) (sec, usec int64) {
		fmt.Sscanf(filepath.Base(f), "%d.M%d", &sec, &usec)
		return sec, usec
	}
	sort.SliceStable(files, func(i, j int) bool {
		si, ui := when(files[i])
		sj, uj := when(files[j])
		if si != sj || ui != uj {
			return si < sj || si == sj && ui < uj
		}
		return files[i] < files[j]
	})
}

// spoolEmpty reports whether the node's spool holds no messages and no
// temporary files.
func spoolEmpty(n *Node) bool {
	for _, sub := range []string{"msg", "tmp"} {
		m, _ := filepath.Glob(filepath.Join(n.Dir, "spool", sub, "*"))
		if len(m) > 0 {
			return false
		}
	}
	return true
}

// waitSpoolEmpty waits up to 30 s for the node's spool to empty.
func waitSpoolEmpty(t testing.TB, n *Node) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !spoolEmpty(n) {
		if time.Now().After(deadline) {
			t.Fatalf("spool not empty:\n%s\nlog:\n%s", n.MustCLI("", "queue", "list"), n.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SettledMaildir waits for the spool to empty and then lists an account's
// mailbox. Every message the node acknowledged was in the spool before its
// 250, so once the spool is empty a count of the mailbox is final:
// "nothing else arrived" checked after it can fail, unlike one checked
// after a sleep.
func (n *Node) SettledMaildir(account string) []string {
	n.t.Helper()
	waitSpoolEmpty(n.t, n)
	return n.Maildir(account)
}

// WaitMaildir waits up to 15 s for an account's mailbox to hold want
// messages and returns their paths.
func (n *Node) WaitMaildir(account string, want int) []string {
	n.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := n.Maildir(account)
		if len(got) >= want || time.Now().After(deadline) {
			if len(got) != want {
				n.t.Fatalf("mailbox %s holds %d messages, want %d\nserver log:\n%s", account, len(got), want, n.Log())
			}
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}
