package e2e

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the audit log, read without the sqlite3 command
)

// rootWarning is the line serve prints when started as root.
const rootWarning = "mailgate: warning: running as root: run as an unprivileged user, see `mailgate config systemd`"

// TestServeWarnsAsRoot: serve started as root (the tests run as root)
// says what to do, in its banner and its log, and serves all the same.
func TestServeWarnsAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	n := NewNode(t, "", "")
	n.Start()
	if !strings.Contains(n.Log(), rootWarning+"\n") || !strings.Contains(n.Log(), "level=WARN msg=\"running as root") {
		t.Fatalf("no warning about root:\n%s", n.Log())
	}
}

// systemUser creates a system user without a home for the test (removed
// at cleanup) and returns its name, uid and gid.
func systemUser(t *testing.T) (name string, uid, gid int) {
	t.Helper()
	NeedTool(t, "useradd")
	NeedTool(t, "userdel")
	name = fmt.Sprintf("mgtest-%d", os.Getpid())
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return name, uid, gid
}

// TestCLIActsAsDataDirOwner: a node set up as README "Running as a
// service" says, data_dir owned by an unprivileged user serve runs as
// (setpriv, high loopback ports: no capability needed). Root's CLI adds
// alice, and after a delivery lowers her quota under her usage, which
// stores a quota notice straight into her Maildir: the CLI acts as
// data_dir's owner, so every file under data_dir stays that user's and
// the served IMAP and POP3 (imaplib, poplib) read the notice. Run as
// root, the notice was root's, mode 0600, and the daemon failed to read it.
func TestCLIActsAsDataDirOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	setpriv := NeedTool(t, "setpriv")
	name, uid, gid := systemUser(t)
	n := NewNode(t, "", "[mailbox]\nquota_warnings = [80, 95]\n")
	// The user must reach data_dir and the binary through the test's
	// private (0700) temporary directories.
	for _, d := range []string{filepath.Dir(n.Dir), filepath.Dir(binary)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	if err := filepath.Walk(n.Dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		t.Fatal(err)
	}
	n.Wrap = []string{setpriv, fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", gid), "--clear-groups", "--"}
	n.Start()
	if strings.Contains(n.Log(), "running as root") {
		t.Fatalf("serve as %s warns of root:\n%s", name, n.Log())
	}

	n.AddUser(alice, alicePW)
	if out := quotaMXPy(t, n, fmt.Sprintf("tx([], [%q], 9000)", alice)); out != "rcpt "+alice+" 250 \ndata 250 2.0.0 OK\n" {
		t.Fatalf("delivery: %s", out)
	}
	disk, _ := maildirOctets(t, n, alice)
	// At 90 % of the new quota: the 80 % notice, written by the CLI.
	n.MustCLI("", "user", "quota", alice, fmt.Sprint(disk*10/9))
	wantNotices(t, n, alice, "quota lowered by root's CLI", 80)
	// The audit log names who ran the command, not the user it acted as.
	// Read through Go's SQLite driver: the sqlite3 command is not on a
	// fresh Debian, and a check that runs only where it is would pass
	// unseen where it is not.
	db, err := sql.Open("sqlite", filepath.Join(n.Dir, "mailgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var actors []string
	rows, err := db.Query("SELECT actor FROM audit WHERE action = 'user.quota'")
	if err != nil {
		t.Fatalf("audit of user quota: %v", err)
	}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		actors = append(actors, a)
	}
	if err := rows.Err(); err != nil || len(actors) != 1 || actors[0] != "cli:root" {
		t.Fatalf("audit actors of user quota: %q, %v; want [cli:root]", actors, err)
	}

	imap := imapPy(t, n, alice, alicePW, `
m = login()
typ, data = m.select("INBOX")
print(typ, d(data[0]))
typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT AUTO-SUBMITTED)])")
print(typ, sum(1 for x in data if isinstance(x, tuple) and b"Auto-Submitted: auto-generated" in x[1]))
m.logout()
`)
	if imap != "OK 2\nOK 1\n" {
		t.Fatalf("IMAP: %q, want both messages and one notice", imap)
	}
	pop := runPy(t, `
import poplib, ssl, os
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL("127.0.0.1", int(os.environ["POP3S"]), context=ctx)
p.user(os.environ["USER"]); p.pass_(os.environ["PW"])
count, _ = p.stat()
notices = 0
for i in range(1, count + 1):
    if b"Auto-Submitted: auto-generated" in p.retr(i)[1]: notices += 1
print(count, notices)
p.quit()
`, "POP3S="+fmt.Sprint(n.Ports["pop3s"]), "USER="+alice, "PW="+alicePW)
	if pop != "2 1\n" {
		t.Fatalf("POP3: %q, want both messages and one notice", pop)
	}
	if out, err := exec.Command("find", n.Dir, "-not", "-user", name).CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("files under data_dir not owned by %s (%v):\n%s", name, err, out)
	}
}
