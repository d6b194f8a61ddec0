package compose

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/mailbox"
)

var now = time.Date(2026, 12, 2, 10, 30, 0, 0, time.FixedZone("JST", 9*3600))

func opts() Options { return Options{Hostname: "mail.example.net", Now: now} }

func build(t *testing.T, d *Draft, o Options) []byte {
	t.Helper()
	b, err := d.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func header(msg []byte) string {
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	return string(msg[:i+2])
}

// A Japanese message with an attachment comes back from the parser as it
// was written: encoded words in Subject and names, the filename in RFC
// 2231 form, the text and the file's bytes intact, Bcc only where asked.
func TestBuildRoundTrip(t *testing.T) {
	file := make([]byte, 5000)
	for i := range file {
		file[i] = byte(i * 7)
	}
	d := &Draft{
		From: "alice@example.net", FromName: "山田 花子",
		To: "Bob <bob@example.org>, 佐藤 <sato@example.jp>", Cc: "carol@example.org", Bcc: "dave@example.org",
		Subject: "会議の件　（ご確認ください）", Text: "こんにちは。\r\n資料を添付します。\r\n",
		Attachments: []Attachment{{Name: "見積書 2026.pdf", Data: file}, {Name: "notes.txt", Data: []byte("plain\n")}},
	}
	msg := build(t, d, opts())
	h := header(msg)
	for _, want := range []string{
		"Mime-Version: 1.0\r\n", "Date: Wed, 02 Dec 2026 10:30:00 +0900\r\n", "@mail.example.net>\r\n",
		"Subject: =?utf-8?b?", "From: =?utf-8?q?", "Content-Type: multipart/mixed",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("header lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "Bcc") || strings.Contains(h, "dave@") {
		t.Fatalf("Bcc in the sent header:\n%s", h)
	}
	if !bytes.Contains(msg, []byte(`filename*=utf-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8%202026.pdf`)) {
		t.Fatalf("filename not in RFC 2231 form:\n%s", msg)
	}
	for _, line := range strings.Split(string(msg), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line of %d octets", len(line))
		}
	}
	o, err := Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if o.Subject != d.Subject || o.Text != "こんにちは。\n資料を添付します。\n" || o.From[0].Name != "山田 花子" ||
		len(o.To) != 2 || o.To[1].Name != "佐藤" || len(o.Cc) != 1 || len(o.Bcc) != 0 {
		t.Fatalf("parsed back: %+v", o)
	}
	if len(o.Attachments) != 2 || o.Attachments[0].Name != "見積書 2026.pdf" || !bytes.Equal(o.Attachments[0].Data, file) ||
		o.Attachments[0].Type != "application/pdf" || string(o.Attachments[1].Data) != "plain\n" {
		t.Fatalf("attachments: %+v", o.Attachments)
	}
	rcpts, err := d.Recipients()
	if err != nil || strings.Join(rcpts, ",") != "bob@example.org,sato@example.jp,carol@example.org,dave@example.org" {
		t.Fatalf("envelope %v %v", rcpts, err)
	}
	// The draft and Sent copy keep Bcc, and the draft reopens as typed.
	kept := opts()
	kept.KeepBcc = true
	o, err = Parse(build(t, d, kept))
	if err != nil {
		t.Fatal(err)
	}
	again := o.AsDraft()
	if again.Bcc != "dave@example.org" || again.To != "Bob <bob@example.org>, 佐藤 <sato@example.jp>" || again.FromName != d.FromName ||
		again.Subject != d.Subject || len(again.Attachments) != 2 {
		t.Fatalf("reopened draft: %+v", again)
	}
}

// The text part's transfer encoding fits the text (RFC 2045 §6).
func TestTextEncoding(t *testing.T) {
	for text, want := range map[string]string{
		"hello\r\nworld\r\n":              "7bit",
		strings.Repeat("long ascii ", 10): "quoted-printable",
		"café au lait, s'il vous plaît\n": "quoted-printable",
		"日本語のメールです。よろしくお願いします。":           "base64",
	} {
		msg := build(t, &Draft{From: "a@example.net", To: "b@example.org", Text: text}, opts())
		if !strings.Contains(header(msg), "Content-Transfer-Encoding: "+want+"\r\n") {
			t.Errorf("%q: want %s:\n%s", text, want, msg)
		}
		o, err := Parse(msg)
		if err != nil || o.Text != strings.ReplaceAll(text, "\r\n", "\n") {
			t.Errorf("%q came back as %q (%v)", text, o.Text, err)
		}
	}
}

func TestBuildRefusals(t *testing.T) {
	big := &Draft{From: "a@example.net", To: "b@example.org", Attachments: []Attachment{{Name: "x.bin", Data: make([]byte, 10000)}}}
	o := opts()
	o.MaxBytes = 10000
	var tooBig *TooBigError
	if _, err := big.Build(o); !errors.As(err, &tooBig) || tooBig.Max != 10000 || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("10 kB file with a 10 kB limit: %v", err)
	}
	var fe *FieldError
	if _, err := (&Draft{From: "a@example.net", To: "not an address"}).Build(opts()); !errors.As(err, &fe) || fe.Field != "To" {
		t.Fatalf("bad To: %v", err)
	}
	if _, err := (&Draft{From: "a@example.net"}).Recipients(); err != ErrNoRecipient {
		t.Fatalf("no recipient: %v", err)
	}
}

