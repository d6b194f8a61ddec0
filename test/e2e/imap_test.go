package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

// imapPy runs an imaplib script with HOST/PORT/USER/PW set; the script
// gets `ctx` (no certificate check: the node's certificate is self-signed)
// and `login()` (IMAP4_SSL on imaps, logged in as USER).
func imapPy(t *testing.T, n *Node, user, pw, body string, env ...string) string {
	t.Helper()
	prelude := `
import imaplib, ssl, os, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def login():
    m = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAPS"]), ssl_context=ctx)
    m.login(os.environ["USER"], os.environ["PW"])
    return m
def d(x):
    if isinstance(x, bytes): return x.decode()
    if isinstance(x, tuple): return tuple(d(i) for i in x)
    if isinstance(x, list): return [d(i) for i in x]
    return x
`
	return runPy(t, prelude+body, append(env, "IMAP="+fmt.Sprint(n.Ports["imap"]), "IMAPS="+fmt.Sprint(n.Ports["imaps"]),
		"USER="+user, "PW="+pw)...)
}

func TestIMAPStartTLSLoginAndDefaultFolders(t *testing.T) {
	n := mailboxNode(t)
	got := imapPy(t, n, carol, carolPW, `
m = imaplib.IMAP4("127.0.0.1", int(os.environ["IMAP"]))
print("caps", "LOGINDISABLED" in m.capabilities, "STARTTLS" in m.capabilities, "AUTH=PLAIN" in m.capabilities)
try:
    m.login(os.environ["USER"], os.environ["PW"]); print("login accepted without TLS!")
except imaplib.IMAP4.error as e:
    print("refused", d(e.args[0]))
m.starttls(ssl_context=ctx)
print("caps-tls", "LOGINDISABLED" in m.capabilities, "AUTH=PLAIN" in m.capabilities)
try:
    m.login(os.environ["USER"], "wrong")
except imaplib.IMAP4.error as e:
    print("badpw", d(e.args[0]))
print(d(m.login(os.environ["USER"], os.environ["PW"]))[0])
typ, lst = m.list()
for l in sorted(d(lst)): print("list", l)
typ, lst = m.lsub()
print("lsub", len(lst))
m.logout()
m = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAPS"]), ssl_context=ctx)
print("imaps", d(m.authenticate("PLAIN", lambda _: ("\0" + os.environ["USER"] + "\0" + os.environ["PW"]).encode()))[0])
m.logout()
`)
	want := `caps True True False
refused [PRIVACYREQUIRED] TLS is required to authenticate
caps-tls False True
badpw [AUTHENTICATIONFAILED] Authentication failed
OK
list (\HasNoChildren \Drafts) "." "Drafts"
list (\HasNoChildren \Junk) "." "Junk"
list (\HasNoChildren \Sent) "." "Sent"
list (\HasNoChildren \Trash) "." "Trash"
list (\HasNoChildren) "." INBOX
lsub 4
imaps OK
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestIMAPMessagesFlagsCopyMoveExpungeAppend(t *testing.T) {
	n := mailboxNode(t)
	multipart := "From: dave@example.org\nTo: carol@example.org\nSubject: with attachment\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain; charset=utf-8\n\nhello part one\n" +
		"--XX\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n--XX--\n"
	submitPy(t, n, carol, 3, testMessage(1), multipart, testMessage(3))
	files := n.Maildir(carol)
	sort.Strings(files)
	stored := readFile(t, files[1])
	out := filepath.Join(t.TempDir(), "out")
	got := imapPy(t, n, carol, carolPW, `
m = login()
typ, data = m.select("INBOX")
print("select", d(data), d(m.untagged_responses.get("UIDVALIDITY", [b"?"]))[0] != "?", d(m.untagged_responses.get("UIDNEXT")))
typ, data = m.fetch("2", "(UID RFC822.SIZE FLAGS BODY.PEEK[])")
print("fetch2", d(data[0][0]))
open(os.environ["OUT"], "wb").write(data[0][1])
typ, data = m.fetch("2", "(BODYSTRUCTURE)")
print("bs", d(data[0]))
typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT]<0.8>)")
print("partial", d(data[0][1]).strip(), "|", d(data[1][1]))
typ, data = m.fetch("2", "(BODY.PEEK[2])")
print("part2", d(data[0][1]).strip())
typ, data = m.fetch("3", "(BODY[TEXT])")
print("seen-side-effect", "\\Seen" in d(data[0][0]) or "\\Seen" in d(data[1] if len(data) > 1 else ""))
print("store", d(m.store("1", "+FLAGS", "(\\Flagged \\Answered)")[1]))
print("uid-store", d(m.uid("STORE", "2", "+FLAGS.SILENT", "(\\Deleted)")[1]))
print("search-flagged", d(m.search(None, "FLAGGED")[1]))
print("search-subject", d(m.search(None, "SUBJECT", "attachment")[1]))
print("search-body", d(m.search(None, "BODY", "\"part one\"")[1]))
print("search-unseen", d(m.search(None, "UNSEEN")[1]))
print("uid-search", d(m.uid("SEARCH", "1:*")[1]))
typ, data = m.copy("1", "Sent")
print("copy", typ, d(data))
typ, data = m.uid("MOVE", "3", "Trash")
print("move", typ, d(m.untagged_responses.get("EXPUNGE")))
typ, data = m.expunge()
print("expunge", typ, d(data))
typ, data = m.fetch("1:*", "(UID FLAGS)")
print("left", d(data))
typ, data = m.append("Drafts", "(\\Draft \\Seen)", imaplib.Time2Internaldate(1700000000), b"Subject: draft\r\n\r\nwip\r\n")
print("append", typ, d(data))
print("status", d(m.status("Drafts", "(MESSAGES UIDNEXT UNSEEN)")[1]))
print("status-trash", d(m.status("Trash", "(MESSAGES)")[1]))
print("create", m.create("Projects.2026")[0], m.create("Projects.2026")[0])
print("rename", m.rename("Projects.2026", "Archive.2026")[0])
print("subscribe", m.subscribe("Archive.2026")[0])
print("lsub", [l for l in d(m.lsub()[1]) if "Archive" in l])
print("list", d(m.list("\"\"", "Archive*")[1]))
print("delete", m.delete("Archive.2026")[0], m.select("Nope")[0])
print("utf7", m.create("Entw&APw-rfe")[0], [l for l in d(m.list()[1]) if "Entw" in l])
m.logout()
`, "OUT="+out)
	got = regexp.MustCompile(`(COPYUID|APPENDUID) \d+ `).ReplaceAllString(got, "$1 V ")
	want := `select ['3'] True ['4']
