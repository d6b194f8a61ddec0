package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// op25bLab is the topology of issue 5 §6: an edge router forwarding
// between three subscribers and three mail hosts, each on its own veth.
//
//	dyn  10.10.1.2 fd00:10:1::2  dynamic pool dyn-east (10.10.0.0/16, fd00:10::/32)
//	fix  10.10.2.2 fd00:10:2::2  static pool fixed inside it (10.10.2.0/24, fd00:10:2::/48)
//	exm  10.10.3.2 fd00:10:3::2  dynamic, with an exemption
//	relay   10.20.1.2 fd00:20:1::2  our relay
//	foreign 10.20.2.2 fd00:20:2::2  another provider's MX
//	carrier 10.20.3.2 fd00:20:3::2  a mobile carrier's MX (carrier set docomo)
type op25bLab struct {
	t      *testing.T
	node   *Node
	router string
	ns     map[string]string // short name -> namespace
}

var (
	labSubscribers = map[string]string{"dyn": "10.10.1", "fix": "10.10.2", "exm": "10.10.3"}
	labHosts       = map[string]string{"relay": "10.20.1", "foreign": "10.20.2", "carrier": "10.20.3"}
	labV6          = map[string]string{"dyn": "fd00:10:1:", "fix": "fd00:10:2:", "exm": "fd00:10:3:", "relay": "fd00:20:1:", "foreign": "fd00:20:2:", "carrier": "fd00:20:3:"}
)

func newOp25bLab(t *testing.T) *op25bLab {
	lab := newNetnsLab(t)
	l := &op25bLab{t: t, node: NewNode(t, "", ""), ns: map[string]string{}}
	l.router = lab.ns("r")
	lab.run("ip", "netns", "exec", l.router, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.default.forwarding=1")
	i := 0
	for _, group := range []map[string]string{labSubscribers, labHosts} {
		for short, v4 := range group {
			l.ns[short] = lab.ns(short)
			lab.link(l.router, l.ns[short], fmt.Sprintf("r%d", i), v4, strings.TrimSuffix(labV6[short], ":"))
			i++
		}
	}
	lab.settle()
	for short := range labHosts {
		for _, port := range []string{"25", "587", "465"} {
			serveBanner(t, l.ns[short], l.addr(short, false)+":"+port, short)
			serveBanner(t, l.ns[short], "["+l.addr(short, true)+"]:"+port, short)
		}
	}
	return l
}

// addr is a host's address in the family asked for.
func (l *op25bLab) addr(short string, v6 bool) string {
	if v6 {
		return labV6[short] + ":2"
	}
	if v, ok := labSubscribers[short]; ok {
		return v + ".2"
	}
	return labHosts[short] + ".2"
}

func (l *op25bLab) hostport(short string, v6 bool, port int) string {
	if v6 {
		return fmt.Sprintf("[%s]:%d", l.addr(short, true), port)
	}
	return fmt.Sprintf("%s:%d", l.addr(short, false), port)
}

// edge runs a mailgate command inside the router's namespace.
func (l *op25bLab) edge(args ...string) string {
	l.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.router, binary, "-c", l.node.Config}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		l.t.Fatalf("mailgate %s (in %s): %v\n%s", strings.Join(args, " "), l.router, err, out)
	}
	return string(out)
}

// expect probes from → to:port in both families and checks the outcome.
func (l *op25bLab) expect(phase, from, to string, port int, want string) {
	l.t.Helper()
	for _, v6 := range []bool{false, true} {
		got := probe(l.ns[from], l.hostport(to, v6, port), 2*time.Second)
		if want == "ok" {
			want = "ok 220 " + to
		}
		if got != want {
			fam := "IPv4"
			if v6 {
				fam = "IPv6"
			}
			l.t.Errorf("%s %s: %s -> %s:%d = %q, want %q\nkernel:\n%s", phase, fam, from, to, port, got, want, l.ruleset())
		}
	}
}

func (l *op25bLab) ruleset() string {
	out, _ := exec.Command("ip", "netns", "exec", l.router, "nft", "list", "table", "inet", "op25b").CombinedOutput()
	return string(out)
}

