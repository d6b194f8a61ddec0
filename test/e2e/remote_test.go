package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"mailgate/internal/dns"
	"mailgate/internal/loadgen"
)

const (
	rmSender   = "carol@ours.test"
	rmSenderPW = "carol-secret-9"
)

// remoteNode makes a node whose remote MXs listen on port and whose
// resolver is d, with short retry timings; settings override [delivery].
func remoteNode(t *testing.T, d *testDNS, port int, settings map[string]string) *Node {
	t.Helper()
	del := map[string]string{
		"remote_port": fmt.Sprint(port), "retry_initial": `"300ms"`, "retry_max": `"1s"`,
		"scan_interval": `"200ms"`, "lifetime": `"1h"`, "delay_warning": `"0s"`,
	}
	for k, v := range settings {
		del[k] = v
	}
	keys := make([]string, 0, len(del))
	for k := range del {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("[delivery]\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, del[k])
	}
	fmt.Fprintf(&b, "[dns]\nservers = [%q]\ntimeout = \"2s\"\n", d.Addr)
	n := NewNode(t, "", b.String())
	n.AddUser(rmSender, rmSenderPW)
	return n
}

// submit sends one message as rmSender over authenticated submission.
func submit(t *testing.T, n *Node, to []string, body []byte) {
	t.Helper()
	s, err := loadgen.Open(context.Background(), loadgen.Target{Addr: n.Addr("submission"), User: rmSender, Password: rmSenderPW, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Send(rmSender, to, body); err != nil {
		t.Fatal(err)
	}
}

func toCRLF(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// waitQueue waits until `mailgate queue list` matches re.
func waitQueue(t *testing.T, n *Node, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := n.MustCLI("", "queue", "list")
		if rx.MatchString(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue list never matched %q:\n%s\nlog:\n%s", re, out, n.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRemoteDeliveryToPostfixOverSTARTTLSSignedAndReused: three messages
// to a domain whose MX is a real Postfix offering STARTTLS arrive over TLS,
// byte-for-byte (but for a too-long line, broken), DKIM-signed (verified by go-msgauth and by dkimpy against
// the key published in the test DNS), over one reused connection.
func TestRemoteDeliveryToPostfixOverSTARTTLSSignedAndReused(t *testing.T) {
	ca := newTestCA(t)
	cert, key := ca.issue(t, true, "mx.far.test")
	port := FreePort(t)
	pf := startRemotePostfix(t, "127.0.0.1", port, "far.test", cert, key)
	d := startDNS(t, "far.test. 60 IN MX 10 mx.far.test.", "mx.far.test. 60 IN A 127.0.0.1")
	n := remoteNode(t, d, port, map[string]string{"concurrency_per_destination": "1"})
	rec := n.MustCLI("", "dkim", "keygen", "ours.test", "--selector", "sel1")
	d.add(t, strings.TrimSpace(rec)) // the printed record is valid zone syntax
	n.Start()

	body := "From: Carol <carol@ours.test>\r\nTo: <dave@far.test>\r\nSubject: remote %d\r\nMessage-ID: <remote-%d@ours.test>\r\n\r\n" +
		"line one\r\n.leading dot\r\n.\r\n..two dots\r\ntrailing space \r\n" + strings.Repeat("L", 1500) + "\r\nend\r\n"
	for i := 1; i <= 3; i++ {
		submit(t, n, []string{"dave@far.test"}, []byte(fmt.Sprintf(body, i, i)))
	}
	got := pf.wait(t, 3, n)
	waitSpoolEmpty(t, n)
	for _, m := range got {
		m = toCRLF(m)
		header, b := splitMessage(t, m)
		// The 1500-octet line is broken at 998 (RFC 5322 §2.1.1) before
		// signing, so the signature still verifies.
		if b != "line one\r\n.leading dot\r\n.\r\n..two dots\r\ntrailing space \r\n"+strings.Repeat("L", 998)+"\r\n "+strings.Repeat("L", 502)+"\r\nend\r\n" {
			t.Errorf("body arrived as %q", b)
		}
		if !regexp.MustCompile(`\(using TLSv1\.[23] with cipher`).MatchString(header) {
			t.Errorf("Postfix did not record TLS in Received:\n%s", header)
		}
		if headerCount(header, "DKIM-Signature") != 1 || !strings.Contains(header, "d=ours.test") || !strings.Contains(header, "s=sel1") {
			t.Fatalf("no DKIM-Signature d=ours.test s=sel1:\n%s", header)
		}
		verifyDKIMGo(t, d, m)
		verifyDKIMPy(t, d, m)
	}
	// Connections with a transaction: all, less WaitPort's probe.
	log := pf.Log()
	c := len(regexp.MustCompile(`smtpd\[\d+\]: connect from`).FindAllString(log, -1)) - strings.Count(log, "lost connection after CONNECT")
	if c != 1 {
		t.Errorf("Postfix saw %d connections for 3 messages, want 1 (reuse)\n%s", c, pf.Log())
	}
}

func verifyDKIMGo(t *testing.T, d *testDNS, m string) {
	t.Helper()
	r := dns.New([]string{d.Addr}, 2*time.Second)
	v, err := dkim.VerifyWithOptions(strings.NewReader(m), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return r.LookupTXT(context.Background(), name) },
	})
	if err != nil || len(v) != 1 || v[0].Err != nil {
		t.Fatalf("go-msgauth verification: %v %+v", err, v)
	}
}

// dkimpyVerify is dkimpy's dkim.verify with a dnsfunc asking the test DNS
// server through dnspython (dkimverify itself can only use resolv.conf).
const dkimpyVerify = `
import sys, dkim, dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = [sys.argv[2]]
r.port = int(sys.argv[3])
def txt(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    return b"".join(r.resolve(name, "TXT")[0].strings)
ok = dkim.verify(open(sys.argv[1], "rb").read(), dnsfunc=txt)
print("dkim:", ok)
sys.exit(0 if ok else 1)
`

func verifyDKIMPy(t *testing.T, d *testDNS, m string) {
	t.Helper()
	if _, err := os.Stat("/usr/lib/python3/dist-packages/dkim"); err != nil {
		MissingPeer(t, "python3-dkim not installed (make test installs it)")
	}
	f := filepath.Join(t.TempDir(), "msg.eml")
	os.WriteFile(f, []byte(m), 0o600)
	host, port, _ := strings.Cut(d.Addr, ":")
	out, err := exec.Command("/usr/bin/python3", "-c", dkimpyVerify, f, host, port).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("dkim: True")) {
		t.Fatalf("dkimpy verification failed: %v\n%s", err, out)
	}
}

// TestRemoteTempFailureIsRetriedOverIPv6: the MX (IPv6 only) answers 450 to
// RCPT; the message stays queued with that error and is retried; once the
// MX accepts, it is delivered once and leaves the queue.
func TestRemoteTempFailureIsRetriedOverIPv6(t *testing.T) {
	port := FreePort(t)
	s := startSink(t, "::1", port, "", "-r", "RCPT")
	d := startDNS(t, "tmp.test. 60 IN MX 10 mx6.tmp.test.", "mx6.tmp.test. 60 IN AAAA ::1")
	n := remoteNode(t, d, port, nil)
	n.Start()
	submit(t, n, []string{"erin@tmp.test"}, []byte(msg(rmSender, "erin@tmp.test", "retry me", "body\r\n")))
	waitQueue(t, n, `erin@tmp\.test\s+[2-9]\s.*450 4\.3\.0 Error: command failed`)
	if len(s.messages()) != 0 {
		t.Fatal("sink stored a message it refused")
	}
	s.stop()
	s2 := startSink(t, "::1", port, s.Dir)
	got := s2.wait(t, 1, n)
	waitSpoolEmpty(t, n)
	if !strings.Contains(got[0], "X-Rcpt-Args: <erin@tmp.test>") || !strings.Contains(got[0], "Subject: retry me") {
		t.Fatalf("sink got %q", got[0])
	}
	if len(s2.messages()) != 1 {
		t.Fatalf("delivered %d times", len(s2.messages()))
	}
}

// readDSN returns the one DSN in rmSender's mailbox.
func readDSNs(t *testing.T, n *Node, want int) []string {
	t.Helper()
	var out []string
	for _, p := range n.WaitMaildir(rmSender, want) {
		out = append(out, readFile(t, p))
	}
	sort.Strings(out)
	return out
}

func mustContain(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("missing %q in:\n%s", w, s)
		}
	}
}

// TestRemotePermanentFailureBouncesToLocalSender: a 5xx to RCPT fails the
// recipient at once; rmSender gets an RFC 3464 report in her Maildir.
func TestRemotePermanentFailureBouncesToLocalSender(t *testing.T) {
	port := FreePort(t)
	startSink(t, "127.0.0.4", port, "", "-f", "RCPT", "-B", "550 5.1.1 Error: no such user here")
	d := startDNS(t, "perm.test. 60 IN MX 10 mx.perm.test.", "mx.perm.test. 60 IN A 127.0.0.4")
	n := remoteNode(t, d, port, nil)
	n.Start()
	submit(t, n, []string{"nobody@perm.test"}, []byte(msg(rmSender, "nobody@perm.test", "doomed", "body\r\n")))
	dsn := readDSNs(t, n, 1)[0]
	waitSpoolEmpty(t, n)
	onlyCRLF(t, dsn)
	mustContain(t, dsn,
		"From: Mail Delivery System <MAILER-DAEMON@mail.test.example>\r\n",
		"To: <carol@ours.test>\r\n",
		"Auto-Submitted: auto-replied\r\n",
		"Content-Type: multipart/report; report-type=delivery-status;",
		"Content-Type: message/delivery-status\r\n",
		"Reporting-MTA: dns; mail.test.example\r\n",
		"Final-Recipient: rfc822; nobody@perm.test\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.perm.test\r\n",
		"Diagnostic-Code: smtp; 550 5.1.1 Error: no such user here\r\n",
		"Content-Type: text/rfc822-headers\r\n",
		"Subject: doomed\r\n")
	if strings.Contains(dsn, "\r\nbody\r\n") {
		t.Error("DSN returned the body; only headers are returned")
	}
}

// TestRemoteUnreachableWarnsThenExpires: nothing listens at the MX; the
// message is retried, the sender gets one "delayed" notice, then at the
// end of its lifetime a failure report (4.4.7) and it leaves the queue.
func TestRemoteUnreachableWarnsThenExpires(t *testing.T) {
	port := FreePort(t)
	d := startDNS(t, "down.test. 60 IN MX 10 mx.down.test.", "mx.down.test. 60 IN A 127.0.0.5")
	n := remoteNode(t, d, port, map[string]string{"lifetime": `"4s"`, "delay_warning": `"1s"`, "connect_timeout": `"1s"`})
	n.Start()
	submit(t, n, []string{"frank@down.test"}, []byte(msg(rmSender, "frank@down.test", "unreachable", "body\r\n")))
	dsns := readDSNs(t, n, 2)
	waitSpoolEmpty(t, n)
	var delayed, failed string
	for _, m := range dsns {
		if strings.Contains(m, "Action: delayed") {
			delayed = m
		} else {
			failed = m
		}
	}
	mustContain(t, delayed, "Subject: Delayed Mail (still being retried)\r\n",
		"Final-Recipient: rfc822; frank@down.test\r\nAction: delayed\r\nStatus: 4.4.1\r\n", "connection refused",
		"\r\nWill-Retry-Until: ", "Delivery will be attempted until ")
	mustContain(t, failed, "Subject: Undelivered Mail Returned to Sender\r\n",
		"Final-Recipient: rfc822; frank@down.test\r\nAction: failed\r\nStatus: 4.4.7\r\n",
		"Diagnostic-Code: X-mailgate; 4.4.7 message expired after 4s in the queue; last error: 451 4.4.1 dial tcp 127.0.0.5:",
		"connection refused", "Subject: unreachable\r\n")
}

// TestRemoteNullMXFailsAtOnce: RFC 7505 null MX: no attempt, no retry, an
// immediate failure report with 5.1.10.
func TestRemoteNullMXFailsAtOnce(t *testing.T) {
	d := startDNS(t, "null.test. 60 IN MX 0 .")
	n := remoteNode(t, d, FreePort(t), nil)
	n.Start()
	submit(t, n, []string{"gina@null.test"}, []byte(msg(rmSender, "gina@null.test", "to nowhere", "body\r\n")))
	dsn := readDSNs(t, n, 1)[0]
	waitSpoolEmpty(t, n)
	mustContain(t, dsn, "Final-Recipient: rfc822; gina@null.test\r\nAction: failed\r\nStatus: 5.1.10\r\n",
		"Diagnostic-Code: smtp; 556 5.1.10 domain null.test accepts no mail (null MX, RFC 7505)\r\n")
	if strings.Contains(n.Log(), "remote delivery") {
		t.Errorf("a connection was attempted:\n%s", n.Log())
	}
}
