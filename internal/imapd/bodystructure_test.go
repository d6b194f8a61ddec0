package imapd

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailgate/internal/mailbox"
	"mailgate/internal/message"
)

// nestedMIME is a message whose multipart/mixed parts nest depth levels,
// each with its own boundary, a text part at the bottom.
func nestedMIME(depth int) string {
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

func deliverRaw(t *testing.T, mailRoot string, i int, body string) {
	t.Helper()
	name := mailbox.DeliveryName(time.Unix(1700000000+int64(i), 0), fmt.Sprintf("r%d.0", i), "mx.test", int64(len(body)))
	dir, err := mailbox.Dir(mailRoot, testUser)
	if err != nil {
		t.Fatal(err)
	}
	if err := mailbox.Deliver(dir, name, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
}

// Issue 15 §3: a hostile message must not stop a mailbox's sync. A
// multipart without parts made go-imap's encoder panic (the connection
// dropped at that message, every time); a 1000-level message is answered
// down to the bound and opaque beyond it.
func TestFetchHostileMIMEKeepsSession(t *testing.T) {
	addr, root := testServer(t)
	c := dial(t, addr)
	deliverRaw(t, root, 1, nestedMIME(1000))
	deliverRaw(t, root, 2, "Content-Type: multipart/mixed; boundary=x\r\n\r\nno delimiter at all\r\n")
	deliverRaw(t, root, 3, "Subject: fine\r\n\r\nbody\r\n")
	c.do("SELECT INBOX")
	out := c.do("FETCH 1:* (UID FLAGS BODYSTRUCTURE)")
	lines := strings.Split(out, "\n")
	if len(lines) != 3 {
		t.Fatalf("FETCH answered %d lines:\n%.500s", len(lines), out)
	}
	if n := strings.Count(lines[0], `"mixed"`); n != message.MaxMIMEDepth {
		t.Errorf("deep message: %d multipart levels, want %d", n, message.MaxMIMEDepth)
	}
	if !strings.Contains(lines[0], `(("application" "octet-stream" NIL NIL NIL "7bit" `) {
		t.Errorf("deep message: no opaque part at the bound:\n%.300s", lines[0][len(lines[0])-300:])
	}
	expect(t, "no-parts message", lines[1],
		`* 2 FETCH (UID 2 FLAGS () BODYSTRUCTURE ("application" "octet-stream" NIL NIL NIL "7bit" 21 NIL NIL NIL NIL))`)
	expect(t, "plain message", lines[2],
		`* 3 FETCH (UID 3 FLAGS () BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 6 1 NIL NIL NIL NIL))`)
	// Sections through and beyond the bound: the path goes as deep as the
	// parts do, then names nothing.
	path := strings.TrimSuffix(strings.Repeat("1.", 100), ".")
	expect(t, "section at the bound", c.do("FETCH 1 (BODY.PEEK["+path+"]<0.20>)"),
		"* 1 FETCH (BODY["+path+"]<0> {20}\n--b100\nContent-Type)") // the opaque part's body
	// Beyond it, the opaque part has only part 1, itself (RFC 9051 §6.4.5).
	deep := strings.Repeat("1.", 1000)
	if got := c.do("FETCH 1 (BODY.PEEK[" + deep + "1]<0.6> BINARY.PEEK[" + deep + "2])"); !strings.HasSuffix(got, "<0> {6}\n--b100 BINARY["+deep+"2] ~{0}\n)") {
		t.Errorf("sections beyond the bound: %.100q", got[len(got)-100:])
	}
	c.do("NOOP")
}

// TestBodySections: parts are numbered as RFC 9051 §6.4.5 shows, through a
// message/rfc822 part, with HEADER, TEXT and MIME.
func TestBodySections(t *testing.T) {
	msg := []byte("Subject: top\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\r\nfirst\r\n" +
		"--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n" +
		"--i\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--i--\r\n--o--\r\n")
	root := message.ParseMIME(msg)
	for _, c := range []struct {
		section string
		want    string
	}{
		{"1", "first"},
		{"2.HEADER", "Subject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"},
		{"2.HEADER.FIELDS (subject)", "Subject: inner\r\n\r\n"},
		{"2.MIME", "Content-Type: message/rfc822\r\n\r\n"},
		{"2.1", "aGVsbG8="},
		{"2.1.MIME", "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"},
		{"2.2", ""},
		{"3", ""},
		{"1.1", "first"},
		{"HEADER.FIELDS.NOT (Content-Type)", "Subject: top\r\n\r\n"},
	} {
		item := parseSection(t, c.section)
		if got := string(bodySection(msg, root, item)); got != c.want {
			t.Errorf("BODY[%s] = %q, want %q", c.section, got, c.want)
		}
	}
	if got := string(binarySection(msg, root, &imap.FetchItemBinarySection{Part: []int{2, 1}})); got != "hello" {
		t.Errorf("BINARY[2.1] = %q", got)
	}
	// SEARCH BODY and TEXT look into the encapsulated message, decoded.
	for _, c := range []struct {
		pattern       string
		includeHeader bool
		want          bool
	}{
		{"HELLO", false, true}, {"aGVsbG8", false, false}, {"inner", false, false}, {"inner", true, true}, {"first", false, true},
	} {
		if got := matchPart(msg, root, c.pattern, c.includeHeader); got != c.want {
			t.Errorf("matchPart(%q, header %v) = %v", c.pattern, c.includeHeader, got)
		}
	}
}

// parseSection reads a section spec the way a client sends it, through
// go-imap's own FETCH parser, so the test uses the items a session gets.
func parseSection(t *testing.T, spec string) *imap.FetchItemBodySection {
	t.Helper()
	item := &imap.FetchItemBodySection{}
	rest := spec
	for rest != "" {
		n := 0
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			n = n*10 + int(rest[i]-'0')
			i++
		}
		if i == 0 {
			break
		}
		item.Part = append(item.Part, n)
		rest = strings.TrimPrefix(rest[i:], ".")
	}
	switch {
	case rest == "":
	case rest == "HEADER":
		item.Specifier = imap.PartSpecifierHeader
	case rest == "TEXT":
		item.Specifier = imap.PartSpecifierText
	case rest == "MIME":
		item.Specifier = imap.PartSpecifierMIME
	case strings.HasPrefix(rest, "HEADER.FIELDS.NOT ("):
		item.Specifier = imap.PartSpecifierHeader
		item.HeaderFieldsNot = strings.Fields(strings.Trim(rest[len("HEADER.FIELDS.NOT "):], "()"))
	case strings.HasPrefix(rest, "HEADER.FIELDS ("):
		item.Specifier = imap.PartSpecifierHeader
		item.HeaderFields = strings.Fields(strings.Trim(rest[len("HEADER.FIELDS "):], "()"))
	default:
		t.Fatalf("section %q", spec)
	}
	return item
}

// FuzzBodyStructure: BODYSTRUCTURE, ENVELOPE and every section of any
// message are built without panic, within the bounds, and in the form
// go-imap's encoder needs (it panics on a multipart without parts and
// reads the extension data unchecked); the body of each part is where the
// structure says and as long.
func FuzzBodyStructure(f *testing.F) {
	for _, s := range []string{
		"Subject: x\r\n\r\nhello\r\n",
		nestedMIME(3),
		nestedMIME(110),
		"Content-Type: multipart/mixed; boundary=x\r\n\r\nno parts\r\n",
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x\r\n--x\r\n",
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@b\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: in digest\r\n\r\n--d--\r\n",
		"Content-Type: text/plain; charset=x-no-such\r\nSubject: =?x-bad?q?caf=E9?=\r\nFrom: \"=?utf-8?b?!!!?=\" <a@b>, ;;;\r\n\r\n\xff",
		"Content-Type: multipart/mixed; boundary=\"" + strings.Repeat("b", 300) + "\"\r\n\r\n--" + strings.Repeat("b", 300) + "\r\n\r\nx",
		"Content-Transfer-Encoding: base64\r\nContent-Type: message/rfc822\r\n\r\n!!!!",
		"X: " + strings.Repeat("long ", 2000) + "\r\n" + strings.Repeat("Y: z\r\n", 2000) + "\r\nbody",
		"Content-Disposition: attachment; filename*=utf-8''%ff%fe\r\nContent-Language: ,,en,\r\n\r\n",
		" bad first line\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		root := message.ParseMIME(msg)
		imapserver.ExtractEnvelope(root.Header.Header)
		bs := bodyStructure(msg, root)
		n := checkStructure(t, msg, root, root, bs, nil, 0)
		if n > message.MaxMIMEParts {
			t.Fatalf("%d parts", n)
		}
	})
}

