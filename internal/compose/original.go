package compose

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-2022-JP, Shift_JIS, EUC-JP... decoded to UTF-8
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mailgate/internal/webmail"
)

// Original is a message read back: one being replied to or forwarded, or
// a draft reopened.
type Original struct {
	Raw       []byte
	MessageID string // without angle brackets
	// References as the original lists them, then In-Reply-To.
	References                 []string
	InReplyTo                  string
	Date                       time.Time
	Subject                    string // decoded from RFC 2047
	From, ReplyTo, To, Cc, Bcc []*mail.Address
	// Text is the first text/plain part decoded to UTF-8 from its charset
	// (or an HTML part's text when there is no plain one).
	Text        string
	Attachments []Attachment
}

// Parse reads a stored message. It is lenient: an unknown charset leaves
// the text as it is, and only a message without a readable header is an
// error. The body is read as the webmail's reading pages read it
// (webmail.Contents: the bounded MIME tree, the same charsets and file
// names), so a reply quotes what the subscriber saw.
func Parse(raw []byte) (*Original, error) {
	th, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, err
	}
	h := mail.Header{Header: message.Header{Header: th}}
	o := &Original{Raw: raw}
	o.MessageID, _ = h.MessageID()
	o.References, _ = h.MsgIDList("References")
	if ids, _ := h.MsgIDList("In-Reply-To"); len(ids) > 0 {
		o.InReplyTo = ids[0]
	}
	o.Date, _ = h.Date()
	if o.Subject, err = h.Subject(); err != nil {
		o.Subject = h.Get("Subject")
	}
	o.From, _ = h.AddressList("From")
	o.ReplyTo, _ = h.AddressList("Reply-To")
	o.To, _ = h.AddressList("To")
	o.Cc, _ = h.AddressList("Cc")
	o.Bcc, _ = h.AddressList("Bcc")
	text, files := webmail.Contents(raw)
	o.Text = strings.ReplaceAll(text, "\r\n", "\n")
	for _, f := range files {
		o.Attachments = append(o.Attachments, Attachment{Name: f.Name, Type: f.Type, Data: f.Data})
	}
	return o, nil
}

// ErrNotADraft: a message reopened as a draft has no sender.
var ErrNotADraft = errors.New("the message has no From: it cannot be reopened as a draft")

// AsDraft reopens a saved draft for editing: its fields, text and
// attachments as they were saved.
func (o *Original) AsDraft() *Draft {
	d := &Draft{
		To: formatList(o.To), Cc: formatList(o.Cc), Bcc: formatList(o.Bcc),
		Subject: o.Subject, Text: o.Text, InReplyTo: o.InReplyTo, References: o.References,
		Attachments: o.Attachments,
	}
	if len(o.From) > 0 {
		d.From, d.FromName = o.From[0].Address, o.From[0].Name
	}
	return d
}

// formatList writes addresses for the form: names unencoded, as typed.
func formatList(l []*mail.Address) string {
	out := make([]string, len(l))
	for i, a := range l {
		out[i] = formatAddress(a)
	}
	return strings.Join(out, ", ")
}

func formatAddress(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	name := a.Name
	if strings.ContainsAny(name, `"(),.:;<>@[\]`) {
		name = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	}
	return name + " <" + a.Address + ">"
}
