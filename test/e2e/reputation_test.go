package e2e

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/testpeer"
)

// swaksFrom sends one message to the MX from source address src and
// returns what swaks printed and whether the transaction succeeded.
func swaksFrom(t *testing.T, n *Node, src string, headers ...string) (string, bool) {
	t.Helper()
	swaks := NeedTool(t, "swaks")
	args := []string{"-s", n.Addr("mx"), "-li", src, "--ehlo", "sender.test.example",
		"-f", "bob@remote.example", "-t", "alice@example.net", "--header", "Subject: from " + src}
	for _, h := range headers {
		args = append(args, "--add-header", h)
	}
	out, err := exec.Command(swaks, args...).CombinedOutput()
	return string(out), err == nil
}

// bannerPy connects to the MX from SRC with smtplib, prints the greeting,
// then sends EHLO, MAIL FROM and QUIT printing each reply, then whether
// the server closed the connection.
const bannerPy = `
import os, smtplib, socket
s = smtplib.SMTP()
s.sock = socket.create_connection(("127.0.0.1", int(os.environ["MX"])), timeout=30, source_address=(os.environ["SRC"], 0))
code, msg = s.getreply()
print(code, msg.decode())
for cmd in ["EHLO sender.test.example", "MAIL FROM:<bob@remote.example>", "QUIT"]:
    code, msg = s.docmd(cmd)
    print(code, msg.decode().split("\n")[0])
print("closed" if s.sock.recv(1) == b"" else "still open")
`

// greetingTranscript is bannerPy's output for a client at src.
func greetingTranscript(t *testing.T, n *Node, src string) string {
	t.Helper()
	return runPyStdin(t, bannerPy, "", "MX="+portOf(n, "mx"), "SRC="+src)
}

// refusedTranscript is what a client refused at connect sees: the
// refusal instead of the 220 greeting, 503 to everything until QUIT, 221
// and the close (RFC 5321 §3.1).
func refusedTranscript(refusal string) string {
	const notNow = "503 5.5.1 Bad sequence of commands: this connection was refused, send QUIT\n"
	return refusal + "\n" + notNow + notNow + "221 2.0.0 Bye\nclosed\n"
}

// greetedTranscript is what bannerPy prints for a client that is greeted
// and accepted at MAIL FROM.
const greetedTranscript = "220 mail.test.example ESMTP Service Ready\n250 Hello sender.test.example\n250 2.0.0 Roger, accepting mail from <bob@remote.example>\n221 2.0.0 Bye\nclosed\n"

// silentUDP is a DNS server address that never answers: a bound UDP
// socket nobody reads from, so queries time out rather than fail fast.
func silentUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func startNSD(t *testing.T, zones map[string]string) *testpeer.NSD {
	t.Helper()
	NeedTool(t, "nsd")
	ns, err := testpeer.StartNSD(zones)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Stop)
	return ns
}

// A DNS list served by a real DNS server (nsd): the client it lists gets
// the 554 naming the list and its lookup page instead of the greeting
// (issue 8 §5: refused at connect), then 503 until it quits, and so does
// one it answers with a PBL-style code (dynamic space); a client the
// list answers with an error code (127.255.255.254) is not blocked, and
// neither is any client while a second list never answers: it is greeted
// once connect_wait is over and its mail delivered.
func TestMXRefusesDNSListedClients(t *testing.T) {
	ns := startNSD(t, map[string]string{"zen.test": `
1.0.0.127 IN A 127.0.0.2
1.0.0.127 IN TXT "listed: spam source"
2.0.0.127 IN A 127.255.255.254
4.0.0.127 IN A 127.0.0.10
`})
	n := mxNode(t, `[dns]
servers = ["`+ns.Addr+`"]
[reputation]
dnsbl_timeout = "1s"
connect_wait = "1s"
[[reputation.dnsbl]]
zone = "zen.test"
url = "https://zen.test/lookup?ip={ip}"
action = "reject"
[[reputation.dnsbl]]
zone = "silent.test"
url = "https://silent.test/"
action = "reject"
servers = ["`+silentUDP(t)+`"]
`)
	const refusal = "554 5.7.1 Service unavailable; client [127.0.0.1] blocked using zen.test; see https://zen.test/lookup?ip=127.0.0.1"
	if got := greetingTranscript(t, n, "127.0.0.1"); got != refusedTranscript(refusal) {
		t.Fatalf("listed client: want the 554 instead of the greeting, then 503 until QUIT; got:\n%swant:\n%s", got, refusedTranscript(refusal))
	}
	out, ok := swaksFrom(t, n, "127.0.0.1")
	if ok || !strings.Contains(out, "<** "+refusal+"\n") || strings.Contains(out, "-> EHLO") {
		t.Fatalf("listed client: swaks should get the 554 as the banner:\n%s", out)
	}
	// A PBL-style answer (127.0.0.10): dynamic address space, refused
	// before the greeting too, with 554 (RFC 5321 §4.3.2), not 550.
	const dynamic = "554 5.7.1 Client [127.0.0.4] is in dynamic (end-user) address space (listed by zen.test): send through your provider's submission service (port 587 with authentication); see https://mail.test.example/check"
	if got := greetingTranscript(t, n, "127.0.0.4"); got != refusedTranscript(dynamic) {
		t.Fatalf("PBL-style answer:\n%swant:\n%s", got, refusedTranscript(dynamic))
	}
	if got := greetingTranscript(t, n, "127.0.0.2"); got != greetedTranscript {
		t.Fatalf("a 127.255.255.254 answer (an error code) and a list that never answers must not block the greeting:\n%s", got)
	}
	if out, ok := swaksFrom(t, n, "127.0.0.2"); !ok {
		t.Fatalf("a 127.255.255.254 answer (an error code) and a list that never answers must not block:\n%s", out)
	}
	if out, ok := swaksFrom(t, n, "127.0.0.3"); !ok {
		t.Fatalf("unlisted client:\n%s", out)
	}
	files := n.WaitMaildir("alice@example.net", 2)
	for _, f := range files {
		if msg := readFile(t, f); !strings.HasPrefix(msg, "Received: ") || !strings.Contains(msg, "\r\nX-Mailgate-Reputation: score=") {
			t.Errorf("delivered message lacks our reputation field after Received:\n%s", msg)
		}
	}

	out = n.MustCLI("", "reputation", "check", "127.0.0.2")
	for _, want := range []string{"accept\n", "dnsbl zen.test: not listed (ignored answers 127.255.255.254", "dnsbl silent.test: no answer"} {
		if !strings.Contains(out, want) {
			t.Errorf("reputation check 127.0.0.2 lacks %q:\n%s", want, out)
		}
	}
}

