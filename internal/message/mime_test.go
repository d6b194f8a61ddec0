package message

import (
	"fmt"
	"strings"
	"testing"
)

// nestedMultipart is a message whose multipart/mixed parts nest depth
// levels, each with its own boundary, a text part at the bottom.
func nestedMultipart(depth int) string {
	var b strings.Builder
	b.WriteString("Subject: deep\r\nMIME-Version: 1.0\r\n")
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nbottom\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

// shape renders a part tree: type, [children] or {message}, * when opaque.
func shape(p *Part) string {
	s := p.Type
	if p.Opaque {
		s += "*"
	}
	if len(p.Children) > 0 {
		var kids []string
		for _, c := range p.Children {
			kids = append(kids, shape(c))
		}
		s += "[" + strings.Join(kids, " ") + "]"
	}
	if p.Message != nil {
		s += "{" + shape(p.Message) + "}"
	}
	return s
}

func TestParseMIMEStructure(t *testing.T) {
	for _, c := range []struct{ name, msg, want string }{
		{"plain", "Subject: x\r\n\r\nhello\r\n", "text/plain"},
		{"no header", "\r\nhello", "text/plain"},
		{"header only", "Subject: x\r\n", "text/plain"},
		{"mixed", "Content-Type: multipart/mixed; boundary=XX\r\n\r\npreamble\r\n--XX\r\n\r\none\r\n--XX\r\n" +
			"Content-Type: image/png\r\n\r\ntwo\r\n--XX--\r\nepilogue\r\n", "multipart/mixed[text/plain image/png]"},
		{"LF line ends", "Content-Type: multipart/mixed; boundary=XX\n\n--XX\n\none\n--XX\n\ntwo\n--XX--\n",
			"multipart/mixed[text/plain text/plain]"},
		{"never closed", "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n\r\none\r\n--XX\r\n\r\ntwo",
			"multipart/mixed[text/plain text/plain]"},
		{"prefix is no delimiter", "Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\n\r\n--XY\r\n--X--\r\n",
			"multipart/mixed[text/plain]"},
		{"no delimiter", "Content-Type: multipart/mixed; boundary=XX\r\n\r\nno parts here\r\n", "multipart/mixed*"},
		{"no boundary", "Content-Type: multipart/mixed\r\n\r\n--XX\r\n\r\none\r\n", "multipart/mixed*"},
		{"bad content type", "Content-Type: ;;;\r\n\r\nx", "text/plain"},
		{"digest default", "Content-Type: multipart/digest; boundary=D\r\n\r\n--D\r\n\r\nSubject: in\r\n\r\nx\r\n--D--\r\n",
			"multipart/digest[message/rfc822{text/plain}]"},
		{"rfc822", "Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n",
			"message/rfc822{multipart/alternative[text/plain]}"},
	} {
		if got := shape(ParseMIME([]byte(c.msg))); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestParseMIMEOffsets(t *testing.T) {
	msg := []byte("Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/html\r\n\r\n<p>one</p>\r\n--XX\r\n\r\ntwo\r\n--XX--\r\n")
	p := ParseMIME(msg)
	if got := string(p.RawHeader(msg)); got != "Content-Type: multipart/mixed; boundary=XX\r\n\r\n" {
		t.Errorf("root header %q", got)
	}
	one, two := p.Children[0], p.Children[1]
	if string(one.RawHeader(msg)) != "Content-Type: text/html\r\n\r\n" || string(one.Body(msg)) != "<p>one</p>" {
		t.Errorf("part 1: header %q body %q", one.RawHeader(msg), one.Body(msg))
	}
	if string(two.RawHeader(msg)) != "\r\n" || string(two.Body(msg)) != "two" {
		t.Errorf("part 2: header %q body %q", two.RawHeader(msg), two.Body(msg))
	}
}

// A message nested 1000 levels deep (issue 15 §3) is split down to
// MaxMIMEDepth; the multipart there is one opaque part holding the rest.
func TestParseMIMEDepthBound(t *testing.T) {
	msg := []byte(nestedMultipart(1000))
	p := ParseMIME(msg)
	depth := 0
	for p.IsMultipart() {
		if len(p.Children) != 1 {
			t.Fatalf("level %d has %d parts", depth, len(p.Children))
		}
		p, depth = p.Children[0], depth+1
	}
	if depth != MaxMIMEDepth || !p.Opaque || p.Type != "multipart/mixed" {
		t.Fatalf("split to depth %d, then %s opaque=%v; want %d and an opaque multipart", depth, p.Type, p.Opaque, MaxMIMEDepth)
	}
	if !strings.Contains(string(p.Body(msg)), "bottom") {
		t.Errorf("the opaque part does not hold the rest of the message")
	}
	// message/rfc822 nesting counts the same.
	var b strings.Builder
	for i := 0; i < 300; i++ {
		b.WriteString("Content-Type: message/rfc822\r\n\r\n")
	}
	b.WriteString("\r\nend\r\n")
	p, depth = ParseMIME([]byte(b.String())), 0
	for p.Message != nil {
		p, depth = p.Message, depth+1
	}
	if depth != MaxMIMEDepth || !p.Opaque {
		t.Errorf("message/rfc822 nesting split to depth %d (opaque %v), want %d", depth, p.Opaque, MaxMIMEDepth)
	}
}

// A message both large and deep is split only as far as the scan budget
// goes (the work is counted, not timed).
func TestParseMIMEScanBudget(t *testing.T) {
	msg := nestedMultipart(MaxMIMEDepth)
	msg = strings.Replace(msg, "bottom", strings.Repeat("--b1x\r\n", (8<<20)/7), 1)
	ps := &mimeParser{msg: []byte(msg), budget: scanBudget(len(msg))}
	p := ps.entity(0, len(msg), 0, false)
	depth := 0
	for p.IsMultipart() {
		p, depth = p.Children[0], depth+1
	}
	if ps.scanned > ps.budget || !p.Opaque || depth < 5 || depth >= MaxMIMEDepth {
		t.Errorf("scanned %d of %d, split %d levels, then opaque %v", ps.scanned, ps.budget, depth, p.Opaque)
	}
}

func TestParseMIMEPartBound(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=p\r\n\r\n")
	for i := 0; i < MaxMIMEParts+500; i++ {
		fmt.Fprintf(&b, "--p\r\n\r\n%d\r\n", i)
	}
	b.WriteString("--p--\r\n")
	p := ParseMIME([]byte(b.String()))
	if n := countParts(p); n != MaxMIMEParts {
		t.Errorf("%d parts, want %d", n, MaxMIMEParts)
	}
}

func countParts(p *Part) int {
	n := 1
	for _, c := range p.Children {
		n += countParts(c)
	}
	if p.Message != nil {
		n += countParts(p.Message)
	}
	return n
}

// FuzzParseMIME: any message parses without panic into a tree within the
// bounds, every part inside its parent's body, parts in order, multiparts
// with at least one part unless opaque.
func FuzzParseMIME(f *testing.F) {
	for _, s := range []string{
		"Subject: x\r\n\r\nhello\r\n",
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n\r\none\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n--XX--\r\n",
		"Content-Type: multipart/mixed; boundary=XX\n\n--XX\n--XX\n--XX--",
		"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
		"Content-Type: multipart/digest; boundary=D\r\n\r\n--D\r\n\r\n--D--",
		"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n",
		"Content-Type: text/plain; charset=\"x-unknown\"\r\n Content-Type: a\r\n\r\n\xff\xfe",
		" folded first line\r\n\r\nbody",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n--a--\r\n",
		nestedMultipart(120),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		p := ParseMIME(msg)
		if p.Start != 0 || p.End != len(msg) {
			t.Fatalf("root spans %d..%d of %d", p.Start, p.End, len(msg))
		}
		if n := countParts(p); n > MaxMIMEParts {
			t.Fatalf("%d parts", n)
		}
		checkPart(t, p, 0)
		ps := &mimeParser{msg: msg, budget: scanBudget(len(msg))}
		if ps.entity(0, len(msg), 0, false); ps.scanned > ps.budget {
			t.Fatalf("scanned %d bytes, budget %d", ps.scanned, ps.budget)
		}
	})
}

func checkPart(t *testing.T, p *Part, depth int) {
	t.Helper()
	if depth > MaxMIMEDepth {
		t.Fatalf("depth %d", depth)
	}
	if !(p.Start <= p.BodyStart && p.BodyStart <= p.End) {
		t.Fatalf("part offsets %d %d %d", p.Start, p.BodyStart, p.End)
	}
	if strings.HasPrefix(p.Type, "multipart/") && !p.Opaque && len(p.Children) == 0 {
		t.Fatalf("multipart without parts, not opaque")
	}
	if p.Opaque && (len(p.Children) > 0 || p.Message != nil) {
		t.Fatalf("opaque part with sub-parts")
	}
	prev := p.BodyStart
	for _, c := range p.Children {
		if c.Start < prev || c.End > p.End {
			t.Fatalf("part %d..%d outside or before %d..%d", c.Start, c.End, prev, p.End)
		}
		prev = c.End
		checkPart(t, c, depth+1)
	}
	if m := p.Message; m != nil {
		if m.Start != p.BodyStart || m.End != p.End {
			t.Fatalf("encapsulated message %d..%d, body %d..%d", m.Start, m.End, p.BodyStart, p.End)
		}
		checkPart(t, m, depth+1)
	}
}