// checkStructure checks bs, built from part p found at path, and returns
// how many parts it describes.
func checkStructure(t *testing.T, msg []byte, root, p *message.Part, bs imap.BodyStructure, path []int, depth int) int {
	t.Helper()
	if depth > message.MaxMIMEDepth {
		t.Fatalf("structure %d levels deep", depth)
	}
	if len(path) > 0 && findPart(root, path) == nil {
		t.Fatalf("part %v not found", path)
	}
	sec := bodySection(msg, p, &imap.FetchItemBodySection{Specifier: imap.PartSpecifierMIME})
	if !bytes.Equal(sec, p.RawHeader(msg)) {
		t.Fatalf("MIME header of %v", path)
	}
	binarySection(msg, p, &imap.FetchItemBinarySection{})
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		if len(bs.Children) == 0 || bs.Extended == nil || len(bs.Children) != len(p.Children) {
			t.Fatalf("multipart %v: %d parts, extended %v", path, len(bs.Children), bs.Extended)
		}
		n := 1
		for i, c := range bs.Children {
			n += checkStructure(t, msg, root, p.Children[i], c, append(path[:len(path):len(path)], i+1), depth+1)
		}
		return n
	case *imap.BodyStructureSinglePart:
		if bs.Extended == nil || bs.Type == "" || bs.Subtype == "" || strings.EqualFold(bs.Type, "multipart") {
			t.Fatalf("single part %v: %q/%q extended %v", path, bs.Type, bs.Subtype, bs.Extended)
		}
		if int(bs.Size) != len(p.Body(msg)) {
			t.Fatalf("part %v: size %d, body %d", path, bs.Size, len(p.Body(msg)))
		}
		if m := bs.MessageRFC822; m != nil {
			if m.Envelope == nil || m.BodyStructure == nil || p.Message == nil {
				t.Fatalf("message part %v without envelope or structure", path)
			}
			return 1 + checkStructure(t, msg, root, p.Message, m.BodyStructure, path, depth+1)
		}
		return 1
	}
	t.Fatalf("structure %T", bs)
	return 0
}

