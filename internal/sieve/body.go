package sieve

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// maxBodyRead bounds how much of a body the body test reads.
const maxBodyRead = 4 << 20

// bodyValues returns what the body test (RFC 5173 §5) compares: the raw
// body for :raw; otherwise the decoded content of the MIME parts whose
// type matches :content (":text" is :content "text"), one value per part.
func (r *run) bodyValues(a *checkedArgs) ([]string, error) {
	raw, err := io.ReadAll(io.LimitReader(r.msg.Body(), maxBodyRead))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %v", err)
	}
	if _, ok := a.tags["raw"]; ok {
		return []string{string(raw)}, nil
	}
	types := []string{"text"}
	_, isContent := a.tags["content"]
	if isContent {
		types = r.strs(a.tags["content"])
	}
	var h textproto.Header
	for _, name := range []string{"Content-Type", "Content-Transfer-Encoding"} {
		for _, v := range r.msg.Header(name) {
			h.Add(name, strings.TrimSpace(v))
		}
	}
	ent, err := message.New(message.Header{Header: h}, bytes.NewReader(raw))
	if ent == nil {
		return nil, nil
	}
	_ = err // an unknown charset still gives the undecoded text
	var out []string
	walkErr := ent.Walk(func(path []int, part *message.Entity, err error) error {
		if err != nil {
			return nil
		}
		mt, _, _ := part.Header.ContentType()
		if mt == "" {
			mt = "text/plain" // RFC 2045 §5.2
		}
		if strings.HasPrefix(mt, "multipart/") && !contentWanted(types, mt) {
			return nil
		}
		if !contentWanted(types, mt) {
			return nil
		}
		b, _ := io.ReadAll(io.LimitReader(part.Body, maxBodyRead))
		text := string(b)
		if mt == "text/html" && !isContent {
			// :text is the text a reader sees (RFC 5173 §5.1); Pigeonhole
			// converts HTML to plain text too.
			text = htmlText(text)
		}
		out = append(out, text)
		return nil
	})
	_ = walkErr
	return out, nil
}

// contentWanted: RFC 5173 §5.2, a type without "/" matches every subtype;
// "" matches every part.
func contentWanted(types []string, mt string) bool {
	for _, t := range types {
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case t == "":
			return true
		case strings.Contains(t, "/"):
			if t == mt {
				return true
			}
		case strings.HasPrefix(mt, t+"/"):
			return true
		}
	}
	return false
}

var htmlEntities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", "\"", "&#39;", "'", "&nbsp;", " ", "&amp;", "&")

// htmlText is a small HTML-to-text conversion for the body test: tags
// (and the content of script and style) dropped, common entities decoded.
func htmlText(h string) string {
	var b strings.Builder
	lower := strings.ToLower(h)
	for i := 0; i < len(h); {
		if h[i] != '<' {
			j := strings.IndexByte(h[i:], '<')
			if j < 0 {
				j = len(h) - i
			}
			b.WriteString(h[i : i+j])
			i += j
			continue
		}
		end := strings.IndexByte(h[i:], '>')
		if end < 0 {
			break
		}
		for _, skip := range []string{"script", "style"} {
			if strings.HasPrefix(lower[i+1:], skip) {
				if k := strings.Index(lower[i:], "</"+skip); k >= 0 {
					end = k + strings.IndexByte(h[i+k:], '>')
				}
			}
		}
		i += end + 1
	}
	return htmlEntities.Replace(b.String())
}
