package compose

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzBuildRoundTrip: whatever a user types as subject, display name,
// text and file name, Build makes a message with no line over 998 octets
// (RFC 5322 §2.1.1) that parses back to the same subject, text and file.
func FuzzBuildRoundTrip(f *testing.F) {
	f.Add("会議の件", "山田 花子", "こんにちは\n", "見積書.pdf", []byte{0, 1, 2})
	f.Add("Re: =?utf-8?q?x?=", `a "quoted" name`, ".\r\n..\r\nFrom x\n", "a\\b/c.txt", []byte("x"))
	f.Add(strings.Repeat("長い件名", 40), "", strings.Repeat("x", 2000), strings.Repeat("ファイル", 40)+".zip", []byte{})
	f.Add("tab\there", "\x00", "\r\r\n", "", []byte(nil))
	f.Fuzz(func(t *testing.T, subject, name, text, file string, data []byte) {
		d := &Draft{From: "alice@example.net", FromName: name, To: "bob@example.org", Subject: subject, Text: text}
		if file != "" || len(data) > 0 {
			d.Attachments = []Attachment{{Name: file, Data: data}}
		}
		msg, err := d.Build(opts())
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		for _, line := range bytes.Split(msg, []byte("\r\n")) {
			if len(line) > 998 {
				t.Fatalf("line of %d octets", len(line))
			}
		}
		o, err := Parse(msg)
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, msg)
		}
		// go-message's folding may merge a run of spaces where it folds.
		if want := oneLine(subject); squeeze(o.Subject) != squeeze(want) {
			t.Fatalf("subject %q came back %q", want, o.Subject)
		}
		if !utf8.ValidString(text) {
			return
		}
		wantText := strings.ReplaceAll(string(crlf(text)), "\r\n", "\n")
		if o.Text != wantText {
			t.Fatalf("text %q came back %q", wantText, o.Text)
		}
		if len(d.Attachments) == 1 {
			if len(o.Attachments) != 1 || !bytes.Equal(o.Attachments[0].Data, data) || o.Attachments[0].Name != fileName(file) {
				t.Fatalf("attachment %q %x came back %+v", fileName(file), data, o.Attachments)
			}
		}
	})
}

// FuzzParse: any stored message can be opened for a reply, a forward or
// as a draft without a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte("From: a@x\r\nSubject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n\r\nhi\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x<script>y</script>\r\n--b--\r\n"))
	f.Add([]byte("Message-ID: <a@b>\r\nReferences: <x@y> <<<\r\nIn-Reply-To: zz\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := Parse(raw)
		if err != nil {
			return
		}
		o.Reply(true, func(string) bool { return false }, "")
		o.Forward()
		o.ForwardAttached()
		o.AsDraft()
	})
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }
