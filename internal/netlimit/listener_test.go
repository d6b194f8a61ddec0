package netlimit

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailgate/internal/certs"
)

var testReplies = Replies{PerSource: "421 per source\r\n", Total: "421 total\r\n"}

// scriptedListener returns the scripted errors, then conn, then
// net.ErrClosed.
type scriptedListener struct {
	mu   sync.Mutex
	errs []error
	conn net.Conn
}

func (l *scriptedListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, err
	}
	if l.conn != nil {
		c := l.conn
		l.conn = nil
		return c, nil
	}
	return nil, net.ErrClosed
}
func (l *scriptedListener) Close() error   { return nil }
func (l *scriptedListener) Addr() net.Addr { return &net.TCPAddr{} }

func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func testLimiter(limits Limits) (*Limiter, *logBuf) {
	buf := &logBuf{}
	return New("test", limits, testReplies, slog.New(slog.NewTextHandler(buf, nil))), buf
}

// The bug of issue 15 §1: EMFILE from accept ended the POP3 loop, and the
// node with it. The wrapper waits and accepts again, logging once.
func TestAcceptRetriesTemporaryErrors(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	inner := &scriptedListener{conn: server, errs: []error{
		acceptErr(syscall.EMFILE), acceptErr(syscall.EMFILE), acceptErr(syscall.ENFILE),
		acceptErr(syscall.ENOBUFS), acceptErr(syscall.ECONNABORTED), acceptErr(syscall.ENOMEM),
	}}
	lim, log := testLimiter(Limits{})
	c, err := lim.Listen(inner, nil).Accept()
	if err != nil {
		t.Fatalf("Accept = %v, want the connection after the temporary errors", err)
	}
	if c.(*Conn).Conn != server {
		t.Fatal("Accept returned another connection")
	}
	if n := strings.Count(log.String(), "accept failed, retrying"); n != 1 {
		t.Errorf("logged %d times, want once per minute:\n%s", n, log)
	}
	if !strings.Contains(log.String(), "too many open files") {
		t.Errorf("log does not name the error:\n%s", log)
	}
}

func TestAcceptReturnsErrorsOfTheListenerItself(t *testing.T) {
	for _, want := range []error{net.ErrClosed, acceptErr(syscall.EBADF), acceptErr(syscall.EINVAL)} {
		lim, _ := testLimiter(Limits{})
		_, err := lim.Listen(&scriptedListener{errs: []error{want}}, nil).Accept()
		if err != want {
			t.Errorf("Accept = %v, want %v returned", err, want)
		}
	}
}

// endlessEMFILE fails every Accept until closed.
type endlessEMFILE struct{ scriptedListener }

func (l *endlessEMFILE) Accept() (net.Conn, error) { return nil, acceptErr(syscall.EMFILE) }

func TestCloseEndsAcceptDuringBackoff(t *testing.T) {
	lim, _ := testLimiter(Limits{})
	l := lim.Listen(&endlessEMFILE{}, nil)
	done := make(chan error)
	go func() { _, err := l.Accept(); done <- err }()
	l.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
}

// tcpListener serves lim on loopback; admitted connections are sent on
// the returned channel and never read.
func tcpListener(t *testing.T, lim *Limiter, conf *tls.Config) (string, <-chan net.Conn) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := lim.Listen(inner, conf)
	t.Cleanup(func() { l.Close() })
	admitted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			admitted <- c
		}
	}()
	return inner.Addr().String(), admitted
}

func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mustBeAdmitted fails the test if c is refused instead.
func mustBeAdmitted(t *testing.T, c net.Conn, admitted <-chan net.Conn) {
	t.Helper()
	refused := make(chan string, 1)
	go func() {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(c)
		refused <- string(b)
	}()
	select {
	case <-admitted:
	case b := <-refused:
		t.Fatalf("connection refused: %q", b)
	}
}

// refusal reads what a refused client gets: the reply, then the close.
func refusal(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the refusal: %v (got %q)", err, b)
	}
	return string(b)
}

func TestPerSourceCapRefusesAndCloseFreesTheSlot(t *testing.T) {
	lim, log := testLimiter(Limits{MaxPerSource: 2, MaxTotal: 10})
	addr, admitted := tcpListener(t, lim, nil)
	dialFrom(t, "127.0.0.1", addr)
	dialFrom(t, "127.0.0.1", addr)
	first := <-admitted
	<-admitted
	if got := refusal(t, dialFrom(t, "127.0.0.1", addr)); got != testReplies.PerSource {
		t.Fatalf("third connection got %q, want %q", got, testReplies.PerSource)
	}
	// Another source still gets in.
	dialFrom(t, "127.0.0.2", addr)
	<-admitted
	// The server closing a connection frees its slot at once.
	first.Close()
	if lim.Count() != 2 {
		t.Fatalf("Count = %d after a close, want 2", lim.Count())
	}
	dialFrom(t, "127.0.0.1", addr)
	<-admitted
	if !strings.Contains(log.String(), "connections refused") {
		t.Errorf("refusal not logged:\n%s", log)
	}
}

