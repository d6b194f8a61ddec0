package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailgate/internal/certs"
)

// TestTLSSessionResumesOnAnotherNode: behind a load balancer a client's
// next connection lands on another node. With the ticket keys in the
// store, OpenSSL's s_client resumes on node-b a session it got from
// node-a (RFC 8446 §2.2: no certificate, no signature) on every TLS
// service (STARTTLS or implicit; HTTPS serves a Clone of the config), and
// still after node-b restarts; Python's ssl
// module does the same on IMAPS. Without shared keys each node has its
// own random key and the second handshake is a full one ("New").
func TestTLSSessionResumesOnAnotherNode(t *testing.T) {
	NeedTool(t, "openssl")
	NeedTool(t, "python3")
	// The fleet's nodes serve one name with one certificate.
	dir := t.TempDir()
	if _, err := certs.Load("", "", dir, "mail.test.example"); err != nil {
		t.Fatal(err)
	}
	extra := fmt.Sprintf("[tls]\ncert_file = %q\nkey_file = %q\n", filepath.Join(dir, "selfsigned.crt"), filepath.Join(dir, "selfsigned.key"))
	nodes := newFleet(t, 2, extra)
	a, b := nodes[0], nodes[1]
	for _, n := range nodes {
		n.Start()
	}
	for _, svc := range []struct{ name, starttls string }{
		{"submission", "smtp"}, {"submissions", ""}, {"mx", "smtp"}, {"imap", "imap"}, {"imaps", ""},
		{"pop3", "pop3"}, {"pop3s", ""}, {"managesieve", "sieve"}, {"https", ""},
	} {
		sess := filepath.Join(t.TempDir(), svc.name+".pem")
		if got := sClient(t, a.Addr(svc.name), svc.starttls, "-sess_out", sess); got != "New, TLSv1.3" {
			t.Fatalf("%s on node-a: %q, want a full TLS 1.3 handshake", svc.name, got)
		}
		if got := sClient(t, b.Addr(svc.name), svc.starttls, "-sess_in", sess); got != "Reused, TLSv1.3" {
			t.Fatalf("%s on node-b with node-a's session: %q, want Reused, TLSv1.3\nnode-b's log:\n%s", svc.name, got, b.Log())
		}
	}

	sess := filepath.Join(t.TempDir(), "imaps.pem")
	sClient(t, a.Addr("imaps"), "", "-sess_out", sess)
	b.Stop()
	b.Start()
	if got := sClient(t, b.Addr("imaps"), "", "-sess_in", sess); got != "Reused, TLSv1.3" {
		t.Fatalf("imaps on node-b after its restart: %q, want Reused, TLSv1.3", got)
	}

	out, err := exec.Command("python3", "-c", pythonResumeScript, a.Addr("imaps"), b.Addr("imaps")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "False True" {
		t.Fatalf("Python ssl, IMAPS on node-a then node-b: %v %q, want \"False True\" (session_reused)", err, out)
	}
}

// TestFleetInternalSessionResumesAfterRestart: the fleet's internal
// channel (mutual TLS) issues tickets under the store's keys too, so a
// node's session with a peer resumes after the peer restarts (with a
// per-process key the restarted peer could not read the ticket: "New").
// OpenSSL's s_client stands in for node-a, with node-a's certificate.
func TestFleetInternalSessionResumesAfterRestart(t *testing.T) {
	NeedTool(t, "openssl")
	nodes := newFleet(t, 2, "")
	a, b := nodes[0], nodes[1]
	for _, n := range nodes {
		n.Start()
	}
	internal := func(args ...string) string {
		return sClientSaying(t, fmt.Sprintf("127.0.0.1:%d", b.Internal), "", "QUIT\n", append([]string{
			"-cert", a.CertFile, "-key", a.KeyFile, "-CAfile", b.CAFile, "-verify_return_error",
			"-servername", b.Name, "-alpn", "mailgate-lmtp"}, args...)...)
	}
	sess := filepath.Join(t.TempDir(), "internal.pem")
	if got := internal("-sess_out", sess); got != "New, TLSv1.3" {
		t.Fatalf("node-a to node-b: %q, want a full TLS 1.3 handshake", got)
	}
	b.Stop()
	b.Start()
	if got := internal("-sess_in", sess); got != "Reused, TLSv1.3" {
		t.Fatalf("node-a to node-b after node-b's restart: %q, want Reused, TLSv1.3\nnode-b's log:\n%s", got, b.Log())
	}
}

// TestTLSSessionTicketsOff: ticket_key_rotation = "off" sends no session
// ticket, so s_client has no TLS 1.3 session to save (it writes
// -sess_out only once a ticket arrived): every handshake is a full one.
// With the default it gets one, even from a node on its own.
func TestTLSSessionTicketsOff(t *testing.T) {
	NeedTool(t, "openssl")
	for _, c := range []struct {
		extra  string
		ticket bool
	}{{"[tls]\nticket_key_rotation = \"off\"\n", false}, {"", true}} {
		n := NewNode(t, "", c.extra)
		n.Start()
		sess := filepath.Join(t.TempDir(), "sess.pem")
		if got := sClient(t, n.Addr("submission"), "smtp", "-sess_out", sess); got != "New, TLSv1.3" {
			t.Fatalf("%q: first handshake %q, want New, TLSv1.3", c.extra, got)
		}
		_, err := os.Stat(sess)
		if got := err == nil; got != c.ticket {
			t.Fatalf("config %q: session saved = %v (%v), want %v", c.extra, got, err, c.ticket)
		}
		if c.ticket {
			if got := sClient(t, n.Addr("submission"), "smtp", "-sess_in", sess); got != "Reused, TLSv1.3" {
				t.Fatalf("default config, same node: %q, want Reused, TLSv1.3", got)
			}
		}
		n.Stop()
	}
}

// sessionLine is s_client's summary of the handshake, e.g. "Reused,
// TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256".
var sessionLine = regexp.MustCompile(`(?m)^(New|Reused), (TLSv1\.[0-3]), Cipher is `)

// sClient runs openssl s_client against addr (after STARTTLS in the
// protocol starttls names, unless empty) with args, closing at once, and
// returns "New, TLSv1.3" or "Reused, TLSv1.3" from its summary.
func sClient(t *testing.T, addr, starttls string, args ...string) string {
	t.Helper()
	return sClientSaying(t, addr, starttls, "", args...)
}

// sClientSaying is sClient sending say (lines, CRLF-ended) and then
// waiting for the server to close: with a client certificate a TLS 1.3
// server sends its ticket only after the client's Finished, which an
// s_client closing at once would not wait for.
func sClientSaying(t *testing.T, addr, starttls, say string, args ...string) string {
	t.Helper()
	argv := append([]string{"s_client", "-connect", addr}, args...)
	if starttls != "" {
		argv = append(argv, "-starttls", starttls)
	}
	cmd := exec.Command("openssl", argv...)
	if say != "" {
		cmd.Args = append(cmd.Args, "-crlf", "-ign_eof")
		cmd.Stdin = strings.NewReader(say)
	}
	out, err := cmd.CombinedOutput()
	m := sessionLine.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("openssl %s: %v, no session line in:\n%s", strings.Join(argv, " "), err, out)
	}
	return m[1] + ", " + m[2]
}

// pythonResumeScript connects to IMAPS at argv[1], reads the greeting (in
// TLS 1.3 the ticket comes after the handshake), then to argv[2] with
// that session, and prints both connections' session_reused.
const pythonResumeScript = `
import socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def connect(addr, session=None):
    host, port = addr.rsplit(":", 1)
    s = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=30), session=session)
    s.recv(1024)
    reused, sess = s.session_reused, s.session
    s.close()
    return reused, sess
first, sess = connect(sys.argv[1])
second, _ = connect(sys.argv[2], sess)
print(first, second)
`
