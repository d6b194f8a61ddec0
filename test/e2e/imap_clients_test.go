package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// imapConn is a raw IMAP client for what imaplib cannot do (IDLE).
type imapConn struct {
	t   *testing.T
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func dialIMAPS(t *testing.T, addr, user, pw string) *imapConn {
	t.Helper()
	c := dialTLS(t, addr)
	m := &imapConn{t: t, c: c, r: bufio.NewReader(c)}
	m.line() // greeting
	m.cmd(fmt.Sprintf("LOGIN %s %s", user, pw))
	return m
}

func (m *imapConn) line() string {
	m.t.Helper()
	return readLine(m.t, m.c, m.r, 15*time.Second, "imap")
}

// cmd sends a command and returns the untagged lines; the tagged reply
// must be OK.
func (m *imapConn) cmd(c string) []string {
	m.t.Helper()
	m.tag++
	tag := fmt.Sprintf("t%d", m.tag)
	fmt.Fprintf(m.c, "%s %s\r\n", tag, c)
	var out []string
	for {
		l := m.line()
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				m.t.Fatalf("%s: %s", c, l)
			}
			return out
		}
		out = append(out, l)
	}
}

func TestIMAPIdleSeesNewDelivery(t *testing.T) {
	n := mailboxNode(t)
	submitPy(t, n, carol, 1, testMessage(1))
	m := dialIMAPS(t, n.Addr("imaps"), carol, carolPW)
	sel := strings.Join(m.cmd("SELECT INBOX"), "\n")
	if !strings.Contains(sel, "* 1 EXISTS") {
		t.Fatalf("SELECT: %s", sel)
	}
	fmt.Fprintf(m.c, "i1 IDLE\r\n")
	if l := m.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	submitPy(t, n, carol, 2, testMessage(2))
	if l := m.line(); l != "* 2 EXISTS" {
		t.Fatalf("while idling got %q, want * 2 EXISTS", l)
	}
	// Another session flags and expunges message 1: the idler hears it.
	o := dialIMAPS(t, n.Addr("imaps"), carol, carolPW)
	o.cmd("SELECT INBOX")
	o.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
	if l := m.line(); l != `* 1 FETCH (UID 1 FLAGS (\Deleted))` {
		t.Fatalf("idler got %q", l)
	}
	o.cmd("EXPUNGE")
	if l := m.line(); l != "* 1 EXPUNGE" {
		t.Fatalf("idler got %q", l)
	}
	fmt.Fprintf(m.c, "DONE\r\n")
	if l := m.line(); !strings.HasPrefix(l, "i1 OK") {
		t.Fatalf("DONE: %q", l)
	}
	if f := m.cmd("UID FETCH 1:* (UID)"); len(f) != 1 || f[0] != "* 1 FETCH (UID 2)" {
		t.Fatalf("after IDLE: %q", f)
	}
}

var uidvalidityRE = regexp.MustCompile(`\[UIDVALIDITY (\d+)\]`)

func TestIMAPUIDsStableAcrossRestart(t *testing.T) {
	n := mailboxNode(t)
	submitPy(t, n, carol, 4, testMessages(4)...)
	snapshot := func() (string, string) {
		m := dialIMAPS(t, n.Addr("imaps"), carol, carolPW)
		sel := strings.Join(m.cmd("SELECT INBOX"), "\n")
		v := uidvalidityRE.FindStringSubmatch(sel)
		if v == nil {
			t.Fatalf("no UIDVALIDITY in %s", sel)
		}
		return v[1], strings.Join(m.cmd("FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)"), "\n")
	}
	m := dialIMAPS(t, n.Addr("imaps"), carol, carolPW)
	m.cmd("SELECT INBOX")
	m.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
	m.cmd("STORE 3 +FLAGS.SILENT (\\Seen \\Flagged)")
	m.cmd("EXPUNGE")
	v1, f1 := snapshot()
	n.Stop()
	n.Start()
	v2, f2 := snapshot()
	if v1 != v2 || f1 != f2 {
		t.Fatalf("after restart:\nUIDVALIDITY %s -> %s\n%s\n----\n%s", v1, v2, f1, f2)
	}
	if !strings.Contains(f2, `* 2 FETCH (UID 3 FLAGS (\Flagged \Seen)`) || !strings.Contains(f2, "* 3 FETCH (UID 4 ") {
		t.Fatalf("UIDs after expunge and restart:\n%s", f2)
	}
}

