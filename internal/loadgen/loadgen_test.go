package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailgate/internal/certs"
)

// sink is a go-smtp backend that requires AUTH PLAIN and keeps what it got.
type sink struct {
	mu    sync.Mutex
	conns int
	msgs  map[string][]byte // by X-Loadgen-Seq
}

type sinkSession struct {
	s      *sink
	authed bool
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &sinkSession{s: s}, nil
}

func (ss *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ss *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pw string) error {
		if user != "u@example.net" || pw != "pw" {
			return errors.New("bad credentials")
		}
		ss.authed = true
		ss.s.mu.Lock()
		ss.s.conns++ // one AUTH per connection
		ss.s.mu.Unlock()
		return nil
	}), nil
}
func (ss *sinkSession) Mail(string, *smtp.MailOptions) error {
	if !ss.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	i := bytes.Index(b, []byte("X-Loadgen-Seq: "))
	seq := string(b[i+15 : i+15+bytes.IndexByte(b[i+15:], '\r')])
	ss.s.mu.Lock()
	ss.s.msgs[seq] = b
	ss.s.mu.Unlock()
	return nil
}
func (ss *sinkSession) Reset()        {}
func (ss *sinkSession) Logout() error { return nil }

func startSink(t *testing.T) (*sink, string) {
	t.Helper()
	cert, err := certs.Load("", "", t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{msgs: map[string][]byte{}}
	srv := smtp.NewServer(s)
	srv.Domain = "sink.test"
	srv.TLSConfig = certs.ServerConfig(cert)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s, l.Addr().String()
}

func TestRunSubmitsEveryMessageOnce(t *testing.T) {
	t.Run("waiting", func(t *testing.T) { testSubmitsEveryMessageOnce(t, false) })
	t.Run("pipelining", func(t *testing.T) { testSubmitsEveryMessageOnce(t, true) })
}

func testSubmitsEveryMessageOnce(t *testing.T, pipelining bool) {
	s, addr := startSink(t)
	l := Load{
		Target: Target{Addr: addr, User: "u@example.net", Password: "pw", Pipelining: pipelining},
		From:   "u@example.net", To: []string{"v@example.net"},
		Clients: 4, PerConn: 3, Size: 4096, Messages: 20,
	}
	r, err := Run(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 20 || r.Failed != 0 || len(r.Latencies) != 20 {
		t.Fatalf("sent %d failed %d latencies %d (%v)", r.Sent, r.Failed, len(r.Latencies), r.FirstErr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) != 20 {
		t.Fatalf("sink got %d distinct messages", len(s.msgs))
	}
	// 20 messages, at most 3 per connection, from 4 clients.
	if s.conns < 7 || s.conns > 10 {
		t.Fatalf("%d connections for 20 messages at 3 per connection", s.conns)
	}
	for seq, b := range s.msgs {
		if len(b) != 4096 || !strings.HasSuffix(string(b), "end "+seq+"\r\n") {
			t.Fatalf("message %s: %d bytes, ends %q", seq, len(b), b[len(b)-20:])
		}
	}
}

func TestRunReportsAuthFailure(t *testing.T) {
	t.Run("waiting", func(t *testing.T) { testReportsAuthFailure(t, false) })
	t.Run("pipelining", func(t *testing.T) { testReportsAuthFailure(t, true) })
}

func testReportsAuthFailure(t *testing.T, pipelining bool) {
	_, addr := startSink(t)
	l := Load{Target: Target{Addr: addr, User: "u@example.net", Password: "wrong", Timeout: 5 * time.Second, Pipelining: pipelining},
		From: "u@example.net", To: []string{"v@example.net"}, Clients: 2, PerConn: 1, Size: 1000, Messages: 4}
	r, err := Run(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 0 || r.Failed != 4 || r.FirstErr == nil || !strings.Contains(r.FirstErr.Error(), "AUTH") {
		t.Fatalf("sent %d failed %d first error %v", r.Sent, r.Failed, r.FirstErr)
	}
}

func TestMessageShape(t *testing.T) {
	for _, size := range []int{0, 200, 10240} {
		m := Message("a@example.net", "b@example.net", "42", size)
		if size >= 200 && len(m) != size {
			t.Errorf("size %d: got %d bytes", size, len(m))
		}
		if !bytes.HasSuffix(m, []byte("end 42\r\n")) || bytes.Contains(bytes.ReplaceAll(m, []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("size %d: bad message %q", size, m)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 1: time.Millisecond} {
		if got := Percentile(ds, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty")
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("Percentile sorted its input in place")
	}
}

// With no message per connection every session logs in and quits:
// Messages counts sessions and the sink sees connections, no mail.
func TestRunSessionsWithoutMessage(t *testing.T) {
	s, addr := startSink(t)
	l := Load{Target: Target{Addr: addr, User: "u@example.net", Password: "pw"},
		From: "u@example.net", To: []string{"v@example.net"}, Clients: 3, PerConn: 0, Messages: 9}
	r, err := Run(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 9 || r.Failed != 0 {
		t.Fatalf("sessions %d failed %d (%v)", r.Sent, r.Failed, r.FirstErr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns != 9 || len(s.msgs) != 0 {
		t.Fatalf("%d connections and %d messages for 9 sessions without mail", s.conns, len(s.msgs))
	}
}

// With ResumeTLS the clients share a session cache: after the first
// connections every handshake resumes (the sink's crypto/tls issues
// tickets); without it none does.
func TestRunResumesTLSSessions(t *testing.T) {
	_, addr := startSink(t)
	for _, resume := range []bool{false, true} {
		l := Load{Target: Target{Addr: addr, User: "u@example.net", Password: "pw", ResumeTLS: resume},
			From: "u@example.net", To: []string{"v@example.net"}, Clients: 2, PerConn: 0, Messages: 10}
		r, err := Run(context.Background(), l)
		if err != nil || r.Sent != 10 {
			t.Fatalf("resume %v: sessions %d, %v (%v)", resume, r.Sent, err, r.FirstErr)
		}
		if resume && r.Resumed < 8 || !resume && r.Resumed != 0 {
			t.Fatalf("resume %v: %d of 10 sessions resumed", resume, r.Resumed)
		}
	}
}

// TestWriteDotStuffed: RFC 5321 §4.5.2: a line starting with "." gets one
// more; content not ending in CRLF gets one before the final ".".
func TestWriteDotStuffed(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\n.b\r\n..c\r\n": "a\r\n..b\r\n...c\r\n.\r\n",
		".\r\n":              "..\r\n.\r\n",
		"no end":             "no end\r\n.\r\n",
		"":                   "\r\n.\r\n",
	} {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		writeDotStuffed(w, []byte(in))
		w.Flush()
		if b.String() != want {
			t.Errorf("%q: got %q, want %q", in, b.String(), want)
		}
	}
}

// HandshakesTo counts handshakes completed against a server it did not
// start: every one the client counts, the server completed.
func TestHandshakesToForeignServer(t *testing.T) {
	cert, err := certs.Load("", "", t.TempDir(), "peer.example")
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", certs.ServerConfig(cert))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var done sync.WaitGroup
	var mu sync.Mutex
	served := 0
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			done.Add(1)
			go func() {
				defer done.Done()
				defer c.Close()
				if c.(*tls.Conn).Handshake() == nil {
					mu.Lock()
					served++
					mu.Unlock()
				}
			}()
		}
	}()
	r, err := HandshakesTo(context.Background(), l.Addr().String(), 4, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	done.Wait()
	if r.Sent == 0 || r.Failed != 0 || served != r.Sent {
		t.Fatalf("client counted %d handshakes (%d failed), server completed %d", r.Sent, r.Failed, served)
	}
}