// An ISO-2022-JP original (as Japanese mobile carriers still send) is
// quoted in UTF-8; the reply threads (RFC 5322 §3.6.4) and reply all
// leaves out the account's own addresses.
func TestReplyToISO2022JP(t *testing.T) {
	// "日本語" in ISO-2022-JP, subject "テスト" as an encoded word.
	orig := "Message-ID: <m2@example.org>\r\n" +
		"References: <m0@example.org> <m1@example.org>\r\n" +
		"Date: Tue, 1 Dec 2026 09:00:00 +0900\r\n" +
		"From: Bob <bob@example.org>\r\n" +
		"To: alice@example.net, carol@example.org\r\n" +
		"Cc: AL@example.net, dave@example.org\r\n" +
		"Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n" +
		"Mime-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=ISO-2022-JP\r\n" +
		"Content-Transfer-Encoding: 7bit\r\n\r\n" +
		"\x1b$BF|K\\8l\x1b(B\r\nsecond line\r\n"
	o, err := Parse([]byte(orig))
	if err != nil {
		t.Fatal(err)
	}
	if o.Subject != "テスト" || o.Text != "日本語\nsecond line\n" {
		t.Fatalf("decoded %q / %q", o.Subject, o.Text)
	}
	own := func(a string) bool {
		return strings.EqualFold(a, "alice@example.net") || strings.EqualFold(a, "al@example.net")
	}
	r := o.Reply(false, own, "")
	if r.To != "Bob <bob@example.org>" || r.Cc != "" || r.Subject != "Re: テスト" || r.InReplyTo != "m2@example.org" ||
		strings.Join(r.References, " ") != "m0@example.org m1@example.org m2@example.org" ||
		!strings.Contains(r.Text, "Bob <bob@example.org> wrote:\n> 日本語\n> second line\n") {
		t.Fatalf("reply %+v", r)
	}
	all := o.Reply(true, own, "")
	if all.To != "Bob <bob@example.org>" || all.Cc != "carol@example.org, dave@example.org" {
		t.Fatalf("reply all To %q Cc %q", all.To, all.Cc)
	}
	// "Re: " once, and the built reply carries the thread fields.
	all.From = "alice@example.net"
	again, err := Parse(build(t, all, opts()))
	if err != nil {
		t.Fatal(err)
	}
	if r2 := again.Reply(false, own, ""); r2.Subject != "Re: テスト" || again.InReplyTo != "m2@example.org" || len(again.References) != 3 {
		t.Fatalf("second reply %q, in-reply-to %q, references %v", r2.Subject, again.InReplyTo, again.References)
	}
}

// Without References, the reply's References is the original's
// In-Reply-To then its Message-ID (RFC 5322 §3.6.4).
func TestReplyReferencesFromInReplyTo(t *testing.T) {
	o, _ := Parse([]byte("Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\nFrom: b@example.org\r\nSubject: RE: hi\r\n\r\nx\r\n"))
	r := o.Reply(false, func(string) bool { return false }, "")
	if strings.Join(r.References, " ") != "a@x b@x" || r.Subject != "RE: hi" {
		t.Fatalf("%+v", r)
	}
}

// Forward inline carries text and files; as attachment the original goes
// whole as message/rfc822 in 7bit or 8bit (RFC 2046 §5.2.1).
func TestForward(t *testing.T) {
	src := &Draft{From: "bob@example.org", To: "alice@example.net", Subject: "資料", Text: "see file\n",
		Attachments: []Attachment{{Name: "a.bin", Data: []byte{0, 1, 2, 255}}}}
	raw := build(t, src, opts())
	o, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	f := o.Forward()
	if f.Subject != "Fwd: 資料" || !strings.Contains(f.Text, "Subject: 資料\n") || !strings.Contains(f.Text, "see file") ||
		len(f.Attachments) != 1 || !bytes.Equal(f.Attachments[0].Data, []byte{0, 1, 2, 255}) {
		t.Fatalf("inline forward %+v", f)
	}
	fa := o.ForwardAttached()
	fa.From, fa.To = "alice@example.net", "carol@example.org"
	msg := build(t, fa, opts())
	if !bytes.Contains(msg, []byte("Content-Type: message/rfc822")) || !bytes.Contains(msg, []byte("Content-Transfer-Encoding: 7bit")) {
		t.Fatalf("attached forward:\n%s", msg)
	}
	back, err := Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Attachments) != 1 || !bytes.Equal(back.Attachments[0].Data, raw) || back.Attachments[0].Name != "資料.eml" {
		t.Fatalf("forwarded message not intact: %+v", back.Attachments)
	}
}

