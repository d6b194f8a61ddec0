package imapd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"mailgate/internal/certs"
	"mailgate/internal/mailbox"
	"mailgate/internal/password"
	"mailgate/internal/store"
)

const (
	testUser = "eve@example.org"
	testPW   = "eve-password-9"
)

type fakeDir struct{ hash string }

func (d fakeDir) Account(_ context.Context, addr string) (*store.Account, error) {
	if addr != testUser {
		return nil, store.ErrNotFound
	}
	return &store.Account{Address: testUser, Domain: "example.org", PasswordHash: d.hash, Status: store.StatusActive}, nil
}

// testServer serves IMAPS on loopback over a fresh mail root. IDLE gets
// no fallback poll worth the name: a change must reach it by inotify.
func testServer(t testing.TB) (addr, mailRoot string) {
	t.Helper()
	return testServerLog(t, io.Discard)
}

// testServerLog is testServer logging to logw.
func testServerLog(t testing.TB, logw io.Writer) (addr, mailRoot string) {
	t.Helper()
	return testServerWith(t, logw, nil)
}

// testServerWith is testServerLog with set changing the Server first.
func testServerWith(t testing.TB, logw io.Writer, set func(*Server)) (addr, mailRoot string) {
	t.Helper()
	dir := t.TempDir()
	cert, err := certs.Load("", "", dir, "imap.test")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := password.Hash(testPW)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{TLS: certs.ServerConfig(cert), Dir: fakeDir{hash},
		MailRoot: dir + "/mail", Log: slog.New(slog.NewTextHandler(logw, nil)),
		IdlePoll: 50 * time.Millisecond, IdleFallbackPoll: time.Hour}
	if set != nil {
		set(srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), dir + "/mail"
}

// testServerWithMessages is testServer with messages 1..n delivered to
// INBOX (deliver), the set-up most session tests start from.
func testServerWithMessages(t *testing.T, n int) (addr, mailRoot string) {
	t.Helper()
	addr, mailRoot = testServer(t)
	for i := 1; i <= n; i++ {
		deliver(t, mailRoot, i)
	}
	return addr, mailRoot
}

func deliver(t *testing.T, mailRoot string, i int) {
	t.Helper()
	body := fmt.Sprintf("Subject: m%d\r\n\r\nbody %d\r\n", i, i)
	name := mailbox.DeliveryName(time.Unix(1700000000+int64(i), 0), fmt.Sprintf("k%d.0", i), "mx.test", int64(len(body)))
	dir, err := mailbox.Dir(mailRoot, testUser)
	if err != nil {
		t.Fatal(err)
	}
	if err := mailbox.Deliver(dir, name, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
}

type client struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, c: c, r: bufio.NewReader(c)}
	cl.line()
	cl.do("LOGIN " + testUser + " " + testPW)
	return cl
}

func (c *client) line() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// do runs a command and returns its untagged responses joined by "\n";
// the command must succeed.
func (c *client) do(cmd string) string {
	c.t.Helper()
	c.tag++
	tag := fmt.Sprintf("T%d", c.tag)
	fmt.Fprintf(c.c, "%s %s\r\n", tag, cmd)
	var out []string
	for {
		l := c.line()
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				c.t.Fatalf("%s: %s", cmd, l)
			}
			return strings.Join(out, "\n")
		}
		out = append(out, l)
	}
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

func TestSessionsSeeEachOthersChanges(t *testing.T) {
	addr, root := testServerWithMessages(t, 3)
	a, b := dial(t, addr), dial(t, addr)
	a.do("SELECT INBOX")
	b.do("SELECT INBOX")
	expect(t, "A store", a.do(`STORE 1 +FLAGS (\Seen)`), `* 1 FETCH (FLAGS (\Seen))`)
	expect(t, "B noop", b.do("NOOP"), `* 1 FETCH (UID 1 FLAGS (\Seen))`)
	deliver(t, root, 4)
	expect(t, "B noop after delivery", b.do("NOOP"), "* 4 EXISTS")
	expect(t, "A noop after delivery", a.do("NOOP"), "* 4 EXISTS")
	a.do(`UID STORE 2 +FLAGS.SILENT (\Deleted)`)
	expect(t, "A uid expunge", a.do("UID EXPUNGE 2"), "* 2 EXPUNGE")
	// RFC 9051 §7.5.1: no EXPUNGE during FETCH; B's message 2 is gone
	// from the server, so FETCH returns nothing for it.
	expect(t, "B fetch during pending expunge", b.do("FETCH 2:3 (UID)"),
		"* 3 FETCH (UID 3)\n"+`* 2 FETCH (UID 2 FLAGS (\Deleted))`) // A's flag change, not yet the expunge
	expect(t, "B noop gets the expunge", b.do("NOOP"), "* 2 EXPUNGE")
	expect(t, "B fetch after", b.do("FETCH 1:* (UID FLAGS)"),
		"* 1 FETCH (UID 1 FLAGS (\\Seen))\n* 2 FETCH (UID 3 FLAGS ())\n* 3 FETCH (UID 4 FLAGS ())")
}

