package e2e

import (
	"bufio"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailgate/internal/testpeer"
)

// mxNode starts a node hosting example.net with alice and an alias.
func mxNode(t *testing.T, extra string) *Node {
	t.Helper()
	n := NewNode(t, "", extra)
	n.AddUser("alice@example.net", "alice-secret-1")
	n.MustCLI("", "alias", "add", "postmaster@example.net", "alice@example.net")
	n.Start()
	return n
}

// Debian's Postfix, as the sending MTA of another ISP, relays a message to
// our MX; it lands in Maildir with a Received field naming Postfix's HELO,
// the verified rDNS and the IP, and the TLS Postfix chose. The rDNS comes
// from the configured [dns] servers (the node's one caching resolver, as
// the reputation checks ask it), not /etc/hosts.
func TestPostfixDeliversToOurMX(t *testing.T) {
	NeedTool(t, "postfix")
	swaks := NeedTool(t, "swaks")
	ns := startNSD(t, map[string]string{
		"0.0.127.in-addr.arpa": "1 IN PTR localhost.\n",
		"localhost":            "@ IN A 127.0.0.1\n",
	})
	n := mxNode(t, "[dns]\nservers = [\""+ns.Addr+"\"]\n")
	pfPort := FreePort(t)
	pf, err := testpeer.StartPostfix(pfPort, map[string]string{
		"relayhost": "[127.0.0.1]:" + strconv.Itoa(n.Ports["mx"]),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Stop()
	out, err := exec.Command(swaks, "-s", "127.0.0.1:"+strconv.Itoa(pfPort), "-f", "bob@remote.example", "-t", "alice@example.net",
		"--header", "Subject: via postfix", "--body", "hello from the other ISP").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks to postfix: %v\n%s", err, out)
	}
	files := n.WaitMaildir("alice@example.net", 1)
	got := readFile(t, files[0])
	header, body := splitMessage(t, got)
	first := header[:strings.Index(header, "\r\nReceived:")+2]
	for _, want := range []string{
		"Received: from postfix.test.example (localhost [127.0.0.1])",
		"by mail.test.example (mailgate) with ESMTPS id ",
		"(using TLS 1.",
		"for <alice@example.net>;",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("our Received field lacks %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, "authenticated") {
		t.Errorf("MX Received field claims authentication:\n%s", first)
	}
	if headerCount(header, "Received") != 2 {
		t.Errorf("want our Received plus Postfix's, got %d:\n%s", headerCount(header, "Received"), header)
	}
	if !strings.Contains(body, "hello from the other ISP\r\n") {
		t.Errorf("body: %q", body)
	}
	onlyCRLF(t, got)
	if !strings.Contains(pf.Log(), "status=sent (250 2.0.0 OK queued as ") {
		t.Errorf("postfix did not log our 250:\n%s", pf.Log())
	}
}

func TestMXGreetsWithoutAuthAndTakesNullSender(t *testing.T) {
	n := mxNode(t, "")
	c := dialRaw(t, n.Addr("mx"))
	ehlo := c.cmd("EHLO client.remote.example", "250 ")
	if !strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("MX must offer STARTTLS:\n%s", ehlo)
	}
	if strings.Contains(ehlo, "AUTH") {
		t.Errorf("MX must not offer AUTH:\n%s", ehlo)
	}
	// STARTTLS is offered, never required (RFC 3207 §4): plaintext works.
	c.cmd("MAIL FROM:<>", "250 ")
	c.cmd("RCPT TO:<nobody@example.net>", "550 5.1.1 ")
	c.cmd("RCPT TO:<Postmaster@Example.NET>", "250 ")
	c.cmd("DATA", "354 ")
	c.write("From: MAILER-DAEMON@remote.example\r\nSubject: bounce\r\n\r\nundeliverable\r\n.\r\n")
	c.expectReply("250 2.0.0 OK queued as ")
	c.cmd("QUIT", "221 ")
	files := n.WaitMaildir("alice@example.net", 1)
	if got := readFile(t, files[0]); !strings.Contains(got, "with ESMTP id") || !strings.HasSuffix(got, "\r\n\r\nundeliverable\r\n") {
		t.Errorf("stored bounce:\n%s", got)
	}
}

// A recipient given twice in one transaction gets 250 both times and one
// copy (as Postfix's cleanup drops duplicate recipients): the 250 to the
// end of data comes after local delivery, so the Maildir is final then.
func TestMXDuplicateRecipientOneCopy(t *testing.T) {
	n := mxNode(t, "")
	c := dialRaw(t, n.Addr("mx"))
	c.cmd("EHLO client.remote.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<alice@Example.NET>", "250 ")
	c.cmd("DATA", "354 ")
	c.write("From: sender@remote.example\r\nSubject: twice\r\n\r\nonce\r\n.\r\n")
	c.expectReply("250 2.0.0 OK queued as ")
	c.cmd("QUIT", "221 ")
	if files := n.Maildir("alice@example.net"); len(files) != 1 {
		t.Fatalf("alice has %d copies, want 1: %v", len(files), files)
	}
}

// RFC 2505 §2.1: every routing trick is refused or taken literally, and
// nothing for a foreign domain is ever queued — on the MX, on submission
// before AUTH, and on submission after AUTH with a foreign sender.
func TestRelayTricksNeverRelay(t *testing.T) {
	n := mxNode(t, "")
	tricks := []string{
		"<bob@other.example>",
		"<bob%other.example@example.net>",
		"<other.example!bob@example.net>",
		"<@example.net:bob@other.example>",
		"<@example.net,@mx.example.net:bob@other.example>",
		`<"bob@other.example"@example.net>`,
		"<bob@other.example@example.net>",
		"<bob@[192.0.2.1]>",
		"<bob@other.example.>",
		"<alice@example.net@other.example>",
	}
	mx := dialRaw(t, n.Addr("mx"))
	mx.cmd("EHLO relay.test", "250 ")
	mx.cmd("MAIL FROM:<spammer@evil.example>", "250 ")
	for _, rcpt := range tricks {
		mx.write("RCPT TO:" + rcpt + "\r\n")
		if code, text := mx.reply(); code < 500 || code > 599 {
			t.Errorf("MX RCPT TO:%s got %d %s, want a 5xx", rcpt, code, text)
		}
	}
	mx.cmd("RSET", "250 ")

	pre := dialRaw(t, n.Addr("submission"))
	pre.cmd("EHLO relay.test", "250 ")
	pre.cmd("MAIL FROM:<spammer@evil.example>", "530 5.7.0 ")

	sub := login(t, n, "alice@example.net", "alice-secret-1")
	sub.cmd("MAIL FROM:<bob@other.example>", "550 5.7.1 ")
	sub.cmd("MAIL FROM:<alice%other.example@example.net>", "501 5.1.7 ")
	sub.cmd("MAIL FROM:<@other.example:alice@example.net>", "250 ")
	sub.cmd("RSET", "250 ")

	if out := n.MustCLI("", "queue", "list"); !strings.Contains(out, "0 message(s) queued") {
		t.Errorf("something was queued:\n%s", out)
	}
}

// A client that talks before the greeting, or pipelines before the EHLO
// reply, or pipelines at all after HELO, is refused and disconnected.
func TestMXRefusesImpatientClients(t *testing.T) {
	n := mxNode(t, "[limits]\ngreet_pause = \"300ms\"\n")

	pre := dialRawNoGreeting(t, n.Addr("mx"))
	pre.write("EHLO bot.example\r\n")
	pre.expectReply("554 5.5.0 ")
	if !pre.closed() {
		t.Error("pre-greeting client not disconnected")
	}

	c := dialRaw(t, n.Addr("mx"))
	c.write("EHLO bot.example\r\nMAIL FROM:<a@bot.example>\r\nRCPT TO:<alice@example.net>\r\n")
	c.expectReply("554 5.5.0 ")
	if !c.closed() {
		t.Error("pipelining-before-EHLO-reply client not disconnected")
	}

	h := dialRaw(t, n.Addr("mx"))
	h.cmd("HELO old.example", "250 ")
	h.write("MAIL FROM:<a@old.example>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\n")
	h.expectReply("554 5.5.0 ")
	if !h.closed() {
		t.Error("pipelining HELO client not disconnected")
	}

	// An EHLO client that was offered PIPELINING may pipeline.
	e := dialRaw(t, n.Addr("mx"))
	e.cmd("EHLO good.example", "250 ")
	e.write("MAIL FROM:<a@good.example>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\n")
	e.expectReply("250 ")
	e.expectReply("250 ")
	e.expectReply("354 ")
	e.write("Subject: ok\r\n\r\npipelined\r\n.\r\nQUIT\r\n")
	e.expectReply("250 2.0.0 OK queued as ")
	n.WaitMaildir("alice@example.net", 1)
}

func TestMXLimitsConnectionsAndErrors(t *testing.T) {
	n := mxNode(t, "[limits]\nmax_connections_per_ip = 2\nmax_errors = 3\n")
	// Node.Start's readiness probes hung up: their slots are free though
	// the server may not have seen them close yet.
	a := dialRaw(t, n.Addr("mx"))
	b := dialRaw(t, n.Addr("mx"))
	third := dialRawNoGreeting(t, n.Addr("mx"))
	third.expectReply("421 4.7.0 ")
	if !third.closed() {
		t.Error("connection over the per-IP limit not closed")
	}
	b.cmd("QUIT", "221 ")
	// The slot is free again as soon as the client has gone.
	b.conn.Close()
	dialRaw(t, n.Addr("mx")).cmd("QUIT", "221 ")

	a.cmd("EHLO errors.example", "250 ")
	a.cmd("MAIL FROM:<x@errors.example>", "250 ")
	a.cmd("RCPT TO:<a@other.example>", "550 5.7.1 ")
	a.cmd("RCPT TO:<b@other.example>", "550 5.7.1 ")
	a.cmd("RCPT TO:<c@other.example>", "421 4.7.0 ")
	if !a.closed() {
		t.Error("session over the error limit not closed")
	}
}

// The same smuggling protection as submission: bare LF or CR around a dot
// cannot end DATA early or smuggle a second message in.
func TestMXSmugglingIsOneMessage(t *testing.T) {
	n := mxNode(t, "")
	c := dialRaw(t, n.Addr("mx"))
	c.cmd("EHLO peer.example", "250 ")
	c.cmd("MAIL FROM:<a@peer.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.write("Subject: one\r\n\r\nfirst\n.\r\nMAIL FROM:<evil@peer.example>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\nSubject: smuggled\r\n\r\nsecond\r\n.\r\n")
	c.expectReply("250 2.0.0 OK queued as ")
	c.cmd("QUIT", "221 ")
	files := n.WaitMaildir("alice@example.net", 1)
	if got := n.SettledMaildir("alice@example.net"); len(got) != 1 {
		t.Fatalf("%d messages stored, want 1", len(got))
	}
	got := readFile(t, files[0])
	onlyCRLF(t, got)
	// The bare-LF line "." is unstuffed like any line (RFC 5321 §4.5.2):
	// the rest stays text inside the one message.
	if !strings.HasSuffix(got, "\r\n\r\nfirst\r\n\r\nMAIL FROM:<evil@peer.example>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\nSubject: smuggled\r\n\r\nsecond\r\n") {
		t.Errorf("smuggled text not kept inside the one message:\n%q", got)
	}
}

// dialRawNoGreeting connects without waiting for the 220, to act as a
// client that talks first, or to read a refusal instead of a greeting.
func dialRawNoGreeting(t testing.TB, addr string) *rawSMTP {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawSMTP{t: t, conn: conn, r: bufio.NewReader(conn)}
}