func TestIMAPCurlAndMbsync(t *testing.T) {
	NeedTool(t, "curl")
	n := mailboxNode(t)
	submitPy(t, n, carol, 2, testMessages(2)...)
	files := n.Maildir(carol)
	want2 := readFile(t, files[1])
	if strings.Compare(files[0], files[1]) > 0 {
		want2 = readFile(t, files[0])
	}
	out, err := exec.Command("curl", "-sS", "-k", "--user", carol+":"+carolPW,
		fmt.Sprintf("imaps://127.0.0.1:%d/INBOX;UID=2", n.Ports["imaps"])).CombinedOutput()
	if err != nil || string(out) != want2 {
		t.Fatalf("curl imaps UID=2: %v\n%q\nwant\n%q", err, out, want2)
	}
	out, err = exec.Command("curl", "-sS", "-k", "--ssl-reqd", "--user", carol+":"+carolPW,
		fmt.Sprintf("imap://127.0.0.1:%d/", n.Ports["imap"])).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `* LIST (\HasNoChildren \Sent) "." "Sent"`) {
		t.Fatalf("curl imap LIST with STARTTLS: %v\n%s", err, out)
	}

	NeedTool(t, "mbsync")
	dir := t.TempDir()
	local := filepath.Join(dir, "Mail") + "/"
	os.MkdirAll(local, 0o700)
	rc := filepath.Join(dir, "mbsyncrc")
	cfg := fmt.Sprintf(`IMAPAccount mg
Host 127.0.0.1
Port %d
User %s
Pass %s
SSLType IMAPS
CertificateFile %s
SystemCertificates no

IMAPStore mg-remote
Account mg

MaildirStore local
Path %s
Inbox %sINBOX
SubFolders Verbatim

Channel mg
Far :mg-remote:
Near :local:
Patterns *
Create Near
Sync Pull
SyncState *
`, n.Ports["imaps"], carol, carolPW, filepath.Join(n.Dir, "selfsigned.crt"), local, local)
	if err := os.WriteFile(rc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	mo, err := exec.Command("mbsync", "-c", rc, "-a").CombinedOutput()
	if err != nil {
		t.Fatalf("mbsync: %v\n%s", err, mo)
	}
	got, _ := filepath.Glob(filepath.Join(local, "INBOX", "*", "*"))
	if len(got) != 2 {
		t.Fatalf("mbsync pulled %d INBOX messages\n%s", len(got), mo)
	}
	for _, f := range []string{"Sent", "Drafts", "Trash", "Junk"} {
		if fi, err := os.Stat(filepath.Join(local, f)); err != nil || !fi.IsDir() {
			t.Errorf("mbsync did not create folder %s: %v\n%s", f, err, mo)
		}
	}
}

func TestIMAPSuspendedAndRepeatedFailuresDisconnect(t *testing.T) {
	n := mailboxNode(t)
	n.MustCLI("", "user", "suspend", carol, "--reason", "test")
	c := dialTLS(t, n.Addr("imaps"))
	m := &imapConn{t: t, c: c, r: bufio.NewReader(c)}
	m.line()
	// limits.max_auth_failures is 5 by default.
	for i, creds := range []string{carol + " " + carolPW, "nobody@example.org x", dave + " wrong", dave + " wrong2", dave + " wrong3"} {
		fmt.Fprintf(c, "a%d LOGIN %s\r\n", i, creds)
		l := m.line()
		if i == 4 {
			if l != "* BYE Too many failed logins" {
				t.Fatalf("third failure: %q", l)
			}
			break
		}
		if want := fmt.Sprintf("a%d NO [AUTHENTICATIONFAILED] Authentication failed", i); l != want {
			t.Fatalf("login %d: %q want %q", i, l, want)
		}
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		l, err := m.r.ReadString('\n')
		if err == io.EOF {
			break // closed by the server
		}
		if err != nil {
			t.Fatalf("after BYE: %v, want the connection closed", err)
		}
		if !strings.HasPrefix(l, "a4 ") {
			t.Fatalf("after BYE: %q", l)
		}
	}
	// dave (not suspended) still logs in with the right password.
	d := dialIMAPS(t, n.Addr("imaps"), dave, davePW)
	d.cmd("SELECT INBOX")
}