// Drafts replace their previous version; the Sent copy is \Seen, the
// draft \Draft, both in the index IMAP reads.
func TestFolders(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "alice")
	f := Folders{MailDir: dir}
	uid1, err := f.SaveDraft([]byte("Subject: v1\r\n\r\n1\r\n"), 0, now)
	if err != nil {
		t.Fatal(err)
	}
	uid2, err := f.SaveDraft([]byte("Subject: v2\r\n\r\n2\r\n"), uid1, now)
	if err != nil {
		t.Fatal(err)
	}
	if msgs := snapshot(t, dir, Drafts); len(msgs) != 1 || msgs[0].UID != uid2 {
		t.Fatalf("Drafts after the second save: %+v (uids %d, %d)", msgs, uid1, uid2)
	}
	if _, err := f.SaveSent([]byte("Subject: s\r\n\r\n"), now); err != nil {
		t.Fatal(err)
	}
	for folder, flags := range map[string]string{Drafts: "DS", Sent: "S"} {
		if msgs := snapshot(t, dir, folder); len(msgs) != 1 || msgs[0].Flags != flags {
			t.Fatalf("%s: %+v, want one message flagged %s", folder, msgs, flags)
		}
	}
	if err := f.DropDraft(uid2); err != nil {
		t.Fatal(err)
	}
	if msgs := snapshot(t, dir, Drafts); len(msgs) != 0 {
		t.Fatalf("sent draft still there: %+v", msgs)
	}
}

func snapshot(t *testing.T, mailDir, folder string) []mailbox.Message {
	t.Helper()
	d, _ := mailbox.FolderDir(mailDir, folder)
	fo, err := mailbox.OpenFolder(d)
	if err != nil {
		t.Fatal(err)
	}
	defer fo.Close()
	return fo.Snapshot()
}

// Line breaks typed into the subject, the name or an address cannot add
// a header field (RFC 5322 §2.2: a field is one logical line).
func TestNoHeaderInjection(t *testing.T) {
	d := &Draft{From: "alice@example.net", FromName: "Al\r\nX-Evil: 1", To: "bob@example.org",
		Subject: "hi\r\nBcc: evil@example.com\nX-Evil: 2", Text: "x"}
	msg := build(t, d, opts())
	h := header(msg)
	if strings.Contains(h, "\nBcc:") || strings.Contains(h, "\nX-Evil:") {
		t.Fatalf("a field was injected:\n%s", h)
	}
	if _, err := (&Draft{From: "alice@example.net", To: "bob@example.org\r\nBcc: evil@example.com"}).Build(opts()); err == nil {
		t.Fatal("an address list with a line break was accepted")
	}
}

// TestFoldersOverQuota: a draft or Sent copy that would take the account
// over its quota is refused with mailbox.ErrOverQuota and stores nothing;
// one that fits exactly is stored.
func TestFoldersOverQuota(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bob")
	f := Folders{MailDir: dir, Quota: 40}
	draft := []byte("Subject: draft\r\n\r\n0123456789\r\n") // 30 octets
	if _, err := f.SaveDraft(draft, 0, now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.SaveDraft(draft, 0, now); !errors.Is(err, mailbox.ErrOverQuota) {
		t.Fatalf("second draft: %v, want ErrOverQuota", err)
	}
	if _, err := f.SaveSent(draft, now); !errors.Is(err, mailbox.ErrOverQuota) || !strings.Contains(err.Error(), "30 of 40 octets used") {
		t.Fatalf("Sent copy: %v, want ErrOverQuota saying 30 of 40 octets used", err)
	}
	if msgs := snapshot(t, dir, Sent); len(msgs) != 0 {
		t.Fatalf("Sent holds %+v, want nothing", msgs)
	}
	if _, err := f.SaveSent([]byte("Subject:\r\n"), now); err != nil { // 10: exactly 40
		t.Fatalf("a copy that fits: %v", err)
	}
}
