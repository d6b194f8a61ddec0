package e2e

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// turnProxy relays TCP between mailgate and a real MX and records the
// conversation as turns: the bytes the client sent between two replies
// of the server, and the server's answer to them. The server speaks only
// after it has read (SMTP replies answer commands), so the turns do not
// depend on how TCP cut the bytes: a client that waits for each reply
// makes one turn per command, a pipelining client one per group (RFC 2920
// §3.1).
type turnProxy struct {
	Addr  string
	mu    sync.Mutex
	conns [][]turn // per connection, in order
}

// turn is what the client sent in one go and what the server answered.
type turn struct{ sent, answer string }

func startTurnProxy(t *testing.T, listen, target string) *turnProxy {
	t.Helper()
	l, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	p := &turnProxy{Addr: l.Addr().String()}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.relay(c, target)
		}
	}()
	return p
}

func (p *turnProxy) relay(client net.Conn, target string) {
	defer client.Close()
	server, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer server.Close()
	p.mu.Lock()
	id := len(p.conns)
	p.conns = append(p.conns, nil)
	p.mu.Unlock()
	copyDir := func(dst, src net.Conn, fromClient bool) {
		b := make([]byte, 64<<10)
		for {
			n, err := src.Read(b)
			if n > 0 {
				p.mu.Lock()
				turns := p.conns[id]
				switch {
				case fromClient && (len(turns) == 0 || turns[len(turns)-1].answer != ""):
					turns = append(turns, turn{sent: string(b[:n])})
				case fromClient:
					turns[len(turns)-1].sent += string(b[:n])
				case len(turns) > 0: // not the greeting
					turns[len(turns)-1].answer += string(b[:n])
				}
				p.conns[id] = turns
				p.mu.Unlock()
				if _, err := dst.Write(b[:n]); err != nil {
					return
				}
			}
			if err != nil {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
				return
			}
		}
	}
	done := make(chan struct{})
	go func() { copyDir(client, server, false); close(done) }()
	copyDir(server, client, true)
	<-done
}

// transactions returns, for every transaction the client started (a
// turn beginning with MAIL), its turns up to the one ending the content
// or the transaction (RSET, QUIT).
func (p *turnProxy) transactions() [][]turn {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][]turn
	for _, turns := range p.conns {
		for i, tn := range turns {
			if !strings.HasPrefix(tn.sent, "MAIL FROM:") {
				continue
			}
			var tr []turn
			for _, t := range turns[i:] {
				tr = append(tr, t)
				if strings.HasSuffix(t.sent, "\r\n.\r\n") || strings.HasPrefix(t.sent, "RSET") || strings.HasPrefix(t.sent, "QUIT") {
					break
				}
			}
			out = append(out, tr)
		}
	}
	return out
}

// pipeliningPostfix starts a remote Postfix MX for far.test on 127.0.0.1
// refusing "bad" recipients (550 5.1.1), with a turnProxy in front of it
// the node's MX records lead to, and a node using it. pipelining false
// makes Postfix withhold PIPELINING from its EHLO reply.
func pipeliningPostfix(t *testing.T, pipelining bool) (*remotePostfix, *turnProxy, *Node) {
	t.Helper()
	pfPort := FreePort(t)
	settings := map[string]string{
		"smtpd_recipient_restrictions": "check_recipient_access inline:{{bad@far.test = 550 5.1.1 no such user}}",
	}
	if !pipelining {
		settings["smtpd_discard_ehlo_keywords"] = "pipelining"
	}
	pf := startRemotePostfixWith(t, "127.0.0.1", pfPort, "far.test", "", "", settings)
	proxy := startTurnProxy(t, "127.0.0.1:0", fmt.Sprintf("127.0.0.1:%d", pfPort))
	_, proxyPort, _ := net.SplitHostPort(proxy.Addr)
	d := startDNS(t, "far.test. 60 IN MX 10 mx.far.test.", "mx.far.test. 60 IN A 127.0.0.1")
	var port int
	fmt.Sscan(proxyPort, &port)
	n := remoteNode(t, d, port, map[string]string{"concurrency_per_destination": "1"})
	n.Start()
	return pf, proxy, n
}

var pipeRcpts = []string{"a@far.test", "b@far.test", "bad@far.test", "c@far.test", "d@far.test"}

// TestRemotePipeliningToPostfix: Postfix as the remote MX offers
// PIPELINING; mailgate sends MAIL, the five RCPTs and DATA as one turn,
// then the content: two turns for the transaction where waiting for each
// reply takes eight. The recipient Postfix refuses gets a DSN with
// Postfix's own reply, the four others are delivered.
func TestRemotePipeliningToPostfix(t *testing.T) {
	pf, proxy, n := pipeliningPostfix(t, true)
	submit(t, n, pipeRcpts, []byte(msg(rmSender, "a@far.test", "pipelined", "body\r\n")))
	dsn := readDSNs(t, n, 1)[0]
	waitSpoolEmpty(t, n)
	mustContain(t, dsn, "Final-Recipient: rfc822; bad@far.test\r\nAction: failed\r\nStatus: 5.1.1\r\n",
		"Diagnostic-Code: smtp; 550 5.1.1 <bad@far.test>: Recipient address rejected: no such user\r\n")
	for _, rc := range []string{"a@far.test", "b@far.test", "c@far.test", "d@far.test"} {
		if strings.Contains(dsn, "rfc822; "+rc) {
			t.Errorf("DSN names %s, which Postfix accepted", rc)
		}
	}
	waitPostfixLog(t, pf, n, 4, `to=<[abcd]@far\.test>.*status=sent`)

	trs := proxy.transactions()
	if len(trs) != 1 {
		t.Fatalf("%d transactions, want 1: %q", len(trs), trs)
	}
	tr := trs[0]
	group := regexp.MustCompile(`^MAIL FROM:<carol@ours\.test>[^\r\n]*\r\n` +
		`RCPT TO:<a@far\.test>\r\nRCPT TO:<b@far\.test>\r\nRCPT TO:<bad@far\.test>\r\nRCPT TO:<c@far\.test>\r\nRCPT TO:<d@far\.test>\r\n` +
		`DATA\r\n$`)
	if len(tr) != 2 || !group.MatchString(tr[0].sent) || !strings.HasSuffix(tr[1].sent, "\r\n.\r\n") {
		t.Fatalf("the transaction took %d turns, want 2 (MAIL, 5 RCPT and DATA; the content):\n%q", len(tr), tr)
	}
	// Postfix answered the group as one, each reply in its place.
	replies := regexp.MustCompile(`^250 2\.1\.0 Ok\r\n250 2\.1\.5 Ok\r\n250 2\.1\.5 Ok\r\n` +
		`550 5\.1\.1 <bad@far\.test>: Recipient address rejected: no such user\r\n250 2\.1\.5 Ok\r\n250 2\.1\.5 Ok\r\n354 [^\r\n]*\r\n$`)
	if !replies.MatchString(tr[0].answer) {
		t.Errorf("Postfix answered the group %q", tr[0].answer)
	}
}

