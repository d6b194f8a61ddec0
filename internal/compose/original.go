package compose

import (
	"bytes"
	"errors"
	"html"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-2022-JP, Shift_JIS, EUC-JP... decoded to UTF-8
	"github.com/emersion/go-message/mail"
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

// maxParts bounds the parts read from one message (a hostile message
// could nest thousands).
const maxParts = 500

// Parse reads a stored message. It is lenient: an unknown charset leaves
// the text as it is, a broken part ends the walk, and only a message
// without a readable header is an error.
func Parse(raw []byte) (*Original, error) {
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, err
	}
	o := &Original{Raw: raw}
	h := mr.Header
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
	var htmlText string
	for range maxParts {
		p, err := mr.NextPart()
		if err == io.EOF || (err != nil && !message.IsUnknownCharset(err)) {
			break
		}
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			t, _, _ := ph.ContentType()
			body, _ := io.ReadAll(io.LimitReader(p.Body, 32<<20))
			switch {
			case t == "text/plain" && o.Text == "":
				o.Text = string(body)
			case t == "text/html" && htmlText == "":
				htmlText = htmlToText(string(body))
			case !strings.HasPrefix(t, "text/") && !strings.HasPrefix(t, "multipart/"):
				// An inline image is still a file of the message.
				o.Attachments = append(o.Attachments, Attachment{Name: inlineName(&ph.Header), Type: t, Data: body})
			}
		case *mail.AttachmentHeader:
			t, _, _ := ph.ContentType()
			name, _ := ph.Filename()
			if name == "" {
				name = inlineName(&ph.Header)
			}
			body, _ := io.ReadAll(io.LimitReader(p.Body, 64<<20))
			o.Attachments = append(o.Attachments, Attachment{Name: name, Type: t, Data: body})
		}
	}
	if o.Text == "" {
		o.Text = htmlText
	}
	o.Text = strings.ReplaceAll(o.Text, "\r\n", "\n")
	return o, nil
}

func inlineName(h *message.Header) string {
	_, params, _ := h.ContentType()
	if n := params["name"]; n != "" {
		return n
	}
	return "attachment"
}

var (
	htmlDrop  = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)\s*>`)
	htmlBreak = regexp.MustCompile(`(?i)<(br|/p|/div|/tr|/li|/h[1-6])\b[^>]*>`)
	htmlTag   = regexp.MustCompile(`(?s)<[^>]*>`)
)

// htmlToText is an HTML part's text for quoting: markup dropped, line
// breaks where blocks end. Only ever shown as text, never as HTML.
func htmlToText(s string) string {
	s = htmlDrop.ReplaceAllString(s, "")
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, "")
	return strings.TrimSpace(html.UnescapeString(s))
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
