// Package compose builds the messages a webmail user writes: a new
// message, a reply, a forward, a draft. It only makes RFC 5322 / MIME
// bytes (go-message) and reads the originals they answer; sending is
// smtpd.Submit's, filing into Drafts and Sent is Folders'.
package compose

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"

	"mailgate/internal/message"
	"mailgate/internal/webmail"
)

// Draft is a message as the compose form holds it.
type Draft struct {
	// From is the sender's address (one the account owns: Submit checks
	// it); FromName its display name.
	From, FromName string
	// To, Cc and Bcc are address lists as typed: "Name <a@x>, b@y".
	To, Cc, Bcc string
	Subject     string
	Text        string
	// InReplyTo and References are message IDs without angle brackets
	// (RFC 5322 §3.6.4).
	InReplyTo  string
	References []string
	// Attachments, in order.
	Attachments []Attachment
}

// Attachment is one attached file.
type Attachment struct {
	Name string // file name as the user sees it
	Type string // media type; "" guesses from the name
	Data []byte
}

// Options are what Build needs besides the draft.
type Options struct {
	// Hostname is the right side of the Message-ID (RFC 5322 §3.6.4).
	Hostname string
	// Now is the Date field (RFC 5322 §3.6.1).
	Now time.Time
	// MaxBytes refuses a message larger than this (the submission size
	// limit); 0 is no limit.
	MaxBytes int64
	// KeepBcc writes the Bcc field: for a draft and the Sent copy, never
	// for the message sent (RFC 5322 §3.6.3: Bcc recipients are not shown
	// to the others).
	KeepBcc bool
	// MessageID, if set, is kept (a draft's ID stays through edits).
	MessageID string
}

// FieldError is an address field that does not parse.
type FieldError struct {
	Field string // "From", "To", "Cc", "Bcc"
	Value string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %q is not a list of e-mail addresses (write them as name@example.com, separated by commas)", e.Field, e.Value)
}

// TooBigError is a message over the size limit.
type TooBigError struct{ Size, Max int64 }

func (e *TooBigError) Error() string {
	return fmt.Sprintf("the message with its attachments is %s, over the limit of %s: remove an attachment or send a smaller file", mb(e.Size), mb(e.Max))
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// ErrNoRecipient: a message to nobody.
var ErrNoRecipient = errors.New("add at least one recipient in To, Cc or Bcc")

// Addresses parses one of the draft's address fields; an empty field is
// nil. Semicolons separate like commas (as Outlook users type them).
func Addresses(field, value string) ([]*mail.Address, error) {
	v := strings.TrimSpace(strings.ReplaceAll(value, ";", ","))
	v = strings.Trim(v, ", ")
	if v == "" {
		return nil, nil
	}
	list, err := mail.ParseAddressList(v)
	if err != nil {
		return nil, &FieldError{Field: field, Value: value}
	}
	return list, nil
}

// Recipients is the envelope (RFC 5321 RCPT TO): To, Cc and Bcc, each
// address once.
func (d *Draft) Recipients() ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range []struct{ name, value string }{{"To", d.To}, {"Cc", d.Cc}, {"Bcc", d.Bcc}} {
		list, err := Addresses(f.name, f.value)
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			if k := strings.ToLower(a.Address); !seen[k] {
				seen[k] = true
				out = append(out, a.Address)
			}
		}
	}
	if len(out) == 0 {
		return nil, ErrNoRecipient
	}
	return out, nil
}

