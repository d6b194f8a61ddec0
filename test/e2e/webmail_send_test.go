package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// imapFolderScript prints, as JSON, every message of one folder as
// Python's email package reads it over IMAP (implicit TLS): flags,
// thread fields, Bcc, the text and each attachment's name and SHA-256.
const imapFolderScript = `
import imaplib, ssl, sys, json, email, hashlib
from email import policy
hostport, user, pw, folder = sys.argv[1:5]
h, p = hostport.rsplit(":", 1)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL(h, int(p), ssl_context=ctx)
m.login(user, pw)
typ, _ = m.select(folder, readonly=True)
if typ != "OK":
    sys.exit("select " + folder + ": " + typ)
typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
out = []
for d in data:
    if not isinstance(d, tuple):
        continue
    msg = email.message_from_bytes(d[1], policy=policy.default)
    atts = [{"name": a.get_filename(), "sha256": hashlib.sha256(a.get_payload(decode=True)).hexdigest()} for a in msg.iter_attachments()]
    body = msg.get_body(preferencelist=("plain",))
    out.append({"fetch": d[0].decode(), "subject": str(msg["subject"] or ""), "message_id": str(msg["message-id"] or ""),
        "in_reply_to": str(msg["in-reply-to"] or ""), "references": str(msg["references"] or ""), "bcc": str(msg["bcc"] or ""),
        "received": str(msg["received"] or ""), "text": body.get_content() if body else "", "atts": atts})
m.logout()
print(json.dumps(out))
`

type imapMsg struct {
	Fetch      string `json:"fetch"`
	Subject    string `json:"subject"`
	MessageID  string `json:"message_id"`
	InReplyTo  string `json:"in_reply_to"`
	References string `json:"references"`
	Bcc        string `json:"bcc"`
	Received   string `json:"received"`
	Text       string `json:"text"`
	Atts       []struct {
		Name   string `json:"name"`
		SHA256 string `json:"sha256"`
	} `json:"atts"`
}

func imapFolder(t *testing.T, n *Node, user, pw, folder string) []imapMsg {
	t.Helper()
	out, err := exec.Command("python3", "-c", imapFolderScript, n.Addr("imaps"), user, pw, folder).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib %s %s: %v\n%s", user, folder, err, out)
	}
	var msgs []imapMsg
	if err := json.Unmarshal(out, &msgs); err != nil {
		t.Fatalf("imaplib output %q: %v", out, err)
	}
	return msgs
}

// smtpSpoofScript is SMTP submission's answer to the same spoofed sender,
// through Python's smtplib on port 465.
const smtpSpoofScript = `
import smtplib, ssl, sys
hostport, user, pw, sender = sys.argv[1:5]
h, p = hostport.rsplit(":", 1)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP_SSL(h, int(p), context=ctx)
s.login(user, pw)
try:
    s.sendmail(sender, ["taro@example.jp"], "From: " + sender + "\r\nSubject: spoof\r\n\r\nx\r\n")
    print("accepted")
except smtplib.SMTPSenderRefused as e:
    print(e.smtp_code, e.smtp_error.decode())
`

func browserLogin(t *testing.T, ctx context.Context, https, user, pw, next, waitFor string) {
	t.Helper()
	run(t, ctx, "log in as "+user,
		chromedp.Navigate(https+next),
		chromedp.WaitVisible(`#login`, chromedp.ByQuery),
		chromedp.SendKeys(`#user`, user, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, pw, chromedp.ByQuery),
		chromedp.Click(`#login`, chromedp.ByQuery),
		chromedp.WaitVisible(waitFor, chromedp.ByQuery))
}

