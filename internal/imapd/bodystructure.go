package imapd

import (
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"mailgate/internal/message"
)

// FETCH content items are answered from message.ParseMIME's bounded part
// tree instead of go-imap's Extract* helpers: those open one multipart
// reader per level without a bound (a message nested 1000 levels deep
// costs a reader stack per FETCH and, with a multipart that has no parts,
// made go-imap's encoder panic and drop the connection: issue 15 §3).

// bodyStructure is BODYSTRUCTURE (RFC 9051 §7.5.2) of part p of msg.
// go-imap writes the extension data only when the client asked for
// BODYSTRUCTURE rather than BODY; it is always filled in here.
func bodyStructure(msg []byte, p *message.Part) imap.BodyStructure {
	if p.IsMultipart() {
		_, sub, _ := strings.Cut(p.Type, "/")
		bs := &imap.BodyStructureMultiPart{Subtype: sub, Extended: &imap.BodyStructureMultiPartExt{
			Params:      p.Params,
			Disposition: disposition(p.Header),
			Language:    language(p.Header),
			Location:    p.Header.Get("Content-Location"),
		}}
		for _, c := range p.Children {
			bs.Children = append(bs.Children, bodyStructure(msg, c))
		}
		return bs
	}
	typ, sub, _ := strings.Cut(p.Type, "/")
	params := p.Params
	if p.Opaque {
		// A multipart or message not split (beyond the bounds, or without
		// delimiters) is opaque data to the client (RFC 2046 §4.5.1); a
		// body-type-mpart must have at least one part (RFC 9051 §9).
		typ, sub, params = "application", "octet-stream", nil
	}
	body := p.Body(msg)
	bs := &imap.BodyStructureSinglePart{
		Type:        typ,
		Subtype:     sub,
		Params:      params,
		ID:          p.Header.Get("Content-Id"),
		Description: p.Header.Get("Content-Description"),
		Encoding:    p.Header.Get("Content-Transfer-Encoding"),
		Size:        uint32(len(body)),
		Extended: &imap.BodyStructureSinglePartExt{
			Disposition: disposition(p.Header),
			Language:    language(p.Header),
			Location:    p.Header.Get("Content-Location"),
		},
	}
	if p.Message != nil {
		bs.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope:      imapserver.ExtractEnvelope(p.Message.Header.Header),
			BodyStructure: bodyStructure(msg, p.Message),
			NumLines:      int64(bytes.Count(body, []byte("\n"))),
		}
	}
	if typ == "text" {
		bs.Text = &imap.BodyStructureText{NumLines: int64(bytes.Count(body, []byte("\n")))}
	}
	return bs
}

func disposition(h gomessage.Header) *imap.BodyStructureDisposition {
	disp, params, _ := h.ContentDisposition()
	if disp == "" {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: disp, Params: params}
}

func language(h gomessage.Header) []string {
	v := h.Get("Content-Language")
	if v == "" {
		return nil
	}
	l := strings.Split(v, ",")
	for i := range l {
		l[i] = strings.TrimSpace(l[i])
	}
	return l
}

// findPart resolves a section part number (RFC 9051 §6.4.5): numbers
// count the parts of a multipart; a message/rfc822 part's number is
// followed by those of the message it holds; a part that is no multipart
// has only part 1, itself. nil when the part does not exist.
func findPart(root *message.Part, path []int) *message.Part {
	p := root
	for i, n := range path {
		if i > 0 && p.Message != nil {
			p = p.Message
		}
		switch {
		case p.IsMultipart():
			if n < 1 || n > len(p.Children) {
				return nil
			}
			p = p.Children[n-1]
		case n != 1:
			return nil
		}
	}
	return p
}

// bodySection is BODY[section]<partial> (RFC 9051 §6.4.5); nil when the
// part does not exist (answered as an empty string).
func bodySection(msg []byte, root *message.Part, s *imap.FetchItemBodySection) []byte {
	p := findPart(root, s.Part)
	if p == nil {
		return nil
	}
	var out []byte
	switch s.Specifier {
	case imap.PartSpecifierNone:
		out = msg
		if len(s.Part) > 0 {
			out = p.Body(msg)
		}
	case imap.PartSpecifierMIME:
		out = p.RawHeader(msg)
	case imap.PartSpecifierHeader, imap.PartSpecifierText:
		// After a part number, HEADER and TEXT are those of the message
		// a message/rfc822 part holds.
		if len(s.Part) > 0 && p.Message != nil {
			p = p.Message
		}
		switch {
		case s.Specifier == imap.PartSpecifierText:
			out = p.Body(msg)
		case len(s.HeaderFields) > 0 || len(s.HeaderFieldsNot) > 0:
			out = headerFields(p.Header, s.HeaderFields, s.HeaderFieldsNot)
		default:
			out = p.RawHeader(msg)
		}
	}
	return partial(out, s.Partial)
}

// headerFields is HEADER.FIELDS or HEADER.FIELDS.NOT: the fields kept, in
// their order, and the blank line.
func headerFields(h gomessage.Header, keep, drop []string) []byte {
	h = gomessage.Header{Header: h.Header.Copy()}
	if len(keep) > 0 {
		want := map[string]bool{}
		for _, k := range keep {
			want[strings.ToLower(k)] = true
		}
		for f := h.Fields(); f.Next(); {
			if !want[strings.ToLower(f.Key())] {
				f.Del()
			}
		}
	}
	for _, k := range drop {
		h.Del(k)
	}
	var buf bytes.Buffer
	textproto.WriteHeader(&buf, h.Header) // a bytes.Buffer does not fail
	return buf.Bytes()
}

// binarySection is BINARY[section]<partial> (RFC 3516 §4.2): the part's
// body with its Content-Transfer-Encoding undone, charset untouched; nil
// when the part does not exist or its encoding cannot be undone.
func binarySection(msg []byte, root *message.Part, s *imap.FetchItemBinarySection) []byte {
	p := findPart(root, s.Part)
	if p == nil {
		return nil
	}
	var buf bytes.Buffer
	if len(s.Part) == 0 {
		buf.Write(p.RawHeader(msg))
	}
	// Only the transfer encoding goes into the header go-message decodes
	// by: given the charset too, it would convert the text.
	var h gomessage.Header
	if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "" {
		h.Set("Content-Transfer-Encoding", cte)
	}
	e, err := gomessage.New(h, bytes.NewReader(p.Body(msg)))
	if err != nil {
		return nil
	}
	if _, err := io.Copy(&buf, e.Body); err != nil {
		return nil
	}
	return partial(buf.Bytes(), s.Partial)
}

func partial(b []byte, p *imap.SectionPartial) []byte {
	if p == nil {
		return b
	}
	if p.Offset > int64(len(b)) {
		return nil
	}
	end := p.Offset + p.Size
	if end > int64(len(b)) || end < p.Offset {
		end = int64(len(b))
	}
	return b[p.Offset:end]
}