// TestEdgeOP25BEndToEnd programs a real kernel's netfilter in a network
// namespace with `mailgate edge apply` / `edge run` and checks every case
// of issue 5 §6 with real TCP connections, for IPv4 and IPv6, in phase 1
// and phase 2.
func TestEdgeOP25BEndToEnd(t *testing.T) {
	l := newOp25bLab(t)
	n := l.node
	// The BNG reports the dynamic subscriber's session (issue 11 §5):
	// edge report names the line behind each blocked source.
	radiusAddr, secretFile := enableRADIUS(t, n, "bng-secret")
	// Notices are queued by the CLI: the node picks them up at its scan.
	appendConfig(t, n, "[delivery]\nscan_interval = \"200ms\"\n")
	n.AddUser("dave@example.net", "dave-secret-4")
	n.Start()
	n.MustCLI("", "subscriber", "link", "sub-dyn", "dave@example.net")
	if !radclient(t, radiusAddr, secretFile, fmt.Sprintf(`Acct-Status-Type = Start, User-Name = "sub-dyn", Acct-Session-Id = "d1", NAS-Identifier = "bng1", Framed-IP-Address = %s, Framed-IPv6-Prefix = %s/64`,
		l.addr("dyn", false), l.addr("dyn", true))) {
		t.Fatal("the BNG's Start got no Accounting-Response")
	}
	n.MustCLI("", "pool", "add", "dyn-east", "--kind", "dynamic", "10.10.0.0/16", "fd00:10::/32")
	n.MustCLI("", "pool", "add", "fixed", "--kind", "static", "10.10.2.0/24", "fd00:10:2::/48")
	n.MustCLI("", "edge", "relay", "add", l.addr("relay", false), l.addr("relay", true))
	n.MustCLI("", "edge", "exempt", "add", l.addr("exm", false), "--reason", "moved to fixed-IP plan")
	n.MustCLI("", "edge", "exempt", "add", l.addr("exm", true), "--reason", "moved to fixed-IP plan", "--until", "2099-01-01")
	n.MustCLI("", "edge", "carrier", "add", "docomo", "10.20.3.0/24", "fd00:20:3::/48")
	n.MustCLI("", "edge", "scope", "carriers", "--from", "2020-01-01T00:00:00Z")

	// Another table on the router that mailgate must never touch.
	other := "table inet keepme {\n\tchain input {\n\t\ttype filter hook input priority 10; policy accept;\n\t\ttcp dport 9 counter accept\n\t}\n}\n"
	otherFile := filepath.Join(t.TempDir(), "other.nft")
	os.WriteFile(otherFile, []byte(other), 0o600)
	if out, err := exec.Command("ip", "netns", "exec", l.router, "nft", "-f", otherFile).CombinedOutput(); err != nil {
		t.Fatalf("load other table: %v\n%s", err, out)
	}
	otherBefore := l.nft("list", "table", "inet", "keepme")

	// Phase 1: only carrier-bound port 25 from dynamic space is blocked.
	if out := l.edge("edge", "apply"); !strings.Contains(out, "table created") || !strings.Contains(out, "phase 1") {
		t.Fatalf("first apply: %s", out)
	}
	if out := l.edge("edge", "apply"); !strings.Contains(out, "applied: unchanged") {
		t.Fatalf("re-applying an unchanged policy changed something: %s", out)
	}
	attempts := map[string]int{} // blocked SYNs per source address
	blocked := func(from string) {
		attempts[l.addr(from, false)]++
		attempts[l.addr(from, true)]++
	}
	l.commonCases("phase 1")
	l.expect("phase 1", "dyn", "carrier", 25, outRefused)
	blocked("dyn")
	l.expect("phase 1", "dyn", "foreign", 25, "ok")

	// Phase 2 from a moment already past: everything but our relays.
	n.MustCLI("", "edge", "scope", "all", "--from", time.Now().Add(-time.Second).UTC().Format(time.RFC3339))
	if out := l.edge("edge", "plan"); !strings.Contains(out, "scope all (phase 2)") {
		t.Fatalf("plan after the phase change:\n%s", out)
	}
	if out := l.edge("edge", "apply"); !strings.Contains(out, "rules replaced") || !strings.Contains(out, "phase 2") {
		t.Fatalf("phase 2 apply: %s", out)
	}
	l.commonCases("phase 2")
	l.expect("phase 2", "dyn", "foreign", 25, outRefused)
	blocked("dyn")
	l.expect("phase 2", "dyn", "carrier", 25, outRefused)
	blocked("dyn")
	l.expect("phase 2", "dyn", "foreign", 25, outRefused)
	blocked("dyn")

	// The library call behind `edge check` agrees with the kernel.
	if out := n.MustCLI("", "edge", "check", l.addr("dyn", false), l.addr("foreign", false)); !strings.HasPrefix(out, "block\n") || !strings.Contains(out, "pool dyn-east (dynamic) via 10.10.0.0/16") {
		t.Errorf("edge check dyn -> foreign:\n%s", out)
	}
	if out := n.MustCLI("", "edge", "check", l.addr("fix", true), l.addr("foreign", true)); !strings.HasPrefix(out, "allow\n") || !strings.Contains(out, "pool fixed (static)") {
		t.Errorf("edge check fix -> foreign:\n%s", out)
	}

	l.checkReport(attempts)

	// The other actions: drop (client times out) and ICMP admin-prohibited.
	n.MustCLI("", "edge", "action", "drop")
	l.edge("edge", "apply")
	for _, v6 := range []bool{false, true} {
		if got := probe(l.ns["dyn"], l.hostport("foreign", v6, 25), 1500*time.Millisecond); got != outTimeout {
			t.Errorf("action drop (v6=%v): dyn -> foreign:25 = %q, want %q", v6, got, outTimeout)
		}
	}
	l.expect("drop", "dyn", "foreign", 587, "ok")
	n.MustCLI("", "edge", "action", "icmp")
	l.edge("edge", "apply")
	l.expect("icmp", "dyn", "foreign", 25, outUnreachable)
	l.expect("icmp", "dyn", "foreign", 465, "ok")
	n.MustCLI("", "edge", "action", "reset")
	l.edge("edge", "apply")

	l.checkNoGap()
	l.checkRun()
	l.checkNotices()

	if after := l.nft("list", "table", "inet", "keepme"); after != otherBefore {
		t.Errorf("mailgate changed a table it does not own:\nbefore:\n%s\nafter:\n%s", otherBefore, after)
	}
}