// TestRemoteNoPipeliningWithoutTheOffer: the same Postfix withholding
// PIPELINING gets one command per turn, and the same per-recipient
// results.
func TestRemoteNoPipeliningWithoutTheOffer(t *testing.T) {
	pf, proxy, n := pipeliningPostfix(t, false)
	submit(t, n, pipeRcpts, []byte(msg(rmSender, "a@far.test", "one by one", "body\r\n")))
	dsn := readDSNs(t, n, 1)[0]
	waitSpoolEmpty(t, n)
	mustContain(t, dsn, "Final-Recipient: rfc822; bad@far.test\r\nAction: failed\r\nStatus: 5.1.1\r\n",
		"Diagnostic-Code: smtp; 550 5.1.1 <bad@far.test>: Recipient address rejected: no such user\r\n")
	waitPostfixLog(t, pf, n, 4, `to=<[abcd]@far\.test>.*status=sent`)
	if strings.Contains(pf.Log(), "improper command pipelining") {
		t.Errorf("Postfix saw pipelining it did not offer:\n%s", pf.Log())
	}
	trs := proxy.transactions()
	if len(trs) != 1 || len(trs[0]) != 8 {
		t.Fatalf("transactions %q, want one of 8 turns (MAIL, 5 RCPT, DATA, the content)", trs)
	}
	for i, want := range []string{"MAIL FROM:", "RCPT TO:<a@", "RCPT TO:<b@", "RCPT TO:<bad@", "RCPT TO:<c@", "RCPT TO:<d@", "DATA\r\n"} {
		if sent := trs[0][i].sent; !strings.HasPrefix(sent, want) || strings.Count(sent, "\r\n") != 1 {
			t.Errorf("turn %d = %q, want one command %q", i, sent, want)
		}
	}
}

// TestRemotePipeliningNoRecipientAccepted: every recipient refused, the
// pipelined DATA gets Postfix's 554 (RFC 2920 §3.1: its reply is read
// all the same), the session goes on with RSET, and the other message
// goes over the same connection.
func TestRemotePipeliningNoRecipientAccepted(t *testing.T) {
	pf, proxy, n := pipeliningPostfix(t, true)
	submit(t, n, []string{"bad@far.test"}, []byte(msg(rmSender, "bad@far.test", "refused", "body\r\n")))
	submit(t, n, []string{"a@far.test"}, []byte(msg(rmSender, "a@far.test", "accepted", "body\r\n")))
	dsn := readDSNs(t, n, 1)[0]
	mustContain(t, dsn, "Diagnostic-Code: smtp; 550 5.1.1 <bad@far.test>: Recipient address rejected: no such user\r\n")
	waitPostfixLog(t, pf, n, 1, `to=<a@far\.test>.*status=sent`)
	waitSpoolEmpty(t, n)
	var refused, accepted []turn
	for _, tr := range proxy.transactions() {
		switch {
		case strings.Contains(tr[0].sent, "RCPT TO:<bad@far.test>"):
			refused = tr
		case strings.Contains(tr[0].sent, "RCPT TO:<a@far.test>"):
			accepted = tr
		}
	}
	if len(refused) != 2 || refused[1].sent != "RSET\r\n" || !strings.HasSuffix(refused[0].sent, "\r\nDATA\r\n") {
		t.Errorf("refused transaction %q; want the group with DATA, then RSET", refused)
	}
	// Postfix refused the DATA in the same answer as the RCPT.
	if len(refused) > 0 && !strings.HasSuffix(refused[0].answer, "\r\n550 5.1.1 <bad@far.test>: Recipient address rejected: no such user\r\n554 5.5.1 Error: no valid recipients\r\n") {
		t.Errorf("Postfix answered the group %q", refused[0].answer)
	}
	if len(accepted) != 2 || !strings.HasSuffix(accepted[1].sent, "\r\n.\r\n") {
		t.Errorf("accepted transaction %q; want the group, then the content", accepted)
	}
	proxy.mu.Lock()
	conns := len(proxy.conns)
	proxy.mu.Unlock()
	if conns != 1 {
		t.Errorf("%d connections, want 1 (reused after RSET)", conns)
	}
}

// waitPostfixLog waits up to 30 s for re to match want lines of Postfix's log.
func waitPostfixLog(t *testing.T, pf *remotePostfix, n *Node, want int, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	waitMessages(t, "remote Postfix log", want, n, func() []string { return rx.FindAllString(pf.Log(), -1) }, pf.Log)
}