func TestSearchResESearchAndListStatus(t *testing.T) {
	addr, _ := testServerWithMessages(t, 3)
	c := dial(t, addr)
	expect(t, "enable", c.do("ENABLE IMAP4rev2"), "* ENABLED IMAP4rev2")
	c.do("SELECT INBOX")
	c.do(`STORE 2 +FLAGS.SILENT (\Seen)`)
	expect(t, "esearch", c.do("SEARCH RETURN (MIN MAX COUNT) UNSEEN"), `* ESEARCH (TAG "T5") MIN 1 MAX 3 COUNT 2`)
	c.do("UID SEARCH RETURN (SAVE) UNSEEN")
	expect(t, "fetch $", c.do("UID FETCH $ (FLAGS)"), "* 1 FETCH (UID 1 FLAGS ())\n* 3 FETCH (UID 3 FLAGS ())")
	expect(t, "search header", c.do("SEARCH RETURN (ALL) SUBJECT m3"), `* ESEARCH (TAG "T8") ALL 3`)
	c.do("CREATE Work")
	c.do("COPY 1:2 Work")
	expect(t, "list-status", c.do(`LIST "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))`),
		`* LIST (\HasNoChildren) "." INBOX`+"\n"+`* STATUS INBOX (MESSAGES 3 UNSEEN 2)`+"\n"+
			`* LIST (\HasNoChildren \Drafts) "." "Drafts"`+"\n"+`* STATUS "Drafts" (MESSAGES 0 UNSEEN 0)`+"\n"+
			`* LIST (\HasNoChildren \Junk) "." "Junk"`+"\n"+`* STATUS "Junk" (MESSAGES 0 UNSEEN 0)`+"\n"+
			`* LIST (\HasNoChildren \Sent) "." "Sent"`+"\n"+`* STATUS "Sent" (MESSAGES 0 UNSEEN 0)`+"\n"+
			`* LIST (\HasNoChildren \Trash) "." "Trash"`+"\n"+`* STATUS "Trash" (MESSAGES 0 UNSEEN 0)`+"\n"+
			`* LIST (\HasNoChildren) "." "Work"`+"\n"+`* STATUS "Work" (MESSAGES 2 UNSEEN 1)`)
	c.do("RENAME INBOX Old")
	expect(t, "inbox after rename", c.do("STATUS INBOX (MESSAGES)"), `* STATUS INBOX (MESSAGES 0)`)
	expect(t, "renamed inbox", c.do("STATUS Old (MESSAGES UNSEEN)"), `* STATUS "Old" (MESSAGES 3 UNSEEN 2)`)
	c.do("CREATE Lists.golang")
	expect(t, "implied parent", c.do(`LIST "" "Lists%"`), `* LIST (\Noselect \HasChildren) "." "Lists"`)
	expect(t, "child", c.do(`LIST "" "Lists.%"`), `* LIST (\HasNoChildren) "." "Lists.golang"`)
	expect(t, "examine read-only store", func() string {
		c.do("EXAMINE Work")
		c.tag++
		fmt.Fprintf(c.c, "T%d STORE 1 +FLAGS (\\Deleted)\r\n", c.tag)
		return c.line()
	}(), fmt.Sprintf("T%d NO [READ-ONLY] Mailbox is read-only (EXAMINE)", c.tag))
}

func TestIdleSeesDeliveryUnit(t *testing.T) {
	testIdleSeesDelivery(t)
}

// Without inotify (a kernel or file system without it) IDLE polls every
// IdlePoll and still sees every delivery.
func TestIdleSeesDeliveryByPolling(t *testing.T) {
	startWatcher = func() (*dirWatcher, error) { return nil, errors.New("no inotify in this test") }
	defer func() { startWatcher = newDirWatcher }()
	testIdleSeesDelivery(t)
}

func testIdleSeesDelivery(t *testing.T) {
	addr, root := testServer(t)
	deliver(t, root, 1)
	// Two sessions idle on the same folder: one poller serves both.
	var cs []*client
	for i := 0; i < 2; i++ {
		c := dial(t, addr)
		c.do("SELECT INBOX")
		fmt.Fprintf(c.c, "I1 IDLE\r\n")
		if l := c.line(); !strings.HasPrefix(l, "+ ") {
			t.Fatalf("IDLE: %q", l)
		}
		cs = append(cs, c)
	}
	deliver(t, root, 2)
	for i, c := range cs {
		expect(t, fmt.Sprintf("idle update %d", i), c.line(), "* 2 EXISTS")
	}
	fmt.Fprintf(cs[0].c, "DONE\r\n")
	if l := cs[0].line(); !strings.HasPrefix(l, "I1 OK") {
		t.Fatalf("DONE: %q", l)
	}
	// The other one still idles and still hears deliveries.
	deliver(t, root, 3)
	expect(t, "idle update after the first left", cs[1].line(), "* 3 EXISTS")
	fmt.Fprintf(cs[1].c, "DONE\r\n")
	if l := cs[1].line(); !strings.HasPrefix(l, "I1 OK") {
		t.Fatalf("DONE: %q", l)
	}
	expect(t, "first session catches up", cs[0].do("NOOP"), "* 3 EXISTS")
}

// A delivery after SELECT but before IDLE, while nobody watched the folder,
// is reported once IDLE starts: the poller syncs before it waits for events.
func TestIdleReportsDeliveryBeforeIdle(t *testing.T) {
	addr, root := testServer(t)
	deliver(t, root, 1)
	c := dial(t, addr)
	c.do("SELECT INBOX")
	deliver(t, root, 2)
	fmt.Fprintf(c.c, "I1 IDLE\r\n")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	expect(t, "update for the earlier delivery", c.line(), "* 2 EXISTS")
	fmt.Fprintf(c.c, "DONE\r\n")
	if l := c.line(); !strings.HasPrefix(l, "I1 OK") {
		t.Fatalf("DONE: %q", l)
	}
}

// TestLogoutClosesTheConnection: after LOGOUT's OK the server closes
// (RFC 9051 §6.1.3), also for a client that waits for it to: the read
// loop must not wait for the client's next bytes first (go-imap's reader
// now waits for input before each command to hold no buffer meanwhile).
func TestLogoutClosesTheConnection(t *testing.T) {
	addr, _ := testServer(t)
	c := dial(t, addr)
	c.do("LOGOUT")
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("after LOGOUT read %q, %v; want EOF (the server closes)", b, err)
	}
}
