package webmail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-2022-JP, Shift_JIS, EUC-JP, ... for go-message
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"

	"mailgate/internal/mailbox"
	"mailgate/internal/message"
)

// MaxMessageBytes bounds what the webmail reads of one message file.
// Intake limits messages far below it; a file larger than this (put there
// by hand) is refused with ErrTooLarge rather than read into memory.
const MaxMessageBytes = 256 << 20

// ErrTooLarge: the message file exceeds MaxMessageBytes.
var ErrTooLarge = errors.New("message too large to show")

// ErrNoMessage: no message with that UID in the folder (expunged, or
// never there).
var ErrNoMessage = errors.New("no such message")

// Message is a message decoded for reading.
type Message struct {
	Folder  string
	UID     uint32
	Flags   string
	Size    int64
	Date    time.Time // the index's internal date
	Subject string
	From    string
	To      string
	Cc      string
	ReplyTo string
	Sent    string // the Date field as written
	// Text is the plain-text body (parts joined); HasHTML says an HTML
	// body exists, served sanitized by HTMLBody.
	Text    string
	HasHTML bool
	// Attachments are the parts offered as downloads.
	Attachments []Attachment
	// Header is every header field, decoded, in order ("headers on
	// request").
	Header []Field
}

// Seen, Flagged report the message's flags.
func (m *Message) Seen() bool    { return mailbox.HasFlag(m.Flags, mailbox.FlagSeen) }
func (m *Message) Flagged() bool { return mailbox.HasFlag(m.Flags, mailbox.FlagFlagged) }

// Field is one header field.
type Field struct{ Name, Value string }

// Attachment is a part offered for download; Part is its IMAP section
// number (RFC 9051 §6.4.5), "1.2" style.
type Attachment struct {
	Part string
	Name string
	Type string
	Size int64 // encoded size, octets
}

// raw reads a message file whole.
func (mb *Mailbox) raw(folder string, uid uint32) ([]byte, mailbox.Message, error) {
	f, err := mb.open(folder)
	if err != nil {
		return nil, mailbox.Message{}, err
	}
	defer f.Close()
	return readMessage(f, uid)
}

func readMessage(f *mailbox.Folder, uid uint32) ([]byte, mailbox.Message, error) {
	var meta mailbox.Message
	found := false
	f.View(func(msgs []mailbox.Message) {
		for i := range msgs { // sorted by UID
			if msgs[i].UID == uid {
				meta, found = msgs[i], true
				return
			}
		}
	})
	if !found {
		return nil, meta, ErrNoMessage
	}
	fh, err := f.Open(uid)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, meta, ErrNoMessage
		}
		return nil, meta, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, MaxMessageBytes+1))
	if err != nil {
		return nil, meta, err
	}
	if len(b) > MaxMessageBytes {
		return nil, meta, ErrTooLarge
	}
	return b, meta, nil
}

// Raw returns the message as stored (for "download original").
func (mb *Mailbox) Raw(folder string, uid uint32) ([]byte, error) {
	b, _, err := mb.raw(folder, uid)
	return b, err
}

// Read decodes a message for display. It does not change its flags (the
// caller marks it read).
func (mb *Mailbox) Read(folder string, uid uint32) (*Message, error) {
	raw, meta, err := mb.raw(folder, uid)
	if err != nil {
		return nil, err
	}
	root := message.ParseMIME(raw)
	h := root.Header
	m := &Message{Folder: folder, UID: uid, Flags: meta.Flags, Size: meta.Size, Date: time.Unix(meta.Date, 0),
		Subject: message.OneLine(message.DecodeWords(h.Get("Subject"))),
		From:    message.AddressText(h.Get("From")), To: message.AddressText(h.Get("To")),
		Cc: message.AddressText(h.Get("Cc")), ReplyTo: message.AddressText(h.Get("Reply-To")),
		Sent: message.OneLine(h.Get("Date"))}
	fields := h.Fields()
	for fields.Next() {
		m.Header = append(m.Header, Field{fields.Key(), message.OneLine(message.DecodeWords(fields.Value()))})
	}
	b := collect(raw, root)
	var texts []string
	for _, p := range b.texts {
		texts = append(texts, decodeText(raw, p))
	}
	m.Text = strings.Join(texts, "\n\n")
	m.HasHTML = len(b.htmls) > 0
	for _, a := range b.attachments {
		name := AttachmentName(a.part.Header)
		if name == "" {
			name = defaultName(a.part.Type, a.id)
		}
		m.Attachments = append(m.Attachments, Attachment{Part: a.id, Name: name, Type: a.part.Type, Size: int64(a.part.End - a.part.BodyStart)})
	}
	return m, nil
}

func defaultName(typ, id string) string {
	ext := ".bin"
	switch {
	case typ == "message/rfc822" || typ == "message/global":
		ext = ".eml"
	case strings.HasPrefix(typ, "text/"):
		ext = ".txt"
	default:
		if exts, _ := mime.ExtensionsByType(typ); len(exts) > 0 {
			ext = exts[0]
		}
	}
	return "part-" + id + ext
}