// Build writes the draft as an RFC 5322 message with CRLF line ends:
// Date, Message-ID, MIME-Version, a UTF-8 text part and the attachments
// (multipart/mixed when there are any).
func (d *Draft) Build(o Options) ([]byte, error) {
	from, err := mail.ParseAddress(d.From)
	if err != nil || from.Address == "" {
		return nil, &FieldError{Field: "From", Value: d.From}
	}
	if d.FromName != "" {
		from.Name = d.FromName
	}
	var h mail.Header
	h.SetDate(o.Now)
	id := o.MessageID
	if id == "" {
		id = message.NewMessageID(o.Hostname, o.Now)
	}
	h.SetMessageID(id)
	h.SetAddressList("From", []*mail.Address{from})
	fields := []struct{ name, value string }{{"To", d.To}, {"Cc", d.Cc}}
	if o.KeepBcc {
		fields = append(fields, struct{ name, value string }{"Bcc", d.Bcc})
	}
	for _, f := range fields {
		list, err := Addresses(f.name, f.value)
		if err != nil {
			return nil, err
		}
		h.SetAddressList(f.name, list)
	}
	if d.Subject != "" {
		h.Set("Subject", encodeText(oneLine(d.Subject)))
	}
	if d.InReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{d.InReplyTo})
	}
	if len(d.References) > 0 {
		h.SetMsgIDList("References", d.References)
	}

	var b bytes.Buffer
	text := textHeader(d.Text)
	if len(d.Attachments) == 0 {
		h.Set("Content-Type", text.Get("Content-Type"))
		h.Set("Content-Transfer-Encoding", text.Get("Content-Transfer-Encoding"))
		w, err := mail.CreateSingleInlineWriter(&b, h)
		if err != nil {
			return nil, err
		}
		if err := writeClose(w, crlf(d.Text)); err != nil {
			return nil, err
		}
	} else {
		mw, err := mail.CreateWriter(&b, h)
		if err != nil {
			return nil, err
		}
		w, err := mw.CreateSingleInline(text)
		if err != nil {
			return nil, err
		}
		if err := writeClose(w, crlf(d.Text)); err != nil {
			return nil, err
		}
		for _, a := range d.Attachments {
			w, err := mw.CreateAttachment(attachmentHeader(a))
			if err != nil {
				return nil, err
			}
			if err := writeClose(w, a.Data); err != nil {
				return nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
	}
	out := message.NormalizeCRLF(b.Bytes())
	if o.MaxBytes > 0 && int64(len(out)) > o.MaxBytes {
		return nil, &TooBigError{Size: int64(len(out)), Max: o.MaxBytes}
	}
	return out, nil
}

func writeClose(w interface {
	Write([]byte) (int, error)
	Close() error
}, b []byte) error {
	if _, err := w.Write(b); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// textHeader is the text part's header: UTF-8, and the transfer encoding
// that fits (RFC 2045 §6): 7bit for plain ASCII with short lines,
// base64 when most of it is not ASCII (Japanese: a third smaller than
// quoted-printable), quoted-printable otherwise.
func textHeader(text string) mail.InlineHeader {
	var h mail.InlineHeader
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", textEncoding(text))
	return h
}

func textEncoding(text string) string {
	nonASCII, longest, line := 0, 0, 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\n':
			line = 0
			continue
		case c >= 0x80:
			nonASCII++
		}
		line++
		longest = max(longest, line)
	}
	switch {
	case nonASCII == 0 && longest <= 76 && !strings.Contains(strings.ReplaceAll(text, "\r\n", "\n"), "\r"):
		return "7bit"
	case nonASCII*3 > len(text):
		return "base64"
	}
	return "quoted-printable"
}

// crlf gives text CRLF line ends (a form's textarea sends CRLF, a test
// or a draft LF): base64 encodes the bytes as they are.
func crlf(text string) []byte {
	return message.NormalizeCRLF([]byte(text))
}

// attachmentHeader names the file in RFC 2231 form when it is not ASCII
// (mime.FormatMediaType writes filename*=utf-8”...; go-message's
// SetFilename would write RFC 2047 inside quotes, which RFC 2047 §5
// forbids), and sends the bytes
// in base64, except a forwarded message (RFC 2046 §5.2.1: message/rfc822
// is never base64).
func attachmentHeader(a Attachment) mail.AttachmentHeader {
	var h mail.AttachmentHeader
	name := fileName(a.Name)
	typ := a.Type
	if typ == "" {
		typ = mime.TypeByExtension(path.Ext(name))
	}
	mt, params, err := mime.ParseMediaType(typ)
	if err != nil || mt == "" || strings.HasPrefix(mt, "multipart/") {
		mt, params = "application/octet-stream", nil
	}
	// The name parameter of Content-Type, RFC 2047-encoded by go-message,
	// is for the mail software (common in Japan) that reads no RFC 2231.
	ctParams := map[string]string{"name": name}
	if cs := params["charset"]; cs != "" && strings.HasPrefix(mt, "text/") {
		ctParams["charset"] = cs
	}
	h.SetContentType(mt, ctParams)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	if mt == "message/rfc822" {
		h.Set("Content-Transfer-Encoding", rfc822Encoding(a.Data))
	} else {
		h.Set("Content-Transfer-Encoding", "base64")
	}
	return h
}

// rfc822Encoding is 7bit for an all-ASCII message, 8bit otherwise (RFC
// 2046 §5.2.1).
func rfc822Encoding(b []byte) string {
	for _, c := range b {
		if c >= 0x80 {
			return "8bit"
		}
	}
	return "7bit"
}

// fileName is the name an attachment is written with: the webmail's one
// file-name rule (webmail.FileName), "attachment" when nothing is left.
func fileName(name string) string {
	if name = webmail.FileName(name); name == "" {
		name = "attachment"
	}
	return name
}

// encodeText is an unstructured field's value with RFC 2047 encoded words
// where it is not ASCII: B encoding, as Japanese mail software writes it.
// Typed text that looks like an encoded word is encoded too (RFC 2047
// §5), or a reader would decode what the user wrote; so is a run without
// spaces too long for a line, which folding (only at spaces, RFC 5322
// §2.2.3) could not break.
func encodeText(s string) string {
	if strings.Contains(s, "=?") || longestWord(s) > 70 {
		return forceB(s)
	}
	return mime.BEncoding.Encode("utf-8", s)
}

func longestWord(s string) int {
	longest := 0
	for _, w := range strings.Fields(s) {
		longest = max(longest, len(w))
	}
	return longest
}

// forceB encodes all of s as B encoded words (mime.BEncoding leaves ASCII
// as it is), each under RFC 2047 §2's 75 characters.
func forceB(s string) string {
	var words []string
	for s != "" {
		n := min(len(s), 45)
		for n < len(s) && n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		if n == 0 {
			n = min(len(s), 45)
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// oneLine keeps a header value on one line: a pasted subject may carry
// line breaks, tabs or other control characters (RFC 5322 §2.2).
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.TrimSpace(s)
}
