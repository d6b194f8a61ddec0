package imapserver_test

// mailgate: COMPRESS=DEFLATE (RFC 4978) on the wire.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

func compressServer(t *testing.T, caps imap.CapSet) string {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("u", "pw")
	user.Create("INBOX", nil)
	msg := "From: a@example.com\r\nSubject: hello\r\n\r\nbody body body body\r\n"
	if _, err := user.Append("INBOX", strings.NewReader(msg), &imap.AppendOptions{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		InsecureAuth: true,
		Caps:         caps,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

var compressCaps = imap.CapSet{imap.CapIMAP4rev1: {}, imapserver.CapCompressDeflate: {}}

// plainClient talks IMAP line by line, in clear.
type plainClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialPlain(t *testing.T, addr string) *plainClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// A guard against a hang only: a response held in the compressor
	// would block the test for good.
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &plainClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.line() // greeting
	return c
}

func (c *plainClient) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (after %q)", err, l)
	}
	return l
}

// command sends a command and returns every line up to the tagged one.
func (c *plainClient) command(tag, cmd string) string {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, tag+" "+cmd+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
	var b strings.Builder
	for {
		l := c.line()
		b.WriteString(l)
		if strings.HasPrefix(l, tag+" ") {
			return b.String()
		}
	}
}

// deflateClient talks through raw DEFLATE both ways and keeps the
// compressed bytes each response came in.
type deflateClient struct {
	t   *testing.T
	raw *recordingReader
	w   *flate.Writer
	r   *bufio.Reader
}

type recordingReader struct {
	r   io.Reader
	got bytes.Buffer
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.got.Write(p[:n])
	return n, err
}

func startDeflate(t *testing.T, c *plainClient) *deflateClient {
	// Bytes the plain reader took past the OK are compressed already.
	raw := &recordingReader{r: io.MultiReader(bytes.NewReader(peekAll(c.r)), c.conn)}
	w, err := flate.NewWriter(c.conn, flate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	return &deflateClient{t: t, raw: raw, w: w, r: bufio.NewReader(flate.NewReader(raw))}
}

func peekAll(r *bufio.Reader) []byte {
	b, _ := r.Peek(r.Buffered())
	return append([]byte(nil), b...)
}

func (c *deflateClient) command(tag, cmd string) string {
	c.t.Helper()
	c.raw.got.Reset()
	if _, err := io.WriteString(c.w, tag+" "+cmd+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
	if err := c.w.Flush(); err != nil {
		c.t.Fatal(err)
	}
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (after %q)", err, b.String()+l)
		}
		b.WriteString(l)
		if strings.HasPrefix(l, tag+" ") {
			return b.String()
		}
	}
}

// The responses after COMPRESS are the same bytes as without it, sent as
// raw DEFLATE that ends each response with a sync flush (RFC 4978 §4):
// the tagged answer arrives without the client sending anything more.
func TestCompressDeflate(t *testing.T) {
	addr := compressServer(t, compressCaps)
	cmds := [][2]string{
		{"S", "SELECT INBOX"},
		{"F", "FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"},
		{"N", "NOOP"},
	}

	plain := dialPlain(t, addr)
	if got := plain.command("L", "LOGIN u pw"); !strings.Contains(got, "L OK [CAPABILITY IMAP4rev1 ") || !strings.Contains(got, " COMPRESS=DEFLATE") {
		t.Fatalf("LOGIN: %q, want COMPRESS=DEFLATE in the capabilities", got)
	}
	var want []string
	for _, c := range cmds {
		want = append(want, plain.command(c[0], c[1]))
	}

	c := dialPlain(t, addr)
	c.command("L", "LOGIN u pw")
	if got := c.command("Z", "COMPRESS DEFLATE"); got != "Z OK DEFLATE active\r\n" {
		t.Fatalf("COMPRESS: %q", got)
	}
	d := startDeflate(t, c)
	for i, cmd := range cmds {
		got := d.command(cmd[0], cmd[1])
		if got != want[i] {
			t.Errorf("%s compressed:\n%q\nwant (as in clear):\n%q", cmd[1], got, want[i])
		}
		if raw := d.raw.got.Bytes(); !bytes.HasSuffix(raw, []byte{0, 0, 0xff, 0xff}) {
			t.Errorf("%s: the compressed response does not end with a sync flush: % x", cmd[1], raw)
		}
	}
	if got := d.command("Y", "COMPRESS DEFLATE"); got != "Y NO [COMPRESSIONACTIVE] DEFLATE is active already (COMPRESS)\r\n" {
		t.Errorf("second COMPRESS: %q", got)
	}
	if got := d.command("O", "LOGOUT"); got != "* BYE Logging out\r\nO OK LOGOUT completed\r\n" {
		t.Errorf("LOGOUT: %q", got)
	}
}

