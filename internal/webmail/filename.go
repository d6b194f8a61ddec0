package webmail

import (
	"bytes"
	"io"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"

	"mailgate/internal/message"
)

// AttachmentName is a part's file name as the sender meant it:
// Content-Disposition's filename, else Content-Type's name (RFC 2183 §2.3,
// RFC 2045 §5.1), in RFC 2231 form (filename*=charset'lang'%XX, with
// continuations filename*0*=...) in any charset, or with RFC 2047 encoded
// words inside the quotes, as many Japanese mailers write it. The result
// is one path element: a name like "../x" keeps only "x".
func AttachmentName(h gomessage.Header) string {
	name := paramValue(h.Get("Content-Disposition"), "filename")
	if name == "" {
		name = paramValue(h.Get("Content-Type"), "name")
	}
	return FileName(name)
}

// paramValue is the value of parameter name of a structured field: the
// standard library parses it (RFC 2231 in UTF-8 and US-ASCII), and
// rfc2231Value takes the charsets it refuses.
func paramValue(field, name string) string {
	if field == "" {
		return ""
	}
	// RFC 2231 forms first: the standard library decodes only UTF-8 and
	// US-ASCII ones and garbles a continued value whose charset it
	// refuses.
	if v, ok := rfc2231Value(field, name); ok {
		return v
	}
	_, params, err := mime.ParseMediaType(field)
	if err == nil {
		if v, ok := params[name]; ok {
			return message.DecodeWords(v)
		}
	}
	if err != nil {
		// A broken field (an unquoted name with spaces, a stray ';'):
		// the plain name="..." is still worth finding.
		if v, ok := looseParam(field, name); ok {
			return message.DecodeWords(v)
		}
	}
	return ""
}

// rfc2231Value reassembles parameter name from its RFC 2231 pieces
// (§3 continuations name*0, name*1...; §4 charset'language'%XX on the
// pieces marked with '*') and decodes it in the declared charset.
func rfc2231Value(field, name string) (string, bool) {
	pieces := map[int]string{}
	encoded := map[int]bool{}
	for _, p := range splitParams(field) {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = unquote(strings.TrimSpace(v))
		if !strings.HasPrefix(k, strings.ToLower(name)+"*") {
			continue
		}
		rest := k[len(name)+1:]
		star := strings.HasSuffix(rest, "*")
		rest = strings.TrimSuffix(rest, "*")
		n := 0
		if rest == "" {
			star = true // name*=...
		} else {
			var err error
			if n, err = strconv.Atoi(rest); err != nil || n < 0 || n > 999 {
				continue
			}
		}
		pieces[n], encoded[n] = v, star
	}
	if len(pieces) == 0 {
		return "", false
	}
	cs := "us-ascii"
	var raw []byte
	for i := 0; ; i++ {
		v, ok := pieces[i]
		if !ok {
			break
		}
		if encoded[i] {
			if i == 0 {
				// RFC 2231 §4: charset'language'value on the first piece.
				parts := strings.SplitN(v, "'", 3)
				if len(parts) == 3 {
					cs, v = parts[0], parts[2]
				}
			}
			b, err := url.PathUnescape(strings.ReplaceAll(v, "+", "%2B"))
			if err != nil {
				b = v
			}
			raw = append(raw, b...)
		} else {
			raw = append(raw, v...)
		}
	}
	if len(raw) == 0 {
		return "", false
	}
	return decodeCharset(cs, raw), true
}

// decodeCharset converts b from charset cs to UTF-8; unknown charsets and
// undecodable bytes come out as UTF-8 with replacement characters.
func decodeCharset(cs string, b []byte) string {
	cs = strings.ToLower(strings.TrimSpace(cs))
	if cs == "" || cs == "us-ascii" || cs == "utf-8" || cs == "utf8" {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	out, err := io.ReadAll(r)
	if err != nil && len(out) == 0 {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// splitParams splits a field at the ';' outside quotes.
func splitParams(field string) []string {
	var out []string
	inQ, esc, start := false, false, 0
	for i := 0; i < len(field); i++ {
		c := field[i]
		switch {
		case esc:
			esc = false
		case c == '\\' && inQ:
			esc = true
		case c == '"':
			inQ = !inQ
		case c == ';' && !inQ:
			out = append(out, field[start:i])
			start = i + 1
		}
	}
	return append(out, field[start:])
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' && i+1 < len(v) {
				i++
			}
			b.WriteByte(v[i])
		}
		return b.String()
	}
	return v
}

func looseParam(field, name string) (string, bool) {
	for _, p := range splitParams(field) {
		k, v, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return unquote(strings.TrimSpace(v)), true
		}
	}
	return "", false
}

// FileName keeps a name usable as a file's name, for a download and for
// an attachment we write alike: the last path element (old browsers send
// C:\dir\file), valid UTF-8 without control characters, runs of spaces
// made one (they do not survive header folding), at most 200 octets with
// the extension kept, so an RFC 2231 parameter stays far under RFC 5322
// §2.1.1's 998-octet line.
func FileName(n string) string {
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(n, ""))
	n = strings.ReplaceAll(n, "\\", "/")
	n = path.Base(strings.TrimRight(n, "/"))
	n = strings.Join(strings.FieldsFunc(n, func(r rune) bool { return r == ' ' }), " ")
	if n == "." || n == "/" || n == ".." {
		return ""
	}
	const max = 200
	if len(n) > max {
		ext := path.Ext(n)
		if len(ext) > 16 {
			ext = ""
		}
		cut := max - len(ext)
		for cut > 0 && !utf8.RuneStart(n[cut]) {
			cut--
		}
		n = n[:cut] + ext
	}
	return n
}