// IP25B: another mailgate ISP publishes its dynamic pools with `edge
// feed`; imported here (from a file and from a URL), a source in them gets
// 554 5.7.1 instead of the greeting, pointing at its provider's submission
// service and our self-check page (554, not the 550: RFC 5321
// §4.3.2 allows only 220 or 554 at connection opening). Our own dynamic
// pools are greeted, even inside an imported range, and refused at MAIL
// FROM as before, pointing at our submission service: they may
// authenticate.
func TestMXRefusesDynamicSources(t *testing.T) {
	other := NewNode(t, "", "")
	other.MustCLI("", "pool", "add", "dyn-loop", "--kind", "dynamic", "127.0.0.0/8")
	feed := other.MustCLI("", "edge", "feed", "--format", "json")
	feedFile := filepath.Join(t.TempDir(), "isp-b.json")
	if err := os.WriteFile(feedFile, []byte(feed), 0o644); err != nil {
		t.Fatal(err)
	}

	n := mxNode(t, "[reputation]\nrdns = \"off\"\n")
	if out, ok := swaksFrom(t, n, "127.0.0.5"); !ok {
		t.Fatalf("before the import:\n%s", out)
	}
	if out := n.MustCLI("", "reputation", "import", "isp-b", feedFile); out != "list isp-b: 1 prefixes from "+feedFile+"\n" {
		t.Fatalf("import: %q", out)
	}
	const refusal = "554 5.7.1 Client [127.0.0.5] is in dynamic (end-user) address space (127.0.0.0/8, list isp-b): send through your provider's submission service (port 587 with authentication); see https://mail.test.example/check"
	waitSwaks(t, n, "127.0.0.5", "<** "+refusal+"\n")
	if got := greetingTranscript(t, n, "127.0.0.5"); got != refusedTranscript(refusal) {
		t.Fatalf("IP25B source: want the 554 instead of the greeting, then 503 until QUIT; got:\n%swant:\n%s", got, refusedTranscript(refusal))
	}

	out := n.MustCLI("", "reputation", "check", "127.0.0.1")
	for _, want := range []string{
		"reject 550 5.7.1 Client [127.0.0.1] is in dynamic (end-user) address space (127.0.0.0/8, list isp-b)",
		"ip25b: dynamic range 127.0.0.0/8 of imported list isp-b\n",
		"own pools: in none of our dynamic pools (or exempted)\n",
		"  refused at connect: 554 instead of the 220 greeting\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("reputation check 127.0.0.1 lacks %q:\n%s", want, out)
		}
	}

	// Our own dynamic pool, inside the imported range: greeted, and
	// unauthenticated mail on port 25 from it refused at MAIL FROM.
	n.MustCLI("", "pool", "add", "dyn-own", "--kind", "dynamic", "127.0.0.6/32")
	waitSwaks(t, n, "127.0.0.6", "<** 550 5.7.1 Client [127.0.0.6] is in our dynamic pool dyn-own (127.0.0.6/32): send through our submission service (port 587 or 465 with authentication), not port 25; see https://mail.test.example/check\n")
	if out := n.MustCLI("", "reputation", "check", "127.0.0.6"); !strings.HasSuffix(out, "  refused at MAIL FROM\n") {
		t.Errorf("reputation check of our own pool:\n%s", out)
	}
	if got := greetingTranscript(t, n, "127.0.0.6"); !strings.HasPrefix(got, "220 mail.test.example ESMTP Service Ready\n250 Hello sender.test.example\n550 5.7.1 Client [127.0.0.6] is in our dynamic pool dyn-own") {
		t.Fatalf("own pool: greeted, refused at MAIL FROM:\n%s", got)
	}

	// The same feed as CSV over HTTP replaces the list; removing it lets
	// the source through again.
	csv := other.MustCLI("", "edge", "feed", "--format", "csv")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(csv)) }))
	defer srv.Close()
	if out := n.MustCLI("", "reputation", "import", "isp-b", srv.URL+"/feed.csv"); !strings.Contains(out, "1 prefixes") {
		t.Fatalf("import from URL: %q", out)
	}
	if out := n.MustCLI("", "reputation", "list"); !strings.Contains(out, "isp-b  1 ") || !strings.Contains(out, srv.URL+"/feed.csv") {
		t.Fatalf("list: %s", out)
	}
	if out, err := n.CLI("", "reputation", "import", "isp-c", filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Fatalf("import of a missing file succeeded: %s", out)
	}
	n.MustCLI("", "reputation", "remove", "isp-b")
	waitSwaks(t, n, "127.0.0.5", "<-  250 2.0.0 OK queued")
	if got := greetingTranscript(t, n, "127.0.0.5"); got != greetedTranscript {
		t.Fatalf("after the list is removed:\n%s", got)
	}
}