// Before login COMPRESS is not valid (RFC 4978 §5: command-auth), and
// not advertised; the session goes on in clear.
func TestCompressBeforeLogin(t *testing.T) {
	c := dialPlain(t, compressServer(t, compressCaps))
	if got := c.command("C", "CAPABILITY"); strings.Contains(got, "COMPRESS") {
		t.Errorf("CAPABILITY before login: %q", got)
	}
	if got := c.command("Z", "COMPRESS DEFLATE"); got != "Z BAD [CLIENTBUG] This command is only valid in the authenticated state\r\n" {
		t.Errorf("COMPRESS before login: %q", got)
	}
	if got := c.command("N", "NOOP"); got != "N OK NOOP completed\r\n" {
		t.Errorf("NOOP after: %q", got)
	}
}

// Without the capability, or with another mechanism, COMPRESS is BAD and
// nothing changes.
func TestCompressRefused(t *testing.T) {
	c := dialPlain(t, compressServer(t, imap.CapSet{imap.CapIMAP4rev1: {}}))
	if got := c.command("L", "LOGIN u pw"); strings.Contains(got, "COMPRESS") {
		t.Errorf("LOGIN without the capability: %q", got)
	}
	if got := c.command("Z", "COMPRESS DEFLATE"); got != "Z BAD COMPRESS not supported\r\n" {
		t.Errorf("COMPRESS without the capability: %q", got)
	}

	c = dialPlain(t, compressServer(t, compressCaps))
	c.command("L", "LOGIN u pw")
	if got := c.command("Z", "COMPRESS LZMA"); got != "Z BAD Unknown compression mechanism: DEFLATE is the one offered\r\n" {
		t.Errorf("COMPRESS LZMA: %q", got)
	}
	if got := c.command("N", "NOOP"); got != "N OK NOOP completed\r\n" {
		t.Errorf("NOOP after: %q", got)
	}
}

// A client that does not wait for the OK (RFC 4978 §3 says it must) has
// sent its next command compressed: it is read as such.
func TestCompressPipelined(t *testing.T) {
	c := dialPlain(t, compressServer(t, compressCaps))
	c.command("L", "LOGIN u pw")
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	io.WriteString(w, "N NOOP\r\n")
	w.Flush()
	if _, err := c.conn.Write(append([]byte("Z COMPRESS DEFLATE\r\n"), z.Bytes()...)); err != nil {
		t.Fatal(err)
	}
	if got := c.line(); got != "Z OK DEFLATE active\r\n" {
		t.Fatalf("COMPRESS: %q", got)
	}
	d := startDeflate(t, c)
	if l, err := d.r.ReadString('\n'); l != "N OK NOOP completed\r\n" {
		t.Errorf("the pipelined NOOP: %q %v", l, err)
	}
}

// Garbage where DEFLATE is due ends the connection; it does not hang or
// crash the server.
func TestCompressCorruptInput(t *testing.T) {
	c := dialPlain(t, compressServer(t, compressCaps))
	c.command("L", "LOGIN u pw")
	c.command("Z", "COMPRESS DEFLATE")
	c.conn.Write([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if n, err := c.r.Read(make([]byte, 64)); err == nil {
		t.Errorf("read %d bytes after garbage, want the connection closed", n)
	}
}

// An update pushed during IDLE (from another goroutine, not in answer to
// a command) is flushed too: the idling client reads it at once.
func TestCompressIdleUpdate(t *testing.T) {
	addr := compressServer(t, compressCaps)
	c := dialPlain(t, addr)
	c.command("L", "LOGIN u pw")
	c.command("S", "SELECT INBOX")
	c.command("Z", "COMPRESS DEFLATE")
	d := startDeflate(t, c)
	io.WriteString(d.w, "I IDLE\r\n")
	d.w.Flush()
	if l, err := d.r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q %v", l, err)
	}
	other := dialPlain(t, addr)
	other.command("L", "LOGIN u pw")
	if got := other.command("A", "APPEND INBOX {6+}\r\nhello!"); !strings.HasPrefix(got, "A OK") {
		t.Fatalf("APPEND: %q", got)
	}
	if l, err := d.r.ReadString('\n'); l != "* 2 EXISTS\r\n" {
		t.Errorf("update during IDLE: %q %v", l, err)
	}
	io.WriteString(d.w, "DONE\r\n")
	d.w.Flush()
	if l, err := d.r.ReadString('\n'); l != "I OK IDLE completed\r\n" {
		t.Errorf("DONE: %q %v", l, err)
	}
}
