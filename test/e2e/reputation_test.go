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
// the 554 naming the list and its lookup page; a client the list answers
// with an error code (127.255.255.254) is not blocked, and neither is any
// client while a second list never answers.
func TestMXRefusesDNSListedClients(t *testing.T) {
	ns := startNSD(t, map[string]string{"zen.test": `
1.0.0.127 IN A 127.0.0.2
1.0.0.127 IN TXT "listed: spam source"
2.0.0.127 IN A 127.255.255.254
`})
	n := mxNode(t, `[dns]
servers = ["`+ns.Addr+`"]
[reputation]
dnsbl_timeout = "1s"
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
	out, ok := swaksFrom(t, n, "127.0.0.1")
	if ok || !strings.Contains(out, "<** 554 5.7.1 Service unavailable; client [127.0.0.1] blocked using zen.test; see https://zen.test/lookup?ip=127.0.0.1\n") {
		t.Fatalf("listed client: want the 554 at MAIL FROM naming the list and its page:\n%s", out)
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
// 550 5.7.1 pointing at its provider's submission service. Our own
// dynamic pools are refused the same way, pointing at ours.
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
	const refusal = "<** 550 5.7.1 Client [127.0.0.5] is in dynamic (end-user) address space (127.0.0.0/8, list isp-b): send through your provider's submission service (port 587 with authentication)\n"
	waitSwaks(t, n, "127.0.0.5", refusal)

	out := n.MustCLI("", "reputation", "check", "127.0.0.1")
	for _, want := range []string{
		"reject 550 5.7.1 Client [127.0.0.1] is in dynamic (end-user) address space (127.0.0.0/8, list isp-b)",
		"ip25b: dynamic range 127.0.0.0/8 of imported list isp-b\n",
		"own pools: in none of our dynamic pools (or exempted)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("reputation check 127.0.0.1 lacks %q:\n%s", want, out)
		}
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

	// Our own dynamic pool: unauthenticated mail on port 25 from it is a
	// dynamic source too.
	n.MustCLI("", "pool", "add", "dyn-own", "--kind", "dynamic", "127.0.0.0/24")
	waitSwaks(t, n, "127.0.0.6", "<** 550 5.7.1 Client [127.0.0.6] is in our dynamic pool dyn-own (127.0.0.0/24): send through our submission service (port 587 or 465 with authentication), not port 25\n")
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
