package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// startDovecot serves maildir over IMAPS with Debian's Dovecot on a
// loopback port (passwd-file auth, indexes outside the Maildir) and
// returns the port. Dovecot will not serve mail as root, so its mail
// process runs as nobody, which is given the Maildir.
func startDovecot(t *testing.T, maildir, user, pw, cert, key string) int {
	t.Helper()
	NeedTool(t, "dovecot")
	work := t.TempDir()
	port := FreePort(t)
	for _, d := range []string{"run", "index", "control", "home", "auth"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "auth", "passwd"), []byte(user+":{PLAIN}"+pw+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// nobody must reach the Maildir and Dovecot's dirs through the
	// (root-owned, 0700) test directories.
	for _, p := range []string{work, maildir} {
		for d := p; d != "/" && d != "/tmp"; d = filepath.Dir(d) {
			os.Chmod(d, 0o711)
		}
	}
	if out, err := exec.Command("chown", "-R", "nobody:nogroup", maildir, filepath.Join(work, "index"),
		filepath.Join(work, "control"), filepath.Join(work, "home")).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	conf := filepath.Join(work, "dovecot.conf")
	cfg := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/run
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <%[2]s
ssl_key = <%[3]s
mail_location = maildir:%[4]s:INDEX=%[1]s/index:CONTROL=%[1]s/control:LAYOUT=maildir++
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = %[5]d
    ssl = yes
  }
}
passdb {
  driver = passwd-file
  args = %[1]s/auth/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=%[1]s/home
}
`, work, cert, key, maildir, port)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Not CombinedOutput: the daemon keeps the pipes open after the
	// starting process exits.
	start := exec.Command("dovecot", "-c", conf)
	start.Stdout, start.Stderr = nil, nil
	if err := start.Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(work, "dovecot.log"))
		t.Fatalf("dovecot: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		exec.Command("dovecot", "-c", conf, "stop").Run()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(work, "dovecot.log"))
			t.Logf("dovecot log:\n%s", log)
		}
	})
	WaitPort(t, fmt.Sprintf("127.0.0.1:%d", port))
	return port
}

// The Maildir mailgate writes is Dovecot's layout: Dovecot, started on the
// same files, sees the messages, the flags set over our IMAP, and the
// folders (Maildir++ ".Name", names in modified UTF-7).
func TestDovecotReadsOurMaildir(t *testing.T) {
	n := mailboxNode(t)
	submitPy(t, n, carol, 2, testMessages(2)...)
	got := imapPy(t, n, carol, carolPW, `
m = login()
m.select("INBOX")
m.store("1", "+FLAGS", "(\\Flagged \\Seen)")
m.create("Entw&APw-rfe")
m.copy("2", "Entw&APw-rfe")
m.logout()
print("ok")
`)
	if got != "ok\n" {
		t.Fatalf("setup: %s", got)
	}
	n.Stop()
	maildir := filepath.Join(n.Dir, "mail", "example.org", "carol")
	port := startDovecot(t, maildir, carol, carolPW, filepath.Join(n.Dir, "selfsigned.crt"), filepath.Join(n.Dir, "selfsigned.key"))
	out := runPy(t, `
import imaplib, ssl, os
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["PORT"]), ssl_context=ctx)
m.login(os.environ["USER"], os.environ["PW"])
print("list", sorted(l.decode().split(' "." ')[-1] for l in m.list()[1]))
print("select", m.select("INBOX")[1][0].decode())
for l in m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1]:
    if isinstance(l, tuple): print("fetch", l[0].decode().split(" BODY")[0], l[1].decode().strip())
print("folder", m.select("Entw&APw-rfe")[1][0].decode())
m.select("INBOX")
m.store("2", "+FLAGS", "(\\Answered)")
m.store("1", "+FLAGS", "(\\Deleted)")
m.expunge()
m.logout()
`, "PORT="+fmt.Sprint(port), "USER="+carol, "PW="+carolPW)
	want := `list ['Drafts', 'Entw&APw-rfe', 'INBOX', 'Junk', 'Sent', 'Trash']
select 2
fetch 1 (FLAGS (\Flagged \Seen \Recent) Subject: msg 1
fetch 2 (FLAGS (\Recent) Subject: msg 2
folder 1
`
	if out != want {
		t.Fatalf("dovecot sees:\n%s\nwant:\n%s", out, want)
	}
	// And back: what Dovecot changed (a flag, an expunge) mailgate picks
	// up from the files, keeping the survivor's UID.
	n.Start()
	m := dialIMAPS(t, n.Addr("imaps"), carol, carolPW)
	m.cmd("SELECT INBOX")
	if f := strings.Join(m.cmd("FETCH 1:* (UID FLAGS)"), "\n"); f != `* 1 FETCH (UID 2 FLAGS (\Answered))` {
		t.Fatalf("mailgate after Dovecot's changes:\n%s", f)
	}
}
