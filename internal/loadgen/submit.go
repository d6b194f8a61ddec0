// Package loadgen measures a mail node the way subscribers load it: many
// concurrent clients doing STARTTLS (or implicit TLS), AUTH and message
// submission, plus the machine limits that bound it (fsync rate, TLS
// handshake rate). It backs `mailgate bench`.
package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Target says where and as whom to submit.
type Target struct {
	Addr        string      // host:port
	ImplicitTLS bool        // port 465 style; else STARTTLS
	TLS         *tls.Config // nil: verify nothing (benchmarks run against self-signed certificates)
	User        string
	Password    string
	Helo        string // EHLO name; "loadgen.invalid" when empty
	Timeout     time.Duration
	// ResumeTLS offers each connection a session from an earlier one
	// (RFC 8446 §2.2), as a mail client that comes back does; Run shares
	// one session cache among its clients.
	ResumeTLS bool
	// Pipelining sends commands in groups (RFC 2920), AUTH PLAIN with the
	// first message's MAIL, RCPT and DATA (RFC 4954 §4) and QUIT after the
	// last message's content, as Postfix's smtp client does; see
	// pipeClient. Otherwise the client waits for each reply.
	Pipelining bool
}

// clientTLS is the Target's TLS settings, or the benchmarks' default.
func (t Target) clientTLS() *tls.Config {
	if t.TLS != nil {
		return t.TLS
	}
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
}

// Session is one authenticated submission connection.
type Session struct {
	c       *smtp.Client
	p       *pipeClient // instead of c with Target.Pipelining
	conn    net.Conn
	Resumed bool // the TLS handshake resumed an earlier session
	quit    bool // QUIT went with the last message
}

// Open connects, secures the connection and authenticates with AUTH PLAIN.
func Open(ctx context.Context, t Target) (*Session, error) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	cfg := t.clientTLS()
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(timeout))
	helo := t.Helo
	if helo == "" {
		helo = "loadgen.invalid"
	}
	if t.Pipelining {
		p, resumed, err := openPipelined(ctx, t, conn, cfg, helo)
		if err != nil {
			conn.Close()
			return nil, err
		}
		conn.SetDeadline(time.Time{})
		return &Session{p: p, conn: conn, Resumed: resumed}, nil
	}
	var c *smtp.Client
	if t.ImplicitTLS {
		tc := tls.Client(conn, cfg)
		if err = tc.HandshakeContext(ctx); err == nil {
			c = smtp.NewClient(tc)
		}
	} else {
		c, err = smtp.NewClientStartTLS(conn, cfg)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.Hello(helo); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.Auth(sasl.NewPlainClient("", t.User, t.Password)); err != nil {
		c.Close()
		return nil, fmt.Errorf("AUTH: %w", err)
	}
	conn.SetDeadline(time.Time{})
	st, _ := c.TLSConnectionState()
	return &Session{c: c, conn: conn, Resumed: st.DidResume}, nil
}

// Send submits one message and returns nil only on a 250 to end-of-data.
func (s *Session) Send(from string, to []string, msg []byte) error {
	return s.send(from, to, msg, false)
}

// SendLast submits a connection's last message; a pipelining client
// sends QUIT with it, and Close then only closes.
func (s *Session) SendLast(from string, to []string, msg []byte) error {
	return s.send(from, to, msg, true)
}

func (s *Session) send(from string, to []string, msg []byte, last bool) error {
	s.conn.SetDeadline(time.Now().Add(60 * time.Second))
	defer s.conn.SetDeadline(time.Time{})
	if s.p != nil {
		s.quit = last
		return s.p.sendMail(from, to, msg, last)
	}
	return s.c.SendMail(from, to, bytes.NewReader(msg))
}

// Close says QUIT (unless it went with the last message) and closes the
// connection.
func (s *Session) Close() error {
	s.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if s.p != nil {
		var err error
		if !s.quit {
			err = s.p.quit()
		}
		s.conn.Close()
		return err
	}
	err := s.c.Quit()
	s.c.Close()
	return err
}

// Message builds a message of exactly size bytes (more if size is too
// small for its header) with CRLF line ends whose
// X-Loadgen-Seq header and last body line carry seq, so a receiver can
// count deliveries and tell a complete message from a truncated one.
func Message(from, to, seq string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: loadgen %s\r\nX-Loadgen-Seq: %s\r\n\r\n", from, to, seq, seq)
	line := []byte("The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrst\r\n")
	last := "end " + seq + "\r\n"
	// Whole lines, then one shorter line, so the size is exact.
	for b.Len()+len(line)+len(last)+2 <= size {
		b.Write(line)
	}
	if pad := size - b.Len() - len(last) - 2; pad >= 0 {
		b.Write(bytes.Repeat([]byte{'x'}, pad))
		b.WriteString("\r\n")
	}
	b.WriteString(last)
	return b.Bytes()
}

// Load is one benchmark run.
type Load struct {
	Target   Target
	From     string
	To       []string
	Clients  int // concurrent connections
	PerConn  int // messages per connection; 0: log in and QUIT, no message (Messages counts sessions)
	Size     int // message size in bytes
	Messages int // messages in all
}

// Result is what a run measured.
type Result struct {
	Sent    int
	Failed  int
	Elapsed time.Duration
	// Latencies has one entry per message accepted: from the start of
	// its transaction to the 250; for the first message on a connection
	// that includes connect, TLS and AUTH, as a subscriber's client sees.
	Latencies []time.Duration
	FirstErr  error
	Resumed   int // sessions whose TLS handshake was a resumption
}

// Rate is accepted messages per second.
func (r *Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// Run drives the load until Messages were attempted or ctx ends.
func Run(ctx context.Context, l Load) (*Result, error) {
	if l.Clients <= 0 || l.PerConn < 0 || l.Messages <= 0 {
		return nil, errors.New("loadgen: clients and message counts must be positive, messages per connection 0 or more")
	}
	var (
		next    atomic.Int64
		tl      tally
		wg      sync.WaitGroup
		started = time.Now()
	)
	if l.Target.ResumeTLS {
		cfg := l.Target.clientTLS().Clone()
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4 * l.Clients)
		l.Target.TLS = cfg
	}
	claim := func() (int, bool) {
		n := next.Add(1)
		return int(n), n <= int64(l.Messages)
	}
	for w := 0; w < l.Clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				seq, ok := claim()
				if !ok {
					return
				}
				t0 := time.Now()
				s, err := Open(ctx, l.Target)
				if err != nil {
					tl.fail(err)
					continue
				}
				if s.Resumed {
					tl.resumed()
				}
				if l.PerConn == 0 {
					// The session's own cost, without a message: what a
					// message per connection adds to a bare handshake
					// besides the message.
					if err := s.Close(); err != nil {
						tl.fail(err)
					} else {
						tl.ok(time.Since(t0))
					}
					continue
				}
				for i := 0; ; i++ {
					msg := Message(l.From, l.To[0], fmt.Sprintf("%d", seq), l.Size)
					// The connection's last message: the quota is
					// reached, or no message is left to claim.
					last := i+1 >= l.PerConn || next.Load() >= int64(l.Messages)
					send := s.Send
					if last {
						send = s.SendLast
					}
					if err := send(l.From, l.To, msg); err != nil {
						tl.fail(err)
						break
					}
					tl.ok(time.Since(t0))
					if last {
						break
					}
					if seq, ok = claim(); !ok {
						break
					}
					t0 = time.Now()
				}
				s.Close()
			}
		}()
	}
	wg.Wait()
	tl.res.Elapsed = time.Since(started)
	return &tl.res, ctx.Err()
}
