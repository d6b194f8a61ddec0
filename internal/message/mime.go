package message

import (
	"bufio"
	"bytes"
	"strings"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// Bounds on the MIME structure ParseMIME builds. They are Dovecot's
// defaults (lib-mail/message-parser.h, MESSAGE_PARSER_DEFAULT_MAX_NESTED_
// MIME_PARTS and _MAX_TOTAL_MIME_PARTS, added for CVE-2020-12100, a
// deeply nested message exhausting the server): real mail nests a handful
// of levels (a forwarded message in a signed multipart/mixed with an
// alternative is about six) and rarely has more than a few hundred parts,
// so the bounds only ever cut hostile messages, and IMAP clients see the
// same structure from us as from Dovecot on the same Maildir.
const (
	MaxMIMEDepth = 100
	MaxMIMEParts = 10000
)

// Part is one MIME entity of a message held in memory (RFC 2045 §2.4): the
// message itself, a body part of a multipart (RFC 2046 §5.1) or the
// message a message/rfc822 part encapsulates (RFC 2046 §5.2.1).
type Part struct {
	Header gomessage.Header
	// Type is the lower-case "type/subtype" (RFC 2045 §5.2 defaults:
	// text/plain, message/rfc822 inside multipart/digest).
	Type   string
	Params map[string]string
	// msg[Start:BodyStart] is the header with the blank line ending it,
	// msg[BodyStart:End] the body.
	Start, BodyStart, End int
	// Children are a multipart's body parts, at least one unless Opaque.
	Children []*Part
	// Message is what a message/rfc822 or message/global part holds.
	Message *Part
	// Opaque marks a multipart or message part whose body was not split:
	// it lies beyond MaxMIMEDepth, MaxMIMEParts or the scan budget, or is a
	// multipart with no boundary or no delimiter line. Its body is one run
	// of bytes.
	Opaque bool
}

// IsMultipart reports whether p was split into Children.
func (p *Part) IsMultipart() bool { return len(p.Children) > 0 }

// Body is p's body in msg, the message ParseMIME parsed.
func (p *Part) Body(msg []byte) []byte { return msg[p.BodyStart:p.End] }

// RawHeader is p's header in msg as it is stored, blank line included.
func (p *Part) RawHeader(msg []byte) []byte { return msg[p.Start:p.BodyStart] }

// ParseMIME parses a message's MIME structure, bounded by MaxMIMEDepth and
// MaxMIMEParts; it never fails. Offsets point into msg, nothing of the
// bodies is copied. Each multipart's body is searched for its delimiters,
// so nested parts are read once per level: scanBudget bounds that work.
func ParseMIME(msg []byte) *Part {
	ps := &mimeParser{msg: msg, budget: scanBudget(len(msg))}
	return ps.entity(0, len(msg), 0, false)
}

// scanBudget is how many bytes ParseMIME may search for delimiters in a
// message of n bytes: 16 MiB and 8 passes over it. Real mail nests a few
// levels and stays far below; a message both large and deep (40 MB of
// near-delimiter lines 100 levels down took seconds per FETCH) is split
// as far as the budget goes and opaque below.
func scanBudget(n int) int { return 16<<20 + 8*n }

type mimeParser struct {
	msg     []byte
	parts   int
	scanned int // bytes searched for delimiters so far
	budget  int
}

func (ps *mimeParser) entity(start, end, depth int, inDigest bool) *Part {
	ps.parts++
	p := &Part{Start: start, End: end}
	p.BodyStart = headerEnd(ps.msg, start, end)
	p.Header = readHeader(ps.msg[start:p.BodyStart])
	p.Type, p.Params = mediaType(p.Header, inDigest)
	full := depth >= MaxMIMEDepth || ps.parts >= MaxMIMEParts
	switch {
	case strings.HasPrefix(p.Type, "multipart/"):
		var bodies [][2]int
		if b := p.Params["boundary"]; b != "" && !full && ps.scanned+end-p.BodyStart <= ps.budget {
			ps.scanned += end - p.BodyStart
			bodies = splitMultipart(ps.msg, p.BodyStart, end, b, MaxMIMEParts-ps.parts)
		}
		for _, r := range bodies {
			if ps.parts >= MaxMIMEParts {
				break // the rest of this multipart is left out
			}
			p.Children = append(p.Children, ps.entity(r[0], r[1], depth+1, p.Type == "multipart/digest"))
		}
		p.Opaque = len(p.Children) == 0
	case p.Type == "message/rfc822" || p.Type == "message/global": // RFC 6532 §3.5
		if full {
			p.Opaque = true
			break
		}
		p.Message = ps.entity(p.BodyStart, end, depth+1, false)
	}
	return p
}

// headerEnd returns where the body of the entity at msg[start:end] begins:
// after the first empty line (RFC 5322 §2.1), or end when there is none.
func headerEnd(msg []byte, start, end int) int {
	for i := start; i < end; {
		if msg[i] == '\n' {
			return i + 1
		}
		if msg[i] == '\r' && i+1 < end && msg[i+1] == '\n' {
			return i + 2
		}
		j := bytes.IndexByte(msg[i:end], '\n')
		if j < 0 {
			return end
		}
		i += j + 1
	}
	return end
}

// readHeader parses a header block leniently: fields up to the first
// malformed line are kept (RFC 2045 §4 asks for robustness here).
func readHeader(b []byte) gomessage.Header {
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(b)))
	return gomessage.Header{Header: h}
}