fetch2 2 (UID 2 FLAGS () RFC822.SIZE ` + fmt.Sprint(len(stored)) + ` BODY[] {` + fmt.Sprint(len(stored)) + `}
bs 2 (BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 14 0 NIL NIL NIL NIL)("application" "octet-stream" NIL NIL NIL "base64" 8 NIL NIL NIL NIL) "mixed" ("boundary" "XX") NIL NIL NIL))
partial Subject: msg 1 | line one
part2 aGVsbG8=
seen-side-effect True
store ['1 (FLAGS (\\Flagged \\Answered))']
uid-store [None]
search-flagged ['1']
search-subject ['2']
search-body ['2']
search-unseen ['1 2']
uid-search ['1 2 3']
copy OK ['[COPYUID V 1 1] COPY completed']
move OK ['3']
expunge OK ['3', '2']
left ['1 (UID 1 FLAGS (\\Flagged \\Answered))']
append OK ['[APPENDUID V 1] APPEND completed']
status ['"Drafts" (MESSAGES 1 UIDNEXT 2 UNSEEN 0)']
status-trash ['"Trash" (MESSAGES 1)']
create OK NO
rename OK
subscribe OK
lsub ['(\\HasNoChildren \\Subscribed) "." "Archive.2026"']
list ['(\\Noselect \\HasChildren) "." "Archive"', '(\\HasNoChildren) "." "Archive.2026"']
delete OK NO
utf7 OK ['(\\HasNoChildren) "." "Entw&APw-rfe"']
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	// FETCH BODY[] is the stored file, byte for byte.
	if b := readFile(t, out); b != stored {
		t.Errorf("FETCH BODY[]:\n%q\nstored:\n%q", b, stored)
	}
	// Flags live in the Maildir names (Dovecot-compatible): INBOX keeps
	// message 1 as ":2,FR"; Sent got a copy, Trash the moved message,
	// Drafts the appended one with D and S; the moved and the expunged
	// are gone from INBOX.
	dir := filepath.Dir(filepath.Dir(files[0]))
	for _, c := range []struct {
		pattern string
		want    int
	}{
		{"cur/*:2,FR", 1}, {"cur/*", 1}, {"new/*", 0},
		{".Entw&APw-rfe/cur", 1}, // modified UTF-7 on disk, like Dovecot
		{".Sent/cur/*:2,FR", 1}, {".Trash/cur/*:2,S", 1}, {".Drafts/cur/*:2,DS", 1},
	} {
		m, _ := filepath.Glob(filepath.Join(dir, c.pattern))
		if len(m) != c.want {
			t.Errorf("%s: %d files, want %d", c.pattern, len(m), c.want)
		}
	}
	drafts, _ := filepath.Glob(filepath.Join(dir, ".Drafts/cur/*"))
	if len(drafts) == 1 {
		if b := readFile(t, drafts[0]); b != "Subject: draft\r\n\r\nwip\r\n" {
			t.Errorf("appended message %q", b)
		}
		if fi, _ := os.Stat(drafts[0]); fi.ModTime().Unix() != 1700000000 {
			t.Errorf("internal date of APPEND not kept: %v", fi.ModTime())
		}
	}
}
