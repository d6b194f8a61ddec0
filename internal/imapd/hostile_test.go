package imapd

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailgate/internal/mailbox"
)

// send writes one raw command line (or several) and returns every line up
// to the tagged answer of tag.
func (c *client) send(raw, tag string) string {
	c.t.Helper()
	fmt.Fprint(c.c, raw)
	var out []string
	for {
		l := c.line()
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			return strings.Join(out, "\n")
		}
	}
}

// Issue 15 §4: names the library could not decode were NO [SERVERBUG],
// logged nowhere; they are the client's error, NO [CANNOT] with a reason.
// Decoded names go on to the mailbox package's checks.
func TestCreateHostileNames(t *testing.T) {
	addr, _ := testServer(t)
	c := dial(t, addr)
	const refused = "NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 9051 section 5.1.3) or has control characters"
	for i, raw := range []string{
		"CREATE &AC4ALg-\r\n",       // ".." encoded
		"CREATE &AC8-etc\r\n",       // "/etc" encoded
		"CREATE \"a\x00b\"\r\n",     // NUL
		"CREATE {3+}\r\na\x00b\r\n", // NUL in a literal
		"RENAME Drafts &AC4ALg-\r\n",
	} {
		tag := fmt.Sprintf("H%d", i)
		expect(t, raw, c.send(tag+" "+raw, tag), tag+" "+refused)
	}
	for i, name := range []string{`".."`, `"a/b"`, `"/etc"`, `"a..b"`, `"a.."`} {
		tag := fmt.Sprintf("N%d", i)
		got := c.send(tag+" CREATE "+name+"\r\n", tag)
		if !strings.HasPrefix(got, tag+" NO [CANNOT] ") || !strings.Contains(got, "invalid folder name") {
			t.Errorf("CREATE %s: %s", name, got)
		}
	}
	c.do("NOOP")
}

// SEARCH nested past go-imap's list depth, longer than its command line
// or with more keys than maxSearchKeys is BAD with a reason (it was NO
// [SERVERBUG], and the rest of an over-long line was read as commands);
// the session goes on.
func TestSearchTooComplexIsBad(t *testing.T) {
	addr, root := testServer(t)
	deliver(t, root, 1)
	c := dial(t, addr)
	c.do("SELECT INBOX")
	for _, tc := range []struct{ search, want string }{
		{strings.Repeat("(", 100000) + "ALL" + strings.Repeat(")", 100000), "BAD [CLIENTBUG] Syntax error: lists nested deeper than 1000"},
		{strings.Repeat("OR SUBJECT x ", 9999) + "SUBJECT y", "BAD [TOOBIG] Command line too long"},
		{strings.Repeat("OR ALL ", 3000) + "ALL", "BAD [LIMIT] SEARCH has more than 1000 keys (NOT and OR included); split it"},
		{strings.Repeat("NOT ", 5000) + "ALL", "BAD [LIMIT] SEARCH has more than 1000 keys (NOT and OR included); split it"},
		{strings.Repeat("SUBJECT {4000+}\r\n"+strings.Repeat("x", 4000)+" ", 20) + "ALL", "BAD [TOOBIG] Command line too long"},
	} {
		expect(t, tc.search[:20], c.send("S SEARCH "+tc.search+"\r\n", "S"), "S "+tc.want)
		expect(t, "SEARCH after it", c.do("SEARCH OR SUBJECT m1 NOT ALL"), "* SEARCH 1")
	}
}

// A LOGIN literal of 4 GB is refused at once: synchronizing, the client
// gets NO [TOOBIG] instead of a continuation and may go on; with LITERAL+
// the bytes are already coming, so the answer is followed by the end of
// the connection (RFC 7888 §4) rather than a 30 s wait for a line end.
func TestLoginHugeLiteralRefusedPromptly(t *testing.T) {
	addr, _ := testServer(t)
	c := rawDial(t, addr)
	expect(t, "sync literal", c.send("L1 LOGIN {4294967296}\r\n", "L1"),
		"L1 NO [TOOBIG] Literals are limited to 4096 bytes for this command")
	c.do("NOOP")
	expect(t, "non-sync literal", c.send("L2 LOGIN {4294967296+}\r\nAAAAAAAAAAAAAAAA", "L2"),
		"L2 NO [TOOBIG] Literals are limited to 4096 bytes for this command")
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := c.r.ReadString('\n'); err == nil {
		t.Errorf("connection still open after a refused LITERAL+: %q", l)
	} else if os.IsTimeout(err) {
		t.Errorf("connection held open after a refused LITERAL+")
	}
}

func rawDial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, c: conn, r: bufio.NewReader(conn)}
	c.line()
	return c
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// An internal error (here a message file the index names that cannot be
// read) is answered NO [SERVERBUG] and logged with the command and the
// account; go-imap alone logged it at debug level only.
func TestInternalErrorIsLogged(t *testing.T) {
	var logs lockedBuffer
	addr, root := testServerLog(t, &logs)
	deliver(t, root, 1)
	c := dial(t, addr)
	c.do("SELECT INBOX")
	dir, err := mailbox.Dir(root, testUser)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "cur", "*"))
	if len(files) != 1 {
		t.Fatalf("cur/ holds %v", files)
	}
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(files[0], 0o700); err != nil { // read(2) on it fails with EISDIR
		t.Fatal(err)
	}
	expect(t, "FETCH", c.send("F FETCH 1 (BODY.PEEK[])\r\n", "F"), "F NO [SERVERBUG] Internal server error")
	if l := logs.String(); !strings.Contains(l, `msg="imap: command failed" command=FETCH tag=F account=eve@example.org err=`) ||
		!strings.Contains(l, "is a directory") || strings.Count(l, "level=ERROR") != 1 {
		t.Errorf("log:\n%s", l)
	}
	c.do("NOOP")
}

// An APPEND past the limit is refused before its continuation: the client
// sent nothing more and the session goes on; with LITERAL+ the message is
// on its way and the connection ends after the answer.
func TestAppendTooBigRefused(t *testing.T) {
	addr, _ := testServer(t)
	c := dial(t, addr)
	expect(t, "sync", c.send("A1 APPEND INBOX {999999999}\r\n", "A1"),
		"A1 NO [TOOBIG] Literals are limited to 52428800 bytes for this command")
	expect(t, "APPEND after it", c.do("APPEND INBOX {5+}\r\nx\r\n\r\n"), "")
	expect(t, "non-sync", c.send("A2 APPEND INBOX {999999999+}\r\nSubject: x\r\n", "A2"),
		"A2 NO [TOOBIG] Literals are limited to 52428800 bytes for this command")
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := c.r.ReadString('\n'); err == nil || os.IsTimeout(err) {
		t.Errorf("connection open after a refused LITERAL+ APPEND: %q %v", l, err)
	}
}

// What go-imap itself answers NO [SERVERBUG] (an error of its own, not of
// a session method) or a panic it recovered from is logged at error level;
// a client going away stays at debug level.
func TestLibraryFailuresLoggedAsErrors(t *testing.T) {
	var logs lockedBuffer
	a := logAdapter{slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	a.Printf("handling %v command (tag %v): %v", "SEARCH", "A1", "imapserver: failed to enumerate")
	a.Printf("panic handling command: %v\n%s", "boom", "stack")
	a.Printf("failed to read command: %v", "EOF")
	if got := strings.Count(logs.String(), "level=ERROR"); got != 2 {
		t.Errorf("%d lines at error level:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), `level=DEBUG msg=imap msg="failed to read command: EOF"`) {
		t.Errorf("log:\n%s", logs.String())
	}
}
