package fleet

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailgate/internal/spool"
)

// homeNode is an LMTP server answering RCPT by local part ("gone": 550,
// "moving": 451) and, after the content, "full" with 552, the others 250.
type homeNode struct {
	mu    sync.Mutex
	reads []string // what each server-side Read returned
}

type homeSession struct{ rcpts []string }

func (*homeNode) NewSession(*smtp.Conn) (smtp.Session, error) { return &homeSession{}, nil }

func (s *homeSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *homeSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, "gone"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	case strings.HasPrefix(to, "moving"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "mailbox being moved"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *homeSession) Data(r io.Reader) error { return s.LMTPData(r, nopStatus{}) }
func (s *homeSession) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	io.ReadAll(r)
	for _, rc := range s.rcpts {
		var err error
		if strings.HasPrefix(rc, "full") {
			err = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 2, 2}, Message: "mailbox full"}
		}
		status.SetStatus(rc, err)
	}
	return nil
}
func (s *homeSession) Reset()        { s.rcpts = nil }
func (s *homeSession) Logout() error { return nil }

type recordedConn struct {
	net.Conn
	h *homeNode
}

func (c recordedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.h.mu.Lock()
		c.h.reads = append(c.h.reads, string(b[:n]))
		c.h.mu.Unlock()
	}
	return n, err
}

type recordedListener struct {
	net.Listener
	h *homeNode
}

func (l recordedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return recordedConn{Conn: c, h: l.h}, err
}

// TestHandoffPipelinedKeepsEachRecipientsReply: the hand-off's MAIL,
// RCPTs and DATA reach the home node in one read (RFC 2033 §5, RFC 2920
// §3.1), and each recipient gets its own reply: to RCPT, or after the
// content (RFC 2033 §4.2).
func TestHandoffPipelinedKeepsEachRecipientsReply(t *testing.T) {
	h := &homeNode{}
	srv := smtp.NewServer(h)
	srv.LMTP = true
	srv.Domain = "home.test"
	srv.EnableDSN = true
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(recordedListener{Listener: inner, h: h})
	t.Cleanup(func() { srv.Close() })

	conn, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	c.CommandTimeout = 10 * time.Second
	defer c.Close()
	if err := c.Hello("sender.test"); err != nil {
		t.Fatal(err)
	}

	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	rcpts := []string{"a@ours.test", "gone@ours.test", "full@ours.test", "moving@ours.test", "b@ours.test"}
	env := &spool.Envelope{From: "x@far.test", To: rcpts, Received: time.Unix(1700000000, 0), Origin: "mx"}
	if err := sp.Put(env, []byte("Subject: x\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	m, err := sp.Open(env.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	out, clean := (&Router{}).transact(c, m, rcpts)
	if !clean {
		t.Error("connection not clean after a complete hand-off")
	}
	want := map[string]string{
		"a@ours.test":      spool.Delivered + " 250 ",
		"b@ours.test":      spool.Delivered + " 250 ",
		"gone@ours.test":   spool.Failed + " 550 5.1.1 no such user here",
		"full@ours.test":   spool.Failed + " 552 5.2.2 <full@ours.test> mailbox full",
		"moving@ours.test": spool.Pending + " 451 4.2.0 mailbox being moved",
	}
	for rc, w := range want {
		if got := out[rc].Status + " " + out[rc].Text; !strings.HasPrefix(got, w) {
			t.Errorf("%s: %q, want %q", rc, got, w)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var group string
	for _, rd := range h.reads {
		if strings.HasPrefix(rd, "MAIL FROM:") {
			group = rd
		}
	}
	if !strings.HasSuffix(group, "\r\nDATA\r\n") || strings.Count(group, "RCPT TO:") != 5 {
		t.Fatalf("MAIL arrived as %q; want MAIL, 5 RCPT and DATA in one read\nall reads: %q", group, h.reads)
	}
}