// HTMLBody is the message's HTML body, sanitized, as a document for the
// message frame, and whether it refers to remote images (kept only when
// images is true). Images of the message itself (cid: references in a
// multipart/related, RFC 2392) become data: URLs.
func (mb *Mailbox) HTMLBody(folder string, uid uint32, images bool) ([]byte, bool, error) {
	raw, _, err := mb.raw(folder, uid)
	if err != nil {
		return nil, false, err
	}
	root := message.ParseMIME(raw)
	b := collect(raw, root)
	var doc bytes.Buffer
	budget := maxInlineTotal
	for _, p := range b.htmls {
		doc.WriteString(inlineCIDs(decodeText(raw, p), raw, b.cids, &budget))
	}
	if len(b.htmls) == 0 {
		for _, p := range b.texts {
			doc.WriteString("<pre>" + html.EscapeString(decodeText(raw, p)) + "</pre>")
		}
	}
	out, remote := SanitizeHTML(doc.Bytes(), images)
	var page bytes.Buffer
	page.WriteString("<!doctype html><html><head><meta charset=\"utf-8\"><base target=\"_blank\"></head><body>")
	page.Write(out)
	page.WriteString("</body></html>")
	return page.Bytes(), remote, nil
}

// maxInlineImage bounds a cid: image turned into a data: URL, and
// maxInlineTotal all the data: URLs of one document: every reference is
// a copy, so a message naming one 2 MiB image a million times (a few MB
// of HTML) would otherwise be terabytes in memory. References beyond it
// stay cid: and load nothing.
const (
	maxInlineImage = 2 << 20
	maxInlineTotal = 16 << 20
)

// inlineCIDs makes doc's references to the message's images data: URLs,
// spending at most *budget bytes of them.
func inlineCIDs(doc string, raw []byte, cids map[string]*message.Part, budget *int) string {
	if len(cids) == 0 || !strings.Contains(doc, "cid:") {
		return doc
	}
	for id, p := range cids {
		ref := "cid:" + id
		if !strings.Contains(doc, ref) || !strings.HasPrefix(p.Type, "image/") {
			continue
		}
		body, err := partBody(raw, p)
		if err != nil || len(body) > maxInlineImage {
			continue
		}
		url := "data:" + p.Type + ";base64," + base64.StdEncoding.EncodeToString(body)
		n := min(strings.Count(doc, ref), *budget/len(url))
		if n == 0 {
			continue
		}
		*budget -= n * len(url)
		doc = strings.Replace(doc, ref, url, n)
	}
	return doc
}

// Part returns an attachment's decoded content (transfer encoding undone,
// charset untouched), its file name and media type.
func (mb *Mailbox) Part(folder string, uid uint32, id string) (body []byte, name, typ string, err error) {
	raw, _, err := mb.raw(folder, uid)
	if err != nil {
		return nil, "", "", err
	}
	p := findPart(message.ParseMIME(raw), id)
	if p == nil {
		return nil, "", "", ErrNoMessage
	}
	if p.Type == "message/rfc822" || p.Type == "message/global" {
		body = p.Body(raw)
	} else if body, err = partBody(raw, p); err != nil {
		return nil, "", "", err
	}
	name = AttachmentName(p.Header)
	if name == "" {
		name = defaultName(p.Type, id)
	}
	return body, name, p.Type, nil
}

// findPart finds a part by IMAP section number: "1" is a single-part
// message's body or a multipart's first part.
func findPart(root *message.Part, id string) *message.Part {
	var found *message.Part
	walk(root, func(p *message.Part, pid string) bool {
		if pid == id {
			found = p
			return false
		}
		return true
	})
	return found
}

// walk visits the leaves and multiparts of a message with their section
// numbers (RFC 9051 §6.4.5), not descending into attached messages;
// visit returns false to stop.
func walk(root *message.Part, visit func(p *message.Part, id string) bool) {
	var rec func(p *message.Part, id string) bool
	rec = func(p *message.Part, id string) bool {
		if !visit(p, id) {
			return false
		}
		for i, c := range p.Children {
			cid := fmt.Sprint(i + 1)
			if id != "" {
				cid = id + "." + cid
			}
			if !rec(c, cid) {
				return false
			}
		}
		return true
	}
	if root.IsMultipart() {
		rec(root, "")
		return
	}
	rec(root, "1")
}

type attachmentRef struct {
	part *message.Part
	id   string
}

type bodyParts struct {
	texts, htmls []*message.Part
	attachments  []attachmentRef
	cids         map[string]*message.Part
}

