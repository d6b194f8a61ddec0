package delivery

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailgate/internal/spool"
	"mailgate/internal/srs"
)

// mailLog is an SMTP server that records each transaction as
// "MAIL FROM → RCPT,RCPT".
type mailLog struct {
	mu  sync.Mutex
	txs []string
}

type mailLogSession struct {
	l     *mailLog
	from  string
	rcpts []string
}

func (l *mailLog) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailLogSession{l: l}, nil }
func (s *mailLogSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *mailLogSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *mailLogSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	s.l.mu.Lock()
	s.l.txs = append(s.l.txs, s.from+" → "+strings.Join(s.rcpts, ","))
	s.l.mu.Unlock()
	return nil
}
func (s *mailLogSession) Reset()        { s.from, s.rcpts = "", nil }
func (s *mailLogSession) Logout() error { return nil }

// TestForwardedMailGoesOutWithSRSSender: a Sieve redirect to another site
// leaves with the SRS0 sender of srs.ours.example, in its own transaction;
// the message's own remote recipient keeps the original sender; the null
// sender and a sender in our domains are never rewritten; with SRS off
// nothing is.
func TestForwardedMailGoesOutWithSRSSender(t *testing.T) {
	rw, err := srs.New("srs.ours.example", [][]byte{[]byte("s3cret")}, srs.DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := rw.Forward("x@else.example") // the day's address
	for _, tc := range []struct {
		name, from string
		srs        *srs.Rewriter
		txs        []string
	}{
		{"foreign sender", "x@else.example", rw, []string{"x@else.example → carol@far.test", want + " → dave@far.test"}},
		{"null sender", "", rw, []string{" → carol@far.test,dave@far.test"}},
		{"our own sender", "alice@ours.example", rw, []string{"alice@ours.example → carol@far.test,dave@far.test"}},
		{"SRS off", "x@else.example", nil, []string{"x@else.example → carol@far.test,dave@far.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &mailLog{}
			srv := smtp.NewServer(log)
			srv.Domain = "mx.far.test"
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(l)
			defer srv.Close()

			a, sp := sieveAgent(t, scriptMap{"bob@ours.example": `require "copy"; redirect :copy "dave@far.test";`})
			a.Remote.DNS, a.Remote.Port = fixedDNS{}, l.Addr().(*net.TCPAddr).Port
			defer a.Remote.Close()
			a.SRS = tc.srs
			env := &spool.Envelope{From: tc.from, To: []string{"bob@ours.example", "carol@far.test"}, Received: time.Now(), Origin: "mx"}
			if err := sp.Put(env, []byte("From: x@else.example\r\nSubject: hi\r\n\r\nbody\r\n")); err != nil {
				t.Fatal(err)
			}
			a.process(context.Background(), env.ID)
			log.mu.Lock()
			defer log.mu.Unlock()
			if strings.Join(log.txs, "\n") != strings.Join(tc.txs, "\n") {
				t.Fatalf("transactions:\n%s\nwant:\n%s", strings.Join(log.txs, "\n"), strings.Join(tc.txs, "\n"))
			}
		})
	}
}