// waitSwaks sends from src until swaks prints want: a running node
// rereads the lists and pools within a few seconds of a CLI change.
func waitSwaks(t *testing.T, n *Node, src, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, _ := swaksFrom(t, n, src)
		if strings.Contains(out, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("from %s: no %q within 15s; last try:\n%s", src, want, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Reverse DNS from a real DNS server: with rdns = "reject-unconfirmed" a
// client without a PTR and one whose PTR does not resolve back are
// refused with 550 5.7.25; a forward-confirmed generic name is accepted
// and only scored, in the message's X-Mailgate-Reputation field.
func TestMXJudgesReverseDNS(t *testing.T) {
	ns := startNSD(t, map[string]string{
		"0.0.127.in-addr.arpa": `
7 IN PTR dyn-127-0-0-7.pool.test.
8 IN PTR elsewhere.test.
`,
		"pool.test":      "dyn-127-0-0-7 IN A 127.0.0.7\n",
		"elsewhere.test": "@ IN A 192.0.2.1\n",
	})
	n := mxNode(t, `[dns]
servers = ["`+ns.Addr+`"]
[reputation]
rdns = "reject-unconfirmed"
`)
	if out, ok := swaksFrom(t, n, "127.0.0.9"); ok || !strings.Contains(out, "<** 550 5.7.25 Client [127.0.0.9] has no reverse DNS (PTR) record\n") {
		t.Fatalf("no PTR:\n%s", out)
	}
	if out, ok := swaksFrom(t, n, "127.0.0.8"); ok || !strings.Contains(out, "<** 550 5.7.25 Client [127.0.0.8]: reverse DNS name elsewhere.test does not resolve back to the address\n") {
		t.Fatalf("unconfirmed PTR:\n%s", out)
	}
	// The sender claims a clean score: its field must not reach the box.
	if out, ok := swaksFrom(t, n, "127.0.0.7", "X-Mailgate-Reputation: score=0; forged"); !ok {
		t.Fatalf("confirmed generic name:\n%s", out)
	}
	msg := readFile(t, n.WaitMaildir("alice@example.net", 1)[0])
	if strings.Contains(msg, "forged") || strings.Count(msg, "X-Mailgate-Reputation:") != 1 {
		t.Errorf("the forged X-Mailgate-Reputation field is still there:\n%s", msg)
	}
	// The Received field names the client as the reputation check saw it.
	if want := " (dyn-127-0-0-7.pool.test [127.0.0.7])"; !strings.Contains(msg, want) {
		t.Errorf("Received field lacks the verified name %q:\n%s", want, msg)
	}
	if want := "\r\nX-Mailgate-Reputation: score=1; rdns: PTR dyn-127-0-0-7.pool.test, forward-confirmed; generic name, the address is embedded in the name (its four numbers): score 1\r\n"; !strings.Contains(msg, want) {
		t.Fatalf("message lacks %q:\n%s", want, msg)
	}
}
