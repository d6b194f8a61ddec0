package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"log/slog"
	"mailgate/internal/sessions"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailgate/internal/certs"
	"mailgate/internal/password"
	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// until reads lines up to and including the first starting with OK, NO or BYE.
func (c *client) until() string {
	c.t.Helper()
	var b strings.Builder
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := c.r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			c.t.Fatalf("read: %v after %q", err, b.String())
		}
		if strings.HasPrefix(line, "OK") || strings.HasPrefix(line, "NO") || strings.HasPrefix(line, "BYE") {
			return b.String()
		}
	}
}

func (c *client) cmd(line, wantLast string) string {
	c.t.Helper()
	io.WriteString(c.conn, line+"\r\n")
	got := c.until()
	lines := strings.Split(strings.TrimSuffix(got, "\r\n"), "\r\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, wantLast) {
		c.t.Fatalf("%s:\n%s\nwant last line to start with %q", line, got, wantLast)
	}
	return got
}

func startServer(t *testing.T) (addr string) { return startServerWith(t, nil) }

// startServerWith starts a server that setup, when not nil, adjusts.
func startServerWith(t *testing.T, setup func(*Server, *store.Store)) (addr string) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	if err := st.AddDomain(ctx, "test", "isp.example"); err != nil {
		t.Fatal(err)
	}
	hash, err := password.Hash("ann-secret-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddAccount(ctx, "test", "ann@isp.example", hash); err != nil {
		t.Fatal(err)
	}
	cert, err := certs.Load("", "", t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{TLS: certs.ServerConfig(cert), Store: st, Settings: sessions.Settings{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	if setup != nil {
		setup(srv, st)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func dial(t *testing.T, addr string) *client {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	greeting := c.until()
	for _, want := range []string{"\"IMPLEMENTATION\" \"mailgate\"\r\n", "\"STARTTLS\"\r\n", "\"SASL\" \"\"\r\n", "\"VERSION\" \"1.0\"\r\n", "OK "} {
		if !strings.Contains(greeting, want) {
			t.Fatalf("greeting lacks %q:\n%s", want, greeting)
		}
	}
	return c
}

func (c *client) starttls() {
	c.cmd("STARTTLS", "OK")
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	c.conn, c.r = tc, bufio.NewReader(tc)
	caps := c.until()
	if !strings.Contains(caps, "\"SASL\" \"PLAIN\"\r\n") || strings.Contains(caps, "STARTTLS") {
		c.t.Fatalf("capabilities after STARTTLS:\n%s", caps)
	}
}

func plain(user, pw string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pw))
}

func TestManageSieveSession(t *testing.T) {
	c := dial(t, startServer(t))
	c.cmd(`AUTHENTICATE "PLAIN" "`+plain("ann@isp.example", "ann-secret-1")+`"`, "NO (ENCRYPT-NEEDED)")
	c.cmd("LISTSCRIPTS", "NO")
	c.starttls()
	c.cmd(`AUTHENTICATE "PLAIN" "`+plain("ann@isp.example", "wrong")+`"`, "NO")
	// The challenge form: an empty string, answered with the response.
	io.WriteString(c.conn, "AUTHENTICATE \"PLAIN\"\r\n")
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, _ := c.r.ReadString('\n'); line != "\"\"\r\n" {
		t.Fatalf("challenge %q", line)
	}
	c.cmd(`"`+plain("ann@isp.example", "ann-secret-1")+`"`, "OK")

	c.cmd(`CHECKSCRIPT "keep;"`, "OK")
	if got := c.cmd("CHECKSCRIPT {20+}\r\nkeep;\r\nfileinto \"x\";", "NO"); !strings.Contains(got, `NO "2:1: command 'fileinto' needs require \"fileinto\""`) {
		t.Errorf("CHECKSCRIPT error: %q", got)
	}
	script := "require \"fileinto\";\r\nif header :contains \"subject\" \"x\" { fileinto \"X\"; }\r\n"
	c.cmd("PUTSCRIPT \"main\" {"+itoa(len(script))+"+}\r\n"+script, "OK")
	c.cmd(`PUTSCRIPT "other" "discard;"`, "OK")
	c.cmd(`PUTSCRIPT "bad" "frobnicate;"`, "NO")
	c.cmd(`SETACTIVE "main"`, "OK")
	if got := c.cmd("LISTSCRIPTS", "OK"); !strings.HasPrefix(got, "\"main\" ACTIVE\r\n\"other\"\r\nOK") {
		t.Errorf("LISTSCRIPTS:\n%s", got)
	}
	if got := c.cmd(`GETSCRIPT "main"`, "OK"); !strings.HasPrefix(got, "{"+itoa(len(script))+"}\r\n"+script+"\r\nOK") {
		t.Errorf("GETSCRIPT:\n%q", got)
	}
	c.cmd(`GETSCRIPT "nope"`, "NO (NONEXISTENT)")
	c.cmd(`DELETESCRIPT "main"`, "NO (ACTIVE)")
	c.cmd(`RENAMESCRIPT "other" "main"`, "NO (ALREADYEXISTS)")
	c.cmd(`RENAMESCRIPT "other" "spare"`, "OK")
	c.cmd(`DELETESCRIPT "spare"`, "OK")
	c.cmd(`HAVESPACE "x" 100`, "OK")
	c.cmd(`HAVESPACE "x" 10000000`, "NO (QUOTA/MAXSIZE)")
	c.cmd(`SETACTIVE ""`, "OK")
	if got := c.cmd("LISTSCRIPTS", "OK"); !strings.HasPrefix(got, "\"main\"\r\nOK") {
		t.Errorf("LISTSCRIPTS after SETACTIVE \"\":\n%s", got)
	}
	c.cmd("NOOP", "OK")
	c.cmd(`NOOP "STARTTLS-RESYNC-CAPA"`, `OK (TAG "STARTTLS-RESYNC-CAPA")`)
	c.cmd("FROB", "NO")
	c.cmd("LOGOUT", "OK")
}

func TestManageSieveClosesAfterFailedLogins(t *testing.T) {
	c := dial(t, startServer(t))
	c.starttls()
	c.cmd(`AUTHENTICATE "PLAIN" "`+plain("ann@isp.example", "x1")+`"`, "NO")
	c.cmd(`AUTHENTICATE "PLAIN" "`+plain("nobody@isp.example", "x2")+`"`, "NO")
	c.cmd(`AUTHENTICATE "PLAIN" "`+plain("ann@isp.example", "x3")+`"`, "BYE")
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Error("connection still open after the third failed login")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestManageSieveConfiguredQuotas: config [sieve]'s quotas are what
// HAVESPACE and PUTSCRIPT answer, and its max_redirects is announced.
func TestManageSieveConfiguredQuotas(t *testing.T) {
	c := dial(t, startServerWith(t, func(srv *Server, st *store.Store) {
		st.SetSieveQuota(store.SieveQuota{MaxScripts: 1, MaxScriptBytes: 10})
		srv.MaxRedirects = 2
	}))
	io.WriteString(c.conn, "CAPABILITY\r\n")
	if caps := c.until(); !strings.Contains(caps, "\"MAXREDIRECTS\" \"2\"\r\n") {
		t.Errorf("capabilities lack MAXREDIRECTS 2:\n%s", caps)
	}
	c.starttls()
	c.cmd(`AUTHENTICATE "PLAIN" "`+plain("ann@isp.example", "ann-secret-1")+`"`, "OK")
	c.cmd(`HAVESPACE "a" 11`, "NO (QUOTA/MAXSIZE)")
	c.cmd(`HAVESPACE "a" 10`, "OK")
	c.cmd(`PUTSCRIPT "a" "keep; keep; keep;"`, "NO (QUOTA/MAXSIZE)")
	c.cmd(`PUTSCRIPT "a" "keep;"`, "OK")
	c.cmd(`HAVESPACE "a" 10`, "OK")
	c.cmd(`HAVESPACE "b" 5`, "NO (QUOTA/MAXSCRIPTS)")
	c.cmd(`PUTSCRIPT "b" "keep;"`, "NO")
	c.cmd(`CHECKSCRIPT "keep; keep; keep;"`, "NO")
}
