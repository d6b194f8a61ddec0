package delivery

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"mailgate/internal/spool"
)

// picky is an MX that offers PIPELINING (go-smtp's server always does)
// and answers each address by its local part: "mail451" as sender is
// refused, "no" recipients get 550, "later" ones 450, others 250.
type picky struct {
	mu   sync.Mutex
	data []string
}

type pickySession struct{ p *picky }

func (p *picky) NewSession(*smtp.Conn) (smtp.Session, error) { return pickySession{p}, nil }

func (s pickySession) Mail(from string, _ *smtp.MailOptions) error {
	if strings.HasPrefix(from, "mail451@") {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "sender check unavailable"}
	}
	return nil
}

func (s pickySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, "no"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user " + to}
	case strings.HasPrefix(to, "later"):
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "mailbox busy " + to}
	}
	return nil
}

func (s pickySession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.p.mu.Lock()
	s.p.data = append(s.p.data, string(b))
	s.p.mu.Unlock()
	return nil
}
func (pickySession) Reset()        {}
func (pickySession) Logout() error { return nil }

// readsListener records what each server-side Read returned.
type readsListener struct {
	net.Listener
	mu    sync.Mutex
	reads []string
}

func (l *readsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return &readsConn{Conn: c, l: l}, err
}

type readsConn struct {
	net.Conn
	l *readsListener
}

func (c *readsConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.l.mu.Lock()
		c.l.reads = append(c.l.reads, string(b[:n]))
		c.l.mu.Unlock()
	}
	return n, err
}

func startPicky(t *testing.T) (*picky, *readsListener, *Remote) {
	t.Helper()
	p := &picky{}
	srv := smtp.NewServer(p)
	srv.Domain = "mx.far.test"
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &readsListener{Listener: inner}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	r := &Remote{DNS: fixedDNS{}, Hostname: "mail.ours.example", Port: inner.Addr().(*net.TCPAddr).Port,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	t.Cleanup(r.Close)
	return p, l, r
}

// TestPipelinedTransactionKeepsEachRecipientsReply: MAIL, five RCPTs and
// DATA reach the server in one read (RFC 2920 §3.1), and each recipient
// gets its own reply: delivered, 550 failed, 450 pending.
func TestPipelinedTransactionKeepsEachRecipientsReply(t *testing.T) {
	p, l, r := startPicky(t)
	rcpts := []string{"a@far.test", "no1@far.test", "b@far.test", "later1@far.test", "c@far.test"}
	_, m := spoolOne(t, "alice@ours.example", rcpts, "Subject: x\r\n\r\nbody\r\n")
	out := r.Deliver(context.Background(), m, "far.test", rcpts, nil)
	want := map[string]Outcome{
		"a@far.test":      {Status: spool.Delivered},
		"b@far.test":      {Status: spool.Delivered},
		"c@far.test":      {Status: spool.Delivered},
		"no1@far.test":    {Status: spool.Failed, Text: "550 5.1.1 no such user no1@far.test"},
		"later1@far.test": {Status: spool.Pending, Text: "450 4.2.1 mailbox busy later1@far.test"},
	}
	for rc, w := range want {
		o := out[rc]
		if o.Status != w.Status || (w.Text != "" && o.Text != w.Text) || (w.Text == "" && !strings.HasPrefix(o.Text, "250 ")) {
			t.Errorf("%s: %+v, want %+v", rc, o, w)
		}
	}
	p.mu.Lock()
	if len(p.data) != 1 {
		t.Errorf("%d transactions, want 1", len(p.data))
	}
	p.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	var group string
	for _, rd := range l.reads {
		if strings.HasPrefix(rd, "MAIL FROM:") {
			group = rd
		}
	}
	if !strings.HasSuffix(group, "\r\nDATA\r\n") || strings.Count(group, "RCPT TO:") != 5 {
		t.Fatalf("MAIL arrived as %q; want MAIL, 5 RCPT and DATA in one read\nall reads: %q", group, l.reads)
	}
}

// TestPipelinedMailRefusedIsEveryRecipientsReply: a 451 to MAIL is the
// reply of every recipient, though the server answered each RCPT (503).
func TestPipelinedMailRefusedIsEveryRecipientsReply(t *testing.T) {
	_, _, r := startPicky(t)
	rcpts := []string{"a@far.test", "b@far.test"}
	_, m := spoolOne(t, "mail451@ours.example", rcpts, "Subject: x\r\n\r\nbody\r\n")
	out := r.Deliver(context.Background(), m, "far.test", rcpts, nil)
	for _, rc := range rcpts {
		if o := out[rc]; o.Status != spool.Pending || o.Text != "451 4.3.0 sender check unavailable" {
			t.Errorf("%s: %+v", rc, o)
		}
	}
}

// TestPipelinedNoRecipientLeavesSessionUsable: every RCPT refused, the
// pipelined DATA refused too; the session stays in step and the next
// message goes over the same connection.
func TestPipelinedNoRecipientLeavesSessionUsable(t *testing.T) {
	p, _, r := startPicky(t)
	_, m := spoolOne(t, "alice@ours.example", []string{"no1@far.test", "no2@far.test"}, "Subject: x\r\n\r\nbody\r\n")
	out := r.Deliver(context.Background(), m, "far.test", []string{"no1@far.test", "no2@far.test"}, nil)
	for _, rc := range []string{"no1@far.test", "no2@far.test"} {
		if o := out[rc]; o.Status != spool.Failed || o.Text != "550 5.1.1 no such user "+rc {
			t.Errorf("%s: %+v", rc, o)
		}
	}
	out = r.Deliver(context.Background(), m, "far.test", []string{"d@far.test"}, nil)
	if o := out["d@far.test"]; o.Status != spool.Delivered {
		t.Fatalf("next message: %+v", o)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.data) != 1 {
		t.Fatalf("%d messages stored, want 1", len(p.data))
	}
}