// collect sorts a message's parts into the body shown (text and HTML),
// attachments, and the parts HTML may refer to by Content-ID.
func collect(raw []byte, root *message.Part) *bodyParts {
	b := &bodyParts{cids: map[string]*message.Part{}}
	var visit func(p *message.Part, id string)
	visit = func(p *message.Part, id string) {
		if cid := strings.Trim(p.Header.Get("Content-Id"), " <>"); cid != "" {
			b.cids[cid] = p
		}
		switch {
		case p.Type == "multipart/alternative" && p.IsMultipart():
			// RFC 2046 §5.1.4: the last part is the richest; show the
			// last one we can, HTML (or a related group) before text.
			best := -1
			for i, c := range p.Children {
				if c.Type == "text/html" || c.Type == "multipart/related" || c.Type == "multipart/mixed" {
					best = i
				}
			}
			if best < 0 {
				for i, c := range p.Children {
					if c.Type == "text/plain" {
						best = i
					}
				}
			}
			if best < 0 {
				best = len(p.Children) - 1
			}
			visit(p.Children[best], childID(id, best))
			// The other alternatives' images may still be referenced.
			for i, c := range p.Children {
				if i != best {
					collectCIDs(c, b.cids)
				}
			}
		case p.IsMultipart():
			for i, c := range p.Children {
				visit(c, childID(id, i))
			}
		case isAttachment(p):
			b.attachments = append(b.attachments, attachmentRef{p, id})
		case p.Type == "text/plain" || p.Type == "text/enriched" || (p.Type == "text/calendar"):
			b.texts = append(b.texts, p)
		case p.Type == "text/html":
			b.htmls = append(b.htmls, p)
		default:
			b.attachments = append(b.attachments, attachmentRef{p, id})
		}
	}
	if root.IsMultipart() {
		visit(root, "")
	} else {
		visit(root, "1")
	}
	// An image the HTML shows inline is not listed again, unless it
	// says it is an attachment.
	return b
}

func childID(parent string, i int) string {
	if parent == "" {
		return fmt.Sprint(i + 1)
	}
	return fmt.Sprintf("%s.%d", parent, i+1)
}

func collectCIDs(p *message.Part, cids map[string]*message.Part) {
	if cid := strings.Trim(p.Header.Get("Content-Id"), " <>"); cid != "" {
		cids[cid] = p
	}
	for _, c := range p.Children {
		collectCIDs(c, cids)
	}
}

// isAttachment: an explicit attachment disposition (RFC 2183 §2.2), or a
// part with a file name, or one that is not text.
func isAttachment(p *message.Part) bool {
	disp, _, _ := p.Header.ContentDisposition()
	if strings.EqualFold(disp, "attachment") {
		return true
	}
	if AttachmentName(p.Header) != "" && !strings.EqualFold(disp, "inline") {
		return true
	}
	return p.Type == "message/rfc822" || p.Type == "message/global" || p.Opaque
}

// partBody undoes a part's Content-Transfer-Encoding (RFC 2045 §6).
func partBody(raw []byte, p *message.Part) ([]byte, error) {
	h := p.Header.Copy()
	h.Del("Content-Type") // keep the charset: a download is the sender's bytes
	e, err := gomessage.New(h, bytes.NewReader(p.Body(raw)))
	if err != nil && !gomessage.IsUnknownEncoding(err) {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(e.Body, MaxMessageBytes))
}

// decodeText is a text part's content in UTF-8: transfer encoding undone,
// then the declared charset converted (go-message's charset tables:
// ISO-2022-JP, Shift_JIS, EUC-JP and the rest). Without a declared charset
// (RFC 2045 §5.2 says US-ASCII, but Japanese mail often omits it) bytes
// that are not UTF-8 are taken as ISO-2022-JP, Shift_JIS or EUC-JP,
// whichever decodes them cleanly.
func decodeText(raw []byte, p *message.Part) string {
	body, err := partBody(raw, p)
	if err != nil {
		body = p.Body(raw)
	}
	cs := strings.ToLower(p.Params["charset"])
	if cs == "" || cs == "us-ascii" {
		return guessJapanese(body)
	}
	return decodeCharset(cs, body)
}

func guessJapanese(b []byte) string {
	if bytes.Contains(b, []byte("\x1b$B")) || bytes.Contains(b, []byte("\x1b$@")) {
		return decodeCharset("iso-2022-jp", b)
	}
	if utf8.Valid(b) {
		return string(b)
	}
	for _, enc := range []transform.Transformer{japanese.ShiftJIS.NewDecoder(), japanese.EUCJP.NewDecoder()} {
		out, _, err := transform.Bytes(enc, b)
		if err == nil && !bytes.ContainsRune(out, utf8.RuneError) {
			return string(out)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// bodyContains reports whether the text of message uid contains needle
// (lower case): the plain-text parts and the HTML parts with their markup
// removed.
func bodyContains(f *mailbox.Folder, uid uint32, needle string) bool {
	raw, _, err := readMessage(f, uid)
	if err != nil {
		return false
	}
	b := collect(raw, message.ParseMIME(raw))
	for _, p := range b.texts {
		if contains(decodeText(raw, p), needle) {
			return true
		}
	}
	for _, p := range b.htmls {
		if contains(htmlText(decodeText(raw, p)), needle) {
			return true
		}
	}
	return false
}