func (l *op25bLab) nft(args ...string) string {
	l.t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", l.router, "nft"}, args...)...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("nft %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// commonCases hold in both phases.
func (l *op25bLab) commonCases(phase string) {
	l.t.Helper()
	l.expect(phase, "dyn", "relay", 25, "ok")
	for _, port := range []int{587, 465} {
		l.expect(phase, "dyn", "foreign", port, "ok")
		l.expect(phase, "dyn", "carrier", port, "ok")
	}
	for _, to := range []string{"foreign", "carrier"} {
		l.expect(phase, "fix", to, 25, "ok")
		l.expect(phase, "exm", to, 25, "ok")
	}
}

// checkReport reads `edge report` and checks it names exactly the sources
// that were blocked, with their attempt counts and pools.
func (l *op25bLab) checkReport(attempts map[string]int) {
	l.t.Helper()
	var rows []struct {
		Source       string
		Count        int
		Destinations int
		FirstSeen    time.Time
		LastSeen     time.Time
		Pool         string
		Subscriber   string
	}
	out := l.edge("edge", "report", "--format", "json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		l.t.Fatalf("report json: %v\n%s", err, out)
	}
	if len(rows) != len(attempts) {
		l.t.Errorf("report lists %d sources, want %d (%v):\n%s", len(rows), len(attempts), attempts, out)
	}
	for _, r := range rows {
		want, ok := attempts[r.Source]
		if !ok {
			l.t.Errorf("report names %s, which was never blocked", r.Source)
			continue
		}
		if r.Count != want || r.Destinations != 2 || r.Pool != "dyn-east" {
			l.t.Errorf("report for %s: count %d destinations %d pool %q, want %d, 2, dyn-east", r.Source, r.Count, r.Destinations, r.Pool, want)
		}
		// The BNG's RADIUS accounting named the line behind the source.
		if r.Subscriber != "sub-dyn (dave@example.net)" {
			l.t.Errorf("report for %s: subscriber %q, want sub-dyn (dave@example.net)", r.Source, r.Subscriber)
		}
		if r.FirstSeen.IsZero() || r.LastSeen.Before(r.FirstSeen) || time.Since(r.FirstSeen) > 5*time.Minute {
			l.t.Errorf("report for %s: first seen %v, last seen %v", r.Source, r.FirstSeen, r.LastSeen)
		}
	}
	if table := l.edge("edge", "report"); !strings.Contains(table, "SOURCE") || !strings.Contains(table, l.addr("dyn", true)) {
		l.t.Errorf("report table:\n%s", table)
	}
}

// prober connects again and again and records every outcome in order.
type prober struct {
	mu   sync.Mutex
	seen []string
	stop chan struct{}
	done chan struct{}
}

func (l *op25bLab) startProber(from, to string, v6 bool) *prober {
	p := &prober{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			got := probe(l.ns[from], l.hostport(to, v6, 25), 2*time.Second)
			p.mu.Lock()
			p.seen = append(p.seen, got)
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *prober) finish() []string {
	close(p.stop)
	<-p.done
	return p.seen
}

// transitions compresses a sequence to its runs: [ok ok refused] -> [ok refused].
// A reset right where ok turns into refused is dropped: that handshake's
// SYN passed under the old policy and its ACK met the new one (every TCP
// 25 packet from a blocked source is refused, not only SYNs). Anywhere
// else a reset stays and fails the comparison.
func transitions(seen []string) []string {
	var out []string
	for i, s := range seen {
		if s == outReset && i > 0 && i+1 < len(seen) && strings.HasPrefix(seen[i-1], "ok") && seen[i+1] == outRefused {
			continue
		}
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

// checkNoGap changes pools while probers run through the re-apply: a
// source that stays blocked must never get through, one that stays
// allowed must never be refused, and the source whose pool changed must
// switch once, never back.
func (l *op25bLab) checkNoGap() {
	l.t.Helper()
	// A big change: 20k unrelated dynamic prefixes arrive with it, and the
	// fixed pool loses the prefixes that made "fix" static.
	var b strings.Builder
	b.WriteString("pool,kind,prefix\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "bulk,dynamic,172.%d.%d.%d/30\n", 16+i/16384, (i/64)%256, (i%64)*4)
	}
	b.WriteString("fixed,static,10.10.200.0/24\nfixed,static,fd00:10:200::/48\n")
	file := filepath.Join(l.t.TempDir(), "pools.csv")
	os.WriteFile(file, []byte(b.String()), 0o600)

	for _, v6 := range []bool{false, true} {
		stays := l.startProber("dyn", "foreign", v6)
		free := l.startProber("exm", "foreign", v6)
		moves := l.startProber("fix", "foreign", v6)
		time.Sleep(300 * time.Millisecond)
		if !v6 {
			l.node.MustCLI("", "pool", "import", "--replace", file)
		} else {
			// fix back into the static pool, applied, then out again
			l.node.MustCLI("", "pool", "add", "fixed", "--kind", "static", "10.10.2.0/24", "fd00:10:2::/48")
			l.edge("edge", "apply")
			time.Sleep(200 * time.Millisecond)
			l.node.MustCLI("", "pool", "remove", "fixed", "10.10.2.0/24", "fd00:10:2::/48")
		}
		out := l.edge("edge", "apply")
		time.Sleep(300 * time.Millisecond)
		fam := fmt.Sprintf("v6=%v", v6)
		if got := transitions(stays.finish()); len(got) != 1 || got[0] != outRefused {
			l.t.Errorf("%s: dyn -> foreign:25 during re-apply saw %v, want only %q (apply: %s)", fam, got, outRefused, out)
		}
		if got := transitions(free.finish()); len(got) != 1 || got[0] != "ok 220 foreign" {
			l.t.Errorf("%s: exm -> foreign:25 during re-apply saw %v, want only ok", fam, got)
		}
		got := transitions(moves.finish())
		if v6 {
			// the v4 turn left fix dynamic; this turn made it static, then dynamic again
			if len(got) != 3 || got[0] != outRefused || got[1] != "ok 220 foreign" || got[2] != outRefused {
				l.t.Errorf("%s: fix -> foreign:25 across two pool changes saw %v, want [refused ok refused]", fam, got)
			}
			continue
		}
		if len(got) != 2 || got[0] != "ok 220 foreign" || got[1] != outRefused {
			l.t.Errorf("%s: fix -> foreign:25 across the pool change saw %v, want [ok refused] once", fam, got)
		}
	}
	if out := l.edge("edge", "apply"); !strings.Contains(out, "unchanged") {
		l.t.Errorf("re-apply after the change: %s", out)
	}
	// Reading every set back from the kernel agrees with what apply wrote.
	if out := l.edge("edge", "apply", "--verify"); !strings.Contains(out, "unchanged") {
		l.t.Errorf("verify after the change: %s", out)
	}
}

// checkRun starts `mailgate edge run` and checks it follows the store and
// the schedule by itself.
func (l *op25bLab) checkRun() {
	l.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", l.router, binary, "-c", l.node.Config, "edge", "run", "--interval", "200ms", "--record-every", "200ms")
	var out bytes.Buffer
	var mu sync.Mutex
	cmd.Stdout = lockedWriter{&mu, &out}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	waitFor := func(what string, from, to string, want string) {
		l.t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			g4 := probe(l.ns[from], l.hostport(to, false, 25), 2*time.Second)
			g6 := probe(l.ns[from], l.hostport(to, true, 25), 2*time.Second)
			if g4 == want && g6 == want {
				return
			}
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				l.t.Fatalf("edge run: %s: %s -> %s:25 = %q / %q, want %q\nrun log:\n%s", what, from, to, g4, g6, want, out.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// a store change: fix becomes static again
	l.node.MustCLI("", "pool", "add", "fixed", "--kind", "static", "10.10.2.0/24", "fd00:10:2::/48")
	waitFor("pool change", "fix", "foreign", "ok 220 foreign")
	// a scheduled change: phase 1 from four seconds from now
	l.node.MustCLI("", "edge", "scope", "carriers", "--from", time.Now().Add(4*time.Second).UTC().Format(time.RFC3339))
	l.expect("before the scheduled change", "dyn", "foreign", 25, outRefused)
	waitFor("scheduled phase 1", "dyn", "foreign", "ok 220 foreign")
	l.expect("scheduled phase 1", "dyn", "carrier", 25, outRefused)
	// an exemption that expires by itself, with no store change after it
	until := time.Now().Add(4 * time.Second).UTC().Format(time.RFC3339)
	for _, v6 := range []bool{false, true} {
		l.node.MustCLI("", "edge", "exempt", "add", l.addr("dyn", v6), "--reason", "trial", "--until", until)
	}
	waitFor("temporary exemption", "dyn", "carrier", "ok 220 carrier")
	waitFor("exemption expiry", "dyn", "carrier", outRefused)

	// edge run copies the kernel's counts to the store for the abuse desk
	deadline := time.Now().Add(10 * time.Second)
	for {
		var rows []struct {
			Source   string
			Pool     string
			Attempts int
			Routers  int
		}
		out := l.node.MustCLI("", "edge", "report", "--store", "--format", "json")
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			l.t.Fatalf("report --store: %v\n%s", err, out)
		}
		// dyn was blocked all along; fix while the no-gap check made it
		// dynamic (it is static again now); exm never.
		want := map[string]string{
			l.addr("dyn", false): "dyn-east", l.addr("dyn", true): "dyn-east",
			l.addr("fix", false): "fixed", l.addr("fix", true): "fixed",
		}
		ok := len(rows) == len(want)
		for _, r := range rows {
			if want[r.Source] != r.Pool || r.Attempts < 1 || r.Routers != 1 {
				ok = false
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("report --store after edge run, want %v:\n%s", want, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkNotices (issue 11 §5): the dynamic subscriber whose line kept
// hitting the block gets a first notice in the linked mailbox, in Japanese
// and English, audited; a second run the same day sends nothing more.
func (l *op25bLab) checkNotices() {
	l.t.Helper()
	n := l.node
	if out := n.MustCLI("", "abuse", "notices", "--threshold", "1", "--dry-run"); !strings.Contains(out, "sub-dyn") || !strings.Contains(out, "grade 1 due (dry run)") {
		l.t.Fatalf("abuse notices --dry-run:\n%s", out)
	}
	if got := n.Maildir("dave@example.net"); len(got) != 0 {
		l.t.Fatalf("a dry run delivered %v", got)
	}
	if out := n.MustCLI("", "abuse", "notices", "--threshold", "1"); !strings.Contains(out, "grade 1 sent") {
		l.t.Fatalf("abuse notices:\n%s", out)
	}
	files := n.WaitMaildir("dave@example.net", 1)
	if len(files) != 1 {
		l.t.Fatalf("dave's mailbox holds %v, want the notice", files)
	}
	msg := readFile(l.t, files[0])
	for _, want := range []string{"Auto-Submitted: auto-generated\r\n", "To: dave@example.net\r\n", "Subject: =?UTF-8?b?", "sub-dyn 様", "Outbound Port 25 Blocking"} {
		if !strings.Contains(msg, want) {
			l.t.Errorf("notice lacks %q:\n%s", want, msg)
		}
	}
	if out := n.MustCLI("", "abuse", "notices", "--threshold", "1"); !strings.Contains(out, "none: ") {
		l.t.Errorf("second run the same day:\n%s", out)
	}
	if out := n.MustCLI("", "queue", "list"); !strings.HasSuffix(out, "0 message(s) queued\n") {
		l.t.Errorf("second run queued another notice:\n%s", out)
	}
}