// A real IMAP parser, go-imap's client, reads the BODYSTRUCTURE and
// ENVELOPE of hostile messages (in both the BODY and the extended form):
// the answers are well-formed, not only free of panics.
func TestBodyStructureReadByIMAPClient(t *testing.T) {
	addr, root := testServer(t)
	hostile := []string{
		nestedMIME(1000),
		"Content-Type: multipart/mixed; boundary=x\r\n\r\nno delimiter at all\r\n",
		"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: =?x-unknown?q?caf=E9?=\r\nFrom: \"\xff\" <a@b>, ;;\r\n\r\nx\r\n--d\r\nContent-Type: message/rfc822\r\n\r\n--d--\r\n",
		"Content-Type: text/plain; charset=\"x-\x01\"; name*=utf-8''%ff\r\nContent-Disposition: attachment; filename=\"\x7f\"\r\n" +
			"Subject: " + strings.Repeat("long ", 3000) + "\r\n\r\nbody\r\n",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n",
	}
	for i, m := range hostile {
		deliverRaw(t, root, i+1, m)
	}
	c, err := imapclient.DialTLS(addr, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPW).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, extended := range []bool{false, true} {
		msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5), &imap.FetchOptions{
			UID: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: extended},
		}).Collect()
		if err != nil {
			t.Fatalf("extended %v: %v", extended, err)
		}
		if len(msgs) != len(hostile) {
			t.Fatalf("extended %v: %d messages", extended, len(msgs))
		}
		depth, bs := 0, msgs[0].BodyStructure
		for {
			mp, ok := bs.(*imap.BodyStructureMultiPart)
			if !ok {
				break
			}
			depth, bs = depth+1, mp.Children[0]
		}
		if sp, ok := bs.(*imap.BodyStructureSinglePart); depth != message.MaxMIMEDepth || !ok || sp.MediaType() != "application/octet-stream" {
			t.Errorf("extended %v: deep message read as %d levels, then %T", extended, depth, bs)
		}
		for _, m := range msgs {
			if m.Envelope == nil || m.BodyStructure == nil {
				t.Errorf("message %d: envelope %v, structure %v", m.SeqNum, m.Envelope, m.BodyStructure)
			}
		}
	}
}