// Issue 13 §4: a client that closed its connection must find its slot
// free at once, before the session serving it has read the EOF (here it
// never reads at all).
func TestClientCloseFreesTheSlot(t *testing.T) {
	lim, _ := testLimiter(Limits{MaxPerSource: 1, MaxTotal: 10})
	addr, admitted := tcpListener(t, lim, nil)
	for i := 0; i < 20; i++ {
		c := dialFrom(t, "127.0.0.1", addr)
		mustBeAdmitted(t, c, admitted)
		c.Close()
	}
	if got := lim.Count(); got != 1 {
		t.Errorf("Count = %d, want 1 (the last connection, whose close nobody looked at yet)", got)
	}
}

func TestTotalCapRefusesEveryone(t *testing.T) {
	lim, _ := testLimiter(Limits{MaxPerSource: 5, MaxTotal: 2})
	addr, admitted := tcpListener(t, lim, nil)
	dialFrom(t, "127.0.0.1", addr)
	dialFrom(t, "127.0.0.2", addr)
	<-admitted
	<-admitted
	if got := refusal(t, dialFrom(t, "127.0.0.3", addr)); got != testReplies.Total {
		t.Fatalf("connection over the total got %q, want %q", got, testReplies.Total)
	}
}

// On an implicit-TLS port the refusal comes after the handshake: the
// client reads nothing but TLS.
func TestRefusalOverImplicitTLS(t *testing.T) {
	cert, err := certs.Load("", "", t.TempDir(), "mail.test.example")
	if err != nil {
		t.Fatal(err)
	}
	lim, _ := testLimiter(Limits{MaxPerSource: 1, MaxTotal: 10})
	addr, admitted := tcpListener(t, lim, certs.ServerConfig(cert))
	dialFrom(t, "127.0.0.1", addr)
	<-admitted
	c := tls.Client(dialFrom(t, "127.0.0.1", addr), &tls.Config{InsecureSkipVerify: true})
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != testReplies.PerSource {
		t.Fatalf("TLS client got %q (%v), want %q", line, err, testReplies.PerSource)
	}
}

func TestSourceKeyCountsIPv6PerSlash64(t *testing.T) {
	key := func(s string) netip.Addr {
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		return sourceKey(a)
	}
	if key("[2001:db8:1:2::1]:1000") != key("[2001:db8:1:2:ffff:ffff:ffff:ffff]:2000") {
		t.Error("two addresses of one /64 count apart")
	}
	if key("[2001:db8:1:2::1]:1000") == key("[2001:db8:1:3::1]:1000") {
		t.Error("two /64s count together")
	}
	if key("[::ffff:192.0.2.1]:25") != key("192.0.2.1:25") || key("192.0.2.1:25") == key("192.0.2.2:25") {
		t.Error("IPv4 sources not counted per address")
	}
}

// deadlineConn records the read deadline the socket was given.
type deadlineConn struct {
	net.Conn
	read time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error { c.read = t; return nil }
func (c *deadlineConn) SetWriteDeadline(time.Time) error  { return nil }
func (c *deadlineConn) RemoteAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func TestLoginDeadlineClampsReadsUntilLoggedIn(t *testing.T) {
	lim, _ := testLimiter(Limits{LoginTimeout: time.Hour})
	raw := &deadlineConn{}
	c := newConn(raw, lim)
	loginBy := raw.read
	if loginBy.IsZero() {
		t.Fatal("no read deadline at accept: a client that never sends a TLS hello would stay")
	}
	c.SetReadDeadline(time.Time{})
	if !raw.read.Equal(loginBy) {
		t.Errorf("no deadline asked: socket got %v, want the login deadline %v", raw.read, loginBy)
	}
	soon := time.Now().Add(time.Minute)
	c.SetDeadline(soon)
	if !raw.read.Equal(soon) {
		t.Errorf("an earlier deadline: socket got %v, want %v", raw.read, soon)
	}
	c.SetReadDeadline(loginBy.Add(time.Hour))
	if !raw.read.Equal(loginBy) {
		t.Errorf("a later deadline: socket got %v, want the login deadline", raw.read)
	}
	tlsWrapped := tls.Server(c, &tls.Config{})
	LoggedIn(tlsWrapped)
	if want := loginBy.Add(time.Hour); !raw.read.Equal(want) {
		t.Errorf("after login: socket got %v, want the session's own %v", raw.read, want)
	}
	c.SetReadDeadline(time.Time{})
	if !raw.read.IsZero() {
		t.Errorf("after login: socket got %v, want none", raw.read)
	}
	if LoginExpired(tlsWrapped) {
		t.Error("LoginExpired after login")
	}
}

func TestLoginExpiredAfterTheDeadline(t *testing.T) {
	lim, _ := testLimiter(Limits{LoginTimeout: time.Millisecond, MaxTotal: 10, MaxPerSource: 10})
	addr, admitted := tcpListener(t, lim, nil)
	dialFrom(t, "127.0.0.1", addr)
	c := <-admitted
	c.SetReadDeadline(time.Time{}) // a session asking for none is still bounded
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read = %v, want a timeout at the login deadline", err)
	}
	if !LoginExpired(c) {
		t.Error("LoginExpired = false after the deadline")
	}
}
