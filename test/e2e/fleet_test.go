package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startFleet starts three nodes on one PostgreSQL with alice (home
// node-a) and bob (home node-b).
func startFleet(t *testing.T) []*fleetNode {
	t.Helper()
	nodes := newFleet(t, 3, fleetRetry)
	for _, n := range nodes {
		n.Start()
	}
	a := nodes[0]
	a.MustCLI("", "domain", "add", "example.net")
	if out := a.MustCLI(alicePW+"\n", "user", "add", alice, "--password-stdin", "--home", "node-a"); !strings.Contains(out, "home node of "+alice+": node-a") {
		t.Fatalf("user add --home: %s", out)
	}
	if out := nodes[2].MustCLI(bobPW+"\n", "user", "add", bob, "--password-stdin", "--home", "node-b"); !strings.Contains(out, "home node of "+bob+": node-b") {
		t.Fatalf("user add --home: %s", out)
	}
	return nodes
}

// TestFleetMailGoesHome (issue 16): alice submits to bob through each of
// three nodes; every message lands in bob's one Maildir on his home node,
// none on the others, and every spool empties.
func TestFleetMailGoesHome(t *testing.T) {
	nodes := startFleet(t)
	fleetSend(t, []*fleetNode{nodes[0], nodes[1], nodes[2]}, bob, "home", 6)
	b := nodes[1]
	got := subjects(t, b.WaitMaildir(bob, 6))
	for i := 0; i < 6; i++ {
		if got[fmt.Sprintf("home-%d", i)] != 1 {
			t.Fatalf("bob's mailbox on node-b: subjects %v, want home-0..home-5 once each", got)
		}
	}
	for _, n := range nodes {
		waitSpoolEmpty(t, n.Node)
		if n != b && len(n.Maildir(bob)) != 0 {
			t.Fatalf("%s has a copy of bob's mail: %v", n.Name, n.Maildir(bob))
		}
	}
	if !strings.Contains(nodes[0].Log(), "msg=\"handed to home node\"") || !strings.Contains(b.Log(), "fleet: handed in") {
		t.Fatalf("no hand-off logged:\nnode-a:\n%s\nnode-b:\n%s", nodes[0].Log(), b.Log())
	}

	// The registry and the homes, as the operator sees them.
	list := nodes[2].MustCLI("", "node", "list")
	for _, want := range []string{`(?m)^NODE\s+ADDRESS\s+STATE\s+LAST HEARTBEAT\s+MAILBOXES`, `(?m)^node-a\s+127\.0\.0\.1:\d+\s+up\s+\S+ \(\d+s ago\)\s+1\s`,
		`(?m)^node-b\s+127\.0\.0\.1:\d+\s+up\s+.*\s1\s`, `(?m)^node-c\s+127\.0\.0\.1:\d+\s+up\s+.*\s0\s`} {
		if !regexp.MustCompile(want).MatchString(list) {
			t.Fatalf("node list does not match %s:\n%s", want, list)
		}
	}
	users := nodes[0].MustCLI("", "user", "list")
	if !regexp.MustCompile(`(?m)^alice@example\.net\s.*\snode-a$`).MatchString(users) || !regexp.MustCompile(`(?m)^bob@example\.net\s.*\snode-b$`).MatchString(users) ||
		!strings.Contains(users, "HOME") {
		t.Fatalf("user list does not show the homes:\n%s", users)
	}
}

// TestFleetHomeDownQueuesThenDelivers: with bob's home node stopped, mail
// for him through the other nodes is accepted and queued there (never
// delivered into another node's Maildir); when his home returns, every
// message arrives exactly once.
func TestFleetHomeDownQueuesThenDelivers(t *testing.T) {
	nodes := startFleet(t)
	a, b, c := nodes[0], nodes[1], nodes[2]
	b.Stop()
	fleetSend(t, []*fleetNode{a, c}, bob, "down", 6)
	for _, n := range []*fleetNode{a, c} {
		waitQueued(t, n, 3, "home node node-b unreachable")
		if len(n.Maildir(bob)) != 0 {
			t.Fatalf("%s delivered bob's mail into its own Maildir while his home was down", n.Name)
		}
	}
	if len(b.Maildir(bob)) != 0 {
		t.Fatalf("node-b's Maildir changed while it was down")
	}
	// Logins are checked, then fail for now: the mailbox is unreachable.
	if got := loginReply(t, a.Addr("imaps"), "* OK", "a LOGIN "+bob+" "+bobPW+"\r\n", "a "); got != "a NO [UNAVAILABLE] Authentication temporarily unavailable, try again later" {
		t.Fatalf("IMAP login through node-a with node-b down: %q", got)
	}
	if got := loginReply(t, c.Addr("pop3s"), "+OK", "USER "+bob+"\r\nPASS "+bobPW+"\r\n", "-ERR [SYS"); got != "-ERR [SYS/TEMP] mailbox temporarily unavailable, try again later" {
		t.Fatalf("POP3 login through node-c with node-b down: %q", got)
	}
	if got := loginReply(t, a.Addr("imaps"), "* OK", "a LOGIN "+bob+" wrong-password\r\n", "a "); !strings.HasPrefix(got, "a NO [AUTHENTICATIONFAILED]") {
		t.Fatalf("IMAP login with a wrong password through node-a: %q", got)
	}
	b.Start()
	got := subjects(t, b.WaitMaildir(bob, 6))
	for i := 0; i < 6; i++ {
		if got[fmt.Sprintf("down-%d", i)] != 1 {
			t.Fatalf("bob's mailbox after node-b returned: %v, want down-0..down-5 once each", got)
		}
	}
	for _, n := range nodes {
		waitSpoolEmpty(t, n.Node)
	}
	if got := b.Maildir(bob); len(got) != 6 {
		t.Fatalf("bob has %d messages once every spool is empty, want 6", len(got))
	}
}

// waitQueued waits until `queue list` on n shows count messages, each
// with a last error containing reason.
func waitQueued(t *testing.T, n *fleetNode, count int, reason string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := n.MustCLI("", "queue", "list")
		if strings.Count(out, reason) >= count {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: want %d queued messages with %q:\n%s\nlog:\n%s", n.Name, count, reason, out, n.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFleetKillMidHandoffLosesNothing: twenty messages for bob wait on
// node-a while his home is down; when it returns, node-a is killed with
// SIGKILL as the first hand-off lands, then node-b likewise. After both
// restart, bob has every message exactly once: a hand-off acknowledged is
// delivered, one repeated after a crash is recognised.
func TestFleetKillMidHandoffLosesNothing(t *testing.T) {
	nodes := startFleet(t)
	a, b := nodes[0], nodes[1]
	const count = 20
	b.Stop()
	fleetSend(t, []*fleetNode{a}, bob, "kill", count)
	waitQueued(t, a, count, "home node node-b unreachable")

	b.Start()
	waitLog(t, b.Node, "fleet: handed in")
	a.Kill()
	a.Start()
	waitLog(t, b.Node, "fleet: handed in") // the log is per start: node-b's goes on
	b.Kill()
	b.Start()

	got := subjects(t, b.WaitMaildir(bob, count))
	waitSpoolEmpty(t, a.Node)
	waitSpoolEmpty(t, b.Node)
	got = subjects(t, b.Maildir(bob))
	for i := 0; i < count; i++ {
		if got[fmt.Sprintf("kill-%d", i)] != 1 {
			t.Fatalf("bob's mailbox after the crashes: %v, want kill-0..kill-%d once each\nnode-a log:\n%s\nnode-b log:\n%s", got, count-1, a.Log(), b.Log())
		}
	}
	if len(got) != count {
		t.Fatalf("bob's mailbox holds %v, want exactly the %d messages", got, count)
	}
}

// fleetReadScript logs in as bob with IMAP (implicit TLS) and POP3 (STLS)
// through the ports given and prints, per node, what each protocol saw:
// UIDVALIDITY, the UIDs and subjects, flags; POP3's count and UIDL; and
// the local ports the sessions came from.
const fleetReadScript = `
import imaplib, poplib, ssl, sys, json
user, pw, mark = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
out = []
for spec in sys.argv[4:]:
    imaps, pop3 = spec.split(",")
    h, p = imaps.rsplit(":", 1)
    m = imaplib.IMAP4_SSL(h, int(p), ssl_context=ctx)
    imap_port = m.sock.getsockname()[1]
    typ, _ = m.login(user, pw)
    typ, data = m.select("INBOX")
    uidvalidity = m.response("UIDVALIDITY")[1][0].decode()
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    msgs = []
    for d in data:
        if isinstance(d, tuple):
            msgs.append([d[0].decode(), d[1].decode().strip()])
    if mark:
        m.uid("STORE", mark, "+FLAGS", "(\\Flagged)")
    m.logout()
    h, p = pop3.rsplit(":", 1)
    q = poplib.POP3(h, int(p))
    q.stls(context=ctx)
    pop_port = q.sock.getsockname()[1]
    q.user(user); q.pass_(pw)
    count, size = q.stat()
    uidl = [l.decode() for l in q.uidl()[1]]
    q.quit()
    out.append({"imap_port": imap_port, "uidvalidity": uidvalidity, "msgs": msgs, "pop_port": pop_port, "count": count, "uidl": uidl})
    mark = ""
print(json.dumps(out))
`

// TestFleetAccessGoesHome: IMAP and POP3 through any of the three nodes
// show bob the one mailbox on his home node: same UIDVALIDITY, UIDs,
// subjects and POP3 UIDLs; a flag set through node-a is seen through
// node-c; the home node logs the client's own address, not the front's.
func TestFleetAccessGoesHome(t *testing.T) {
	NeedTool(t, "python3")
	nodes := startFleet(t)
	fleetSend(t, []*fleetNode{nodes[0], nodes[2]}, bob, "read", 3)
	nodes[1].WaitMaildir(bob, 3)
	var specs []string
	for _, n := range nodes {
		specs = append(specs, n.Addr("imaps")+","+n.Addr("pop3"))
	}
	args := append([]string{"-c", fleetReadScript, bob, bobPW, "2"}, specs...)
	raw, err := exec.Command("python3", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib/poplib: %v\n%s\nnode-a log:\n%s\nnode-b log:\n%s", err, raw, nodes[0].Log(), nodes[1].Log())
	}
	var views []struct {
		ImapPort    int         `json:"imap_port"`
		UIDValidity string      `json:"uidvalidity"`
		Msgs        [][2]string `json:"msgs"`
		PopPort     int         `json:"pop_port"`
		Count       int         `json:"count"`
		UIDL        []string    `json:"uidl"`
	}
	if err := json.Unmarshal(raw, &views); err != nil || len(views) != 3 {
		t.Fatalf("script output %q: %v", raw, err)
	}
	first := views[0]
	if len(first.Msgs) != 3 || first.Count != 3 || len(first.UIDL) != 3 {
		t.Fatalf("node-a's view of bob's mailbox: %+v", first)
	}
	for i, v := range views {
		if v.UIDValidity != first.UIDValidity || v.Count != 3 || strings.Join(v.UIDL, "|") != strings.Join(first.UIDL, "|") {
			t.Fatalf("%s shows another mailbox: %+v, node-a showed %+v", nodes[i].Name, v, first)
		}
		for j, m := range v.Msgs {
			if m[1] != first.Msgs[j][1] || !strings.Contains(m[0], "UID "+strconv.Itoa(j+1)) {
				t.Fatalf("%s message %d: %q, node-a: %q", nodes[i].Name, j, m, first.Msgs[j])
			}
		}
	}
	// UID 2 was flagged through node-a: node-b and node-c show it.
	for i := 1; i < 3; i++ {
		if !strings.Contains(views[i].Msgs[1][0], `\Flagged`) || strings.Contains(views[i].Msgs[0][0], `\Flagged`) {
			t.Fatalf("%s: flags after STORE through node-a: %q", nodes[i].Name, views[i].Msgs)
		}
	}
	// The home node's log names the client's address as the client saw
	// it, for sessions proxied from node-a and node-c.
	for _, i := range []int{0, 2} {
		want := fmt.Sprintf("remote=127.0.0.1:%d", views[i].PopPort)
		if !strings.Contains(nodes[1].Log(), want) {
			t.Fatalf("node-b's log lacks %s (POP3 through %s):\n%s", want, nodes[i].Name, nodes[1].Log())
		}
	}
	if !strings.Contains(nodes[0].Log(), `msg="imap proxy" account=bob@example.net node=node-b`) {
		t.Fatalf("node-a did not log its IMAP proxying:\n%s", nodes[0].Log())
	}
	// IMAP with STARTTLS on 143, and AUTHENTICATE PLAIN, proxy alike.
	starttls := `
import imaplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
h, p = sys.argv[1].rsplit(":", 1)
m = imaplib.IMAP4(h, int(p))
m.starttls(ssl_context=ctx)
m.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (sys.argv[2], sys.argv[3])).encode())
typ, data = m.select("INBOX", readonly=True)
print(typ, data[0].decode())
m.logout()
`
	if out, err := exec.Command("python3", "-c", starttls, nodes[2].Addr("imap"), bob, bobPW).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "OK 3" {
		t.Fatalf("STARTTLS + AUTHENTICATE PLAIN through node-c: %v\n%s", err, out)
	}
	// Only the home node holds bob's Maildir.
	for _, i := range []int{0, 2} {
		if _, err := os.Stat(filepath.Join(nodes[i].Dir, "mail", "example.net", "bob")); err == nil {
			t.Fatalf("%s created a Maildir for bob", nodes[i].Name)
		}
	}
}

// loginReply connects over TLS, waits for a greeting starting with greet,
// sends cmds and returns the first line starting with prefix.
func loginReply(t *testing.T, addr, greet, cmds, prefix string) string {
	t.Helper()
	c := dialTLS(t, addr)
	r := bufio.NewReader(c)
	if l := readLine(t, c, r, 5*time.Second, "greeting"); !strings.HasPrefix(l, greet) {
		t.Fatalf("greeting from %s: %q", addr, l)
	}
	if _, err := io.WriteString(c, cmds); err != nil {
		t.Fatal(err)
	}
	for {
		if l := readLine(t, c, r, 10*time.Second, "login"); strings.HasPrefix(l, prefix) {
			return l
		}
	}
}

// TestFleetAliasAndTargetOneCopy: a message to bob's alias and to bob,
// taken by node-a's MX, is handed to bob's home (node-b) for both
// recipients in one LMTP transaction, each answered there; node-b's
// delivery puts one copy in bob's Maildir.
func TestFleetAliasAndTargetOneCopy(t *testing.T) {
	nodes := startFleet(t)
	const info = "info@example.net"
	nodes[0].MustCLI("", "alias", "add", info, bob)
	out := swaksMX(t, nodes[0].Node, "sender@remote.example", info+","+bob, []byte("From: sender@remote.example\r\nSubject: alias and target\r\n\r\nonce\r\n"))
	wantReply(t, out, "<-  250 2.0.0 OK queued as ")
	waitSpoolEmpty(t, nodes[0].Node)
	b := nodes[1]
	if got := b.SettledMaildir(bob); len(got) != 1 {
		t.Fatalf("bob's Maildir on node-b holds %d messages, want 1\nnode-a:\n%s\nnode-b:\n%s", len(got), nodes[0].Log(), b.Log())
	}
	if !strings.Contains(b.Log(), "rcpts="+info+","+bob) || !strings.Contains(b.Log(), `msg="same mailbox as an earlier recipient: delivered once"`) {
		t.Fatalf("node-b did not take both recipients and fold them:\n%s", b.Log())
	}
}