// mediaType returns the entity's content type and parameters; a missing or
// unusable Content-Type means text/plain (RFC 2045 §5.2), or message/rfc822
// in a multipart/digest (RFC 2046 §5.1.5).
func mediaType(h gomessage.Header, inDigest bool) (string, map[string]string) {
	if h.Get("Content-Type") != "" {
		t, params, _ := h.ContentType()
		if i := strings.IndexByte(t, '/'); i > 0 && i < len(t)-1 {
			return strings.ToLower(t), params
		}
	}
	if inDigest {
		return "message/rfc822", nil
	}
	return "text/plain", nil
}

// splitMultipart returns the byte ranges of at most max body parts of the
// multipart body msg[start:end]. A delimiter is "--" boundary at the start
// of a line, an optional "--" closing it, transport padding and the line
// end (RFC 2046 §5.1.1); the line break before it belongs to it. The
// preamble and epilogue are no parts; a multipart that is never closed
// ends with its last part at end, as Dovecot and go-message read it.
func splitMultipart(msg []byte, start, end int, boundary string, max int) [][2]int {
	var out [][2]int
	dash := []byte("--" + boundary)
	partStart := -1
	for i := start; i < end && len(out) < max; {
		j := bytes.Index(msg[i:end], dash)
		if j < 0 {
			break
		}
		j += i
		next, closing, ok := delimiterLine(msg, start, end, j, len(dash))
		if !ok {
			i = j + 1
			continue
		}
		if partStart >= 0 {
			out = append(out, [2]int{partStart, lineBreakBefore(msg, partStart, j)})
		}
		if closing {
			return out
		}
		partStart, i = next, next
	}
	if partStart >= 0 && len(out) < max {
		out = append(out, [2]int{partStart, end})
	}
	return out
}

// delimiterLine checks that msg[j:] holding the dash boundary is a
// delimiter line of the body msg[start:end]; next is where the line after
// it begins.
func delimiterLine(msg []byte, start, end, j, n int) (next int, closing, ok bool) {
	if j != start && msg[j-1] != '\n' {
		return 0, false, false
	}
	k := j + n
	if k+1 < end && msg[k] == '-' && msg[k+1] == '-' {
		closing = true
		k += 2
	}
	for k < end && (msg[k] == ' ' || msg[k] == '\t') {
		k++
	}
	switch {
	case k == end:
		return end, closing, true
	case msg[k] == '\n':
		return k + 1, closing, true
	case msg[k] == '\r' && k+1 < end && msg[k+1] == '\n':
		return k + 2, closing, true
	case closing:
		// RFC 2046 §5.1.1: anything after the close delimiter is epilogue.
		return end, true, true
	}
	return 0, false, false
}

// lineBreakBefore returns j less the CRLF or LF before it, not before from.
func lineBreakBefore(msg []byte, from, j int) int {
	if j > from && msg[j-1] == '\n' {
		j--
		if j > from && msg[j-1] == '\r' {
			j--
		}
	}
	return j
}
