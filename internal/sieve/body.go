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
	if c, ok := a.tags["content"]; ok {
		types = r.strs(c)
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
		out = append(out, string(b))
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