// TestWebmailSendBrowser drives the compose page in chromium: a message
// with an attachment and a Bcc reaches the local users intact over IMAP
// and lands in Sent; the reply, started from the reading page, threads
// (In-Reply-To, References); a From the account does not own gets the
// very reply SMTP submission gives; a draft is saved to Drafts and
// reopened from there.
func TestWebmailSendBrowser(t *testing.T) {
	NeedTool(t, "python3")
	n := webNode(t, "")
	n.AddUser("taro@example.jp", "correct horse")
	n.AddUser("hanako@example.jp", "battery staple")
	n.AddUser("jiro@example.jp", "jiro password")
	n.Start()
	ctx := browser(t)
	https := "https://" + n.Addr("https")

	file := make([]byte, 300<<10)
	for i := range file {
		file[i] = byte(i*31 + i>>9)
	}
	path := filepath.Join(t.TempDir(), "報告書 2026.pdf")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(file)

	// Taro writes to Hanako with Jiro in Bcc and a file attached.
	browserLogin(t, ctx, https, "taro@example.jp", "correct horse", "/mail/compose", "#composeform")
	var sent string
	run(t, ctx, "compose and send",
		chromedp.SendKeys(`#to`, "Hanako <hanako@example.jp>", chromedp.ByQuery),
		chromedp.SendKeys(`#bcc`, "jiro@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#subject`, "報告書を送ります", chromedp.ByQuery),
		chromedp.SendKeys(`#body`, "花子さん\n報告書を添付します。\n", chromedp.ByQuery),
		chromedp.SetUploadFiles(`#attach`, []string{path}, chromedp.ByQuery),
		chromedp.Click(`#send`, chromedp.ByQuery),
		chromedp.WaitVisible(`#sent`, chromedp.ByQuery),
		chromedp.Text(`#sent`, &sent, chromedp.ByQuery))
	if !strings.Contains(sent, "queue ID") {
		t.Fatalf("after send: %q", sent)
	}
	shot(t, ctx, "webmail-sent")
	n.WaitMaildir("hanako@example.jp", 1)
	n.WaitMaildir("jiro@example.jp", 1)
	got := imapFolder(t, n, "hanako@example.jp", "battery staple", "INBOX")
	if len(got) != 1 || got[0].Subject != "報告書を送ります" || !strings.Contains(got[0].Text, "報告書を添付します。") || got[0].Bcc != "" ||
		len(got[0].Atts) != 1 || got[0].Atts[0].Name != "報告書 2026.pdf" || got[0].Atts[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("Hanako's INBOX over IMAP: %+v", got)
	}
	if !strings.Contains(got[0].Received, "with HTTPS") || !strings.Contains(got[0].Received, "authenticated sender: taro@example.jp") {
		t.Errorf("Received field of a webmail message: %q", got[0].Received)
	}
	original := got[0].MessageID
	if jiro := imapFolder(t, n, "jiro@example.jp", "jiro password", "INBOX"); len(jiro) != 1 || jiro[0].MessageID != original || jiro[0].Bcc != "" {
		t.Fatalf("Jiro's (Bcc) INBOX: %+v", jiro)
	}
	// Taro's Sent copy: same message, \Seen, Bcc kept for him.
	if s := imapFolder(t, n, "taro@example.jp", "correct horse", "Sent"); len(s) != 1 || s[0].MessageID != original ||
		!strings.Contains(s[0].Fetch, `\Seen`) || s[0].Bcc != "jiro@example.jp" || len(s[0].Atts) != 1 {
		t.Fatalf("Taro's Sent over IMAP: %+v", s)
	}

	// Hanako replies from the reading page.
	run(t, ctx, "log out", chromedp.Click(`form[action="/logout"] button`, chromedp.ByQuery), chromedp.WaitVisible(`a[href^="/login"]`, chromedp.ByQuery))
	browserLogin(t, ctx, https, "hanako@example.jp", "battery staple", "/mail/", "#compose")
	var subject, to string
	run(t, ctx, "reply",
		chromedp.Navigate(https+"/mail/msg?uid=1"),
		chromedp.Click(`#reply`, chromedp.ByQuery),
		chromedp.WaitVisible(`#composeform`, chromedp.ByQuery),
		chromedp.Value(`#subject`, &subject, chromedp.ByQuery),
		chromedp.Value(`#to`, &to, chromedp.ByQuery))
	if subject != "Re: 報告書を送ります" || !strings.Contains(to, "taro@example.jp") {
		t.Fatalf("reply form: subject %q, to %q", subject, to)
	}
	shot(t, ctx, "webmail-reply")
	run(t, ctx, "send the reply",
		chromedp.Click(`#body`, chromedp.ByQuery), chromedp.KeyEvent("受け取りました。"),
		chromedp.Click(`#send`, chromedp.ByQuery),
		chromedp.WaitVisible(`#sent`, chromedp.ByQuery))
	n.WaitMaildir("taro@example.jp", 1)
	reply := imapFolder(t, n, "taro@example.jp", "correct horse", "INBOX")
	if len(reply) != 1 || reply[0].InReplyTo != original || !strings.Contains(reply[0].References, original) ||
		!strings.Contains(reply[0].Text, "> 報告書を添付します。") {
		t.Fatalf("the reply in Taro's INBOX (original %s): %+v", original, reply)
	}
	if s := imapFolder(t, n, "hanako@example.jp", "battery staple", "Sent"); len(s) != 1 || s[0].InReplyTo != original {
		t.Fatalf("Hanako's Sent: %+v", s)
	}

	// A From Hanako does not own: the page shows submission's own reply.
	out, err := exec.Command("python3", "-c", smtpSpoofScript, n.Addr("submissions"), "hanako@example.jp", "battery staple", "taro@example.jp").CombinedOutput()
	if err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	smtpReply := strings.TrimSpace(string(out))
	if !strings.HasPrefix(smtpReply, "550 5.7.1 ") {
		t.Fatalf("SMTP submission took a spoofed sender: %q", smtpReply)
	}
	var pageReply string
	run(t, ctx, "spoofed From",
		chromedp.Navigate(https+"/mail/compose"),
		chromedp.WaitVisible(`#composeform`, chromedp.ByQuery),
		chromedp.Evaluate(`(() => { const o = document.createElement("option"); o.value = o.text = "taro@example.jp"; const s = document.getElementById("from"); s.appendChild(o); s.value = "taro@example.jp"; })()`, nil),
		chromedp.SendKeys(`#to`, "jiro@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#subject`, "not from taro", chromedp.ByQuery),
		chromedp.Click(`#send`, chromedp.ByQuery),
		chromedp.WaitVisible(`#smtpreply`, chromedp.ByQuery),
		chromedp.Text(`#smtpreply`, &pageReply, chromedp.ByQuery))
	if pageReply != smtpReply {
		t.Fatalf("webmail said %q, SMTP submission %q", pageReply, smtpReply)
	}
	shot(t, ctx, "webmail-spoof-refused")
	if s := imapFolder(t, n, "hanako@example.jp", "battery staple", "Sent"); len(s) != 1 {
		t.Fatalf("a refused message was filed in Sent: %+v", s)
	}

	// A draft: saved, in Drafts as \Draft over IMAP, reopened from the
	// Drafts folder with its fields.
	run(t, ctx, "save a draft",
		chromedp.Navigate(https+"/mail/compose"),
		chromedp.WaitVisible(`#composeform`, chromedp.ByQuery),
		chromedp.SendKeys(`#to`, "jiro@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#subject`, "下書き e2e", chromedp.ByQuery),
		chromedp.SendKeys(`#body`, "まだ途中です", chromedp.ByQuery),
		chromedp.Click(`#save`, chromedp.ByQuery),
		chromedp.WaitVisible(`#saved`, chromedp.ByQuery))
	drafts := imapFolder(t, n, "hanako@example.jp", "battery staple", "Drafts")
	if len(drafts) != 1 || drafts[0].Subject != "下書き e2e" || !strings.Contains(drafts[0].Fetch, `\Draft`) {
		t.Fatalf("Drafts over IMAP: %+v", drafts)
	}
	uid := regexp.MustCompile(`UID (\d+)`).FindStringSubmatch(drafts[0].Fetch)
	var body string
	run(t, ctx, "reopen the draft",
		chromedp.Navigate(https+"/mail/msg?f=Drafts&uid="+uid[1]),
		chromedp.Click(`#editdraft`, chromedp.ByQuery),
		chromedp.WaitVisible(`#composeform`, chromedp.ByQuery),
		chromedp.Value(`#subject`, &subject, chromedp.ByQuery),
		chromedp.Value(`#body`, &body, chromedp.ByQuery))
	if subject != "下書き e2e" || strings.TrimSpace(body) != "まだ途中です" {
		t.Fatalf("reopened draft: subject %q, body %q", subject, body)
	}
	shot(t, ctx, "webmail-draft")
}

// TestWebmailComposeCSRFCurl: a logged-in session's POST to
// /mail/compose without the form's token, or from another origin, is
// refused; the same post with the token sends.
func TestWebmailComposeCSRFCurl(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	https := "https://" + n.Addr("https")
	sess := curlLogin(t, https, "taro@example.jp", "correct horse")
	jar, tok := sess.jar, sess.token
	form := []string{"-F", "action=send", "-F", "from=taro@example.jp", "-F", "to=taro@example.jp", "-F", "subject=csrf", "-F", "body=x"}
	if code, resp := curl(t, append([]string{"-b", jar}, append(form, https+"/mail/compose")...)...); code != 403 {
		t.Errorf("POST without token: %d\n%s", code, resp)
	}
	if code, resp := curl(t, append([]string{"-b", jar, "-F", "csrf=" + strings.Repeat("A", 43)}, append(form, https+"/mail/compose")...)...); code != 403 {
		t.Errorf("POST with a wrong token: %d\n%s", code, resp)
	}
	if code, resp := curl(t, append([]string{"-b", jar, "-H", "Origin: https://evil.example", "-F", "csrf=" + tok}, append(form, https+"/mail/compose")...)...); code != 403 {
		t.Errorf("POST from another origin: %d\n%s", code, resp)
	}
	if got := n.SettledMaildir("taro@example.jp"); len(got) != 0 {
		t.Fatalf("a refused post delivered: %v", got)
	}
	code, resp := curl(t, append([]string{"-b", jar, "-F", "csrf=" + tok}, append(form, https+"/mail/compose")...)...)
	if code != 200 || !strings.Contains(resp, `id="sent"`) {
		t.Fatalf("POST with the token: %d\n%s", code, resp)
	}
	n.WaitMaildir("taro@example.jp", 1)
}

// TestWebmailToRemoteIsDKIMSigned: a message sent from the webmail to
// another domain leaves through remote delivery DKIM-signed with the
// sender domain's key (go-msgauth verifies it against the test DNS), with
// its attachment, and the Received field of the webmail.
func TestWebmailToRemoteIsDKIMSigned(t *testing.T) {
	NeedTool(t, "curl")
	port := FreePort(t)
	sk := startSink(t, "127.0.0.1", port, "")
	d := startDNS(t, "far.test. 60 IN MX 10 mx.far.test.", "mx.far.test. 60 IN A 127.0.0.1")
	n := remoteNode(t, d, port, nil)
	d.add(t, strings.TrimSpace(n.MustCLI("", "dkim", "keygen", "ours.test", "--selector", "web1")))
	n.Start()
	https := "https://" + n.Addr("https")
	sess := curlLogin(t, https, rmSender, rmSenderPW)
	jar, tok := sess.jar, sess.token
	file := filepath.Join(t.TempDir(), "data.bin")
	os.WriteFile(file, bytes.Repeat([]byte{0, 1, 2, 0xfe, 0xff}, 4000), 0o600)
	code, resp := curl(t, "-b", jar, "-F", "csrf="+tok, "-F", "action=send", "-F", "from="+rmSender, "-F", "fromname=Carol",
		"-F", "to=Dave <dave@far.test>", "-F", "subject=signed from webmail", "-F", "body=hello from the browser",
		"-F", "attach=@"+file, https+"/mail/compose")
	if code != 200 || !strings.Contains(resp, `id="sent"`) {
		t.Fatalf("send: %d\n%s", code, resp)
	}
	got := sk.wait(t, 1, n)
	m := toCRLF(got[0])
	header, _ := splitMessage(t, m)
	if headerCount(header, "DKIM-Signature") != 1 || !strings.Contains(header, "d=ours.test") || !strings.Contains(header, "s=web1") ||
		!strings.Contains(header, "with HTTPS") || !strings.Contains(m, "filename=data.bin") {
		t.Fatalf("at the remote MX:\n%s", m)
	}
	verifyDKIMGo(t, d, m)
}

// TestWebmailFleetComposeGoesHome: bob's mailbox lives on node-b. Logged
// in to node-a's webmail he sends a message with a file: node-a proxies
// the multipart post to node-b, which checks the token, submits, files
// the Sent copy in its Maildir; the message reaches bob intact, and
// node-a never makes a Maildir for bob.
func TestWebmailFleetComposeGoesHome(t *testing.T) {
	NeedTool(t, "curl")
	nodes := startFleet(t)
	a := "https://" + nodes[0].Addr("https")
	s := curlLogin(t, a, bob, bobPW)
	file := filepath.Join(t.TempDir(), "fleet.bin")
	data := bytes.Repeat([]byte("fleet\x00\xff"), 30000)
	os.WriteFile(file, data, 0o600)
	code, resp := curl(t, "-b", s.jar, "-F", "csrf="+s.token, "-F", "action=send", "-F", "from="+bob, "-F", "to="+bob,
		"-F", "subject=through node-a", "-F", "body=hi", "-F", "attach=@"+file, a+"/mail/compose")
	if code != 200 || !strings.Contains(resp, `id="sent"`) {
		t.Fatalf("send through node-a: %d\n%s\nnode-a log:\n%s", code, resp, nodes[0].Log())
	}
	got := nodes[1].WaitMaildir(bob, 1)
	b, _ := os.ReadFile(got[0])
	if !bytes.Contains(b, []byte("Subject: through node-a")) || !bytes.Contains(b, []byte("filename=fleet.bin")) {
		t.Fatalf("bob's message on node-b:\n%.2000s", b)
	}
	sent, _ := filepath.Glob(filepath.Join(nodes[1].Dir, "mail", "example.net", "bob", ".Sent", "cur", "*"))
	if len(sent) != 1 {
		t.Fatalf("Sent copies on node-b: %v", sent)
	}
	for _, i := range []int{0, 2} {
		if m, _ := filepath.Glob(filepath.Join(nodes[i].Dir, "mail", "example.net", "bob")); len(m) != 0 {
			t.Errorf("%s made a Maildir for bob: %v", nodes[i].Name, m)
		}
	}
}
