package webmail

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"

	"mailgate/internal/mailbox"
	"mailgate/internal/message"
)

const account = "taro@example.jp"

// newMailbox is a fresh mailbox with a learner recording its lessons.
func newMailbox(t *testing.T) (*Mailbox, *lessons) {
	t.Helper()
	l := &lessons{}
	mb, err := Open(t.TempDir(), account, l.learn)
	if err != nil {
		t.Fatal(err)
	}
	return mb, l
}

type lessons struct {
	mu  sync.Mutex
	got []string
}

func (l *lessons) learn(acct, from, to string, files func() []*os.File) {
	fs := files()
	for _, f := range fs {
		f.Close()
	}
	l.mu.Lock()
	l.got = append(l.got, fmt.Sprintf("%s %s->%s %d", acct, from, to, len(fs)))
	l.mu.Unlock()
}

var seq int

// put delivers msg (LF line ends become CRLF) into folder as local
// delivery does, at time at.
func put(t *testing.T, mb *Mailbox, folder, msg string, at time.Time) {
	t.Helper()
	dir, err := mailbox.FolderDir(mb.dir, folder)
	if err != nil {
		t.Fatal(err)
	}
	msg = strings.ReplaceAll(msg, "\n", "\r\n")
	seq++
	name := mailbox.DeliveryName(at, fmt.Sprintf("k%d", seq), "test", int64(len(msg)))
	if err := mailbox.Deliver(dir, name, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
}

func TestJapaneseCharsetsDecode(t *testing.T) {
	mb, _ := newMailbox(t)
	now := time.Now()
	// "日本語のメール" in each charset, as iconv writes it; the subjects
	// are "件名テスト" as RFC 2047 encoded words.
	put(t, mb, Inbox, "From: =?ISO-2022-JP?B?GyRCJTUlcyVXJWsbKEI=?= <a@example.jp>\nSubject: =?ISO-2022-JP?B?GyRCN29MPiVGJTklSBsoQg==?=\nMIME-Version: 1.0\nContent-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n\x1b$BF|K\\8l$N%a!<%k\x1b(B\n", now)
	put(t, mb, Inbox, "From: b@example.jp\nSubject: =?Shift_JIS?B?jI+WvINlg1iDZw==?=\nMIME-Version: 1.0\nContent-Type: text/plain; charset=Shift_JIS\nContent-Transfer-Encoding: base64\n\nk/qWe4zqgsyDgYFbg4s=\n", now.Add(time.Second))
	put(t, mb, Inbox, "From: c@example.jp\nSubject: =?EUC-JP?Q?=B7=EF=CC=BE=A5=C6=A5=B9=A5=C8?=\nMIME-Version: 1.0\nContent-Type: text/plain; charset=EUC-JP\nContent-Transfer-Encoding: 8bit\n\n\xc6\xfc\xcb\xdc\xb8\xec\xa4\xce\xa5\xe1\xa1\xbc\xa5\xeb\n", now.Add(2*time.Second))
	// No charset declared at all, Shift_JIS bytes: taken as Japanese.
	put(t, mb, Inbox, "From: d@example.jp\nSubject: none\n\n\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83\x81\x81\x5b\x83\x8b\n", now.Add(3*time.Second))
	for uid := uint32(1); uid <= 4; uid++ {
		m, err := mb.Read(Inbox, uid)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(m.Text) != "日本語のメール" {
			t.Errorf("uid %d: text %q", uid, m.Text)
		}
		if uid < 4 && m.Subject != "件名テスト" {
			t.Errorf("uid %d: subject %q", uid, m.Subject)
		}
	}
	m, _ := mb.Read(Inbox, 1)
	if m.From != "サンプル <a@example.jp>" {
		t.Errorf("from %q", m.From)
	}
	// The list shows the same decoded text (from the summary cache).
	p, err := mb.List(Inbox, Query{Sort: BySubject})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Rows {
		if r.UID == 1 && (r.Subject != "件名テスト" || r.From != "サンプル" || r.FromAddr != "a@example.jp") {
			t.Errorf("row %+v", r)
		}
	}
}

func TestAttachmentNames(t *testing.T) {
	for _, c := range []struct{ field, want string }{
		// RFC 2231 §4 in UTF-8 (the standard library's case).
		{`attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt`, "日本語.txt"},
		// RFC 2231 §3+§4: continuations, ISO-2022-JP (refused by
		// mime.ParseMediaType): "添付資料.pdf".
		{`attachment; filename*0*=ISO-2022-JP''%1B%24BE%3AIU; filename*1*=%3B%71NA%1B%28B; filename*2=".pdf"`, "添付資料.pdf"},
		// Shift_JIS in RFC 2231 form.
		{`attachment; filename*=Shift_JIS'ja'%93%FA%96%7B%8C%EA.doc`, "日本語.doc"},
		// RFC 2047 inside the quotes, as many Japanese mailers write it.
		{`attachment; filename="=?ISO-2022-JP?B?GyRCRTpJVTtxTkEbKEI=?=.pdf"`, "添付資料.pdf"},
		{`attachment; filename="=?UTF-8?B?5pel5pys6Kqe?=.txt"`, "日本語.txt"},
		// A path is cut to its last element.
		{`attachment; filename="../../etc/passwd"`, "passwd"},
		{`attachment; filename="C:\\Windows\\evil.exe"`, "evil.exe"},
		// Unquoted with spaces (broken, common): still found.
		{`attachment; filename=my report.pdf`, "my report.pdf"},
	} {
		var h gomessage.Header
		h.Set("Content-Disposition", c.field)
		if got := AttachmentName(h); got != c.want {
			t.Errorf("%s: %q, want %q", c.field, got, c.want)
		}
	}
	// The name in Content-Type when the disposition has none.
	var h gomessage.Header
	h.Set("Content-Type", `application/pdf; name="=?Shift_JIS?B?k/qWe4zq?=.pdf"`)
	if got := AttachmentName(h); got != "日本語.pdf" {
		t.Errorf("Content-Type name: %q", got)
	}
}

func TestReadAttachmentsAndParts(t *testing.T) {
	mb, _ := newMailbox(t)
	put(t, mb, Inbox, `From: a@example.jp
Subject: files
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset=utf-8

plain version
--b2
Content-Type: text/html; charset=utf-8

<p>html <b>version</b><img src="cid:logo@x"></p>
--b2--
--b1
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--b1
Content-Type: text/html; name="page.html"
Content-Disposition: attachment; filename*=UTF-8''%E8%B3%87%E6%96%99.html
Content-Transfer-Encoding: base64

PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==
--b1--
`, time.Now())
	m, err := mb.Read(Inbox, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !m.HasHTML || m.Text != "" {
		t.Errorf("HasHTML %v text %q (the alternative's HTML is the body)", m.HasHTML, m.Text)
	}
	if len(m.Attachments) != 2 || m.Attachments[1].Name != "資料.html" || m.Attachments[1].Part != "3" {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	body, name, typ, err := mb.Part(Inbox, 1, "3")
	if err != nil || string(body) != "<script>alert(1)</script>" || name != "資料.html" || typ != "text/html" {
		t.Errorf("part 3: %q %q %q %v", body, name, typ, err)
	}
	doc, remote, err := mb.HTMLBody(Inbox, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if remote || !strings.Contains(string(doc), `src="data:image/png;base64,iVBORw0KGgo="`) || !strings.Contains(string(doc), "<b>version</b>") {
		t.Errorf("body %s (remote %v)", doc, remote)
	}
	if _, _, _, err := mb.Part(Inbox, 1, "9"); !errors.Is(err, ErrNoMessage) {
		t.Errorf("missing part: %v", err)
	}
	if _, err := mb.Read(Inbox, 99); !errors.Is(err, ErrNoMessage) {
		t.Errorf("missing message: %v", err)
	}
}

func TestSanitizerRemovesActiveContent(t *testing.T) {
	in := `<html><head><meta http-equiv="refresh" content="0;url=http://evil.test/"><style>body{background:url(http://evil.test/css.png)}</style>
<link rel="stylesheet" href="http://evil.test/x.css"><base href="http://evil.test/"></head>
<body onload="alert(0)"><script>alert(1)</script>
<p style="color:red;background-image:url(http://evil.test/bg.png)">text</p>
<img src="http://evil.test/pixel.gif" onerror="alert(2)" alt="px">
<img srcset="http://evil.test/a.png 1x" src="https://evil.test/b.png">
<table background="http://evil.test/t.png"><tr><td>cell</td></tr></table>
<a href="javascript:alert(3)">js</a> <a href="https://example.jp/">ok link</a>
<iframe src="http://evil.test/f"></iframe><object data="http://evil.test/o"></object><embed src="http://evil.test/e">
<form action="http://evil.test/f"><input name="p"></form><svg onload="alert(4)"><image href="http://evil.test/s.png"/></svg>
<video poster="http://evil.test/v.png"></video></body></html>`
	out, remote := SanitizeHTML([]byte(in), false)
	s := string(out)
	for _, bad := range []string{"<script", "alert", "onerror", "onload", "evil.test", "<iframe", "<object", "<embed", "<form", "<svg", "<style", "<link", "<meta", "<base", "javascript:", "background-image", "srcset", "<video"} {
		if strings.Contains(s, bad) {
			t.Errorf("sanitized HTML holds %q:\n%s", bad, s)
		}
	}
	if !remote {
		t.Error("remote images not reported")
	}
	for _, want := range []string{"text", "cell", `href="https://example.jp/"`, `noreferrer`, "color: red", blockedImage} {
		if !strings.Contains(s, want) {
			t.Errorf("sanitized HTML lacks %q:\n%s", want, s)
		}
	}
	// Asked for: the remote image stays, active content still goes.
	out, _ = SanitizeHTML([]byte(in), true)
	if s := string(out); !strings.Contains(s, `src="http://evil.test/pixel.gif"`) || strings.Contains(s, "onerror") || strings.Contains(s, "<script") {
		t.Errorf("with images:\n%s", s)
	}
}

func TestListPagesSortsAndSearches(t *testing.T) {
	mb, _ := newMailbox(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 230
	for i := 0; i < n; i++ {
		body := "ordinary text"
		if i == 77 {
			body = "the needle is here"
		}
		// Delivered out of date order, every size different.
		at := base.Add(time.Duration((i*37)%n) * time.Hour)
		put(t, mb, Inbox, fmt.Sprintf("From: Sender %03d <s%03d@example.jp>\nTo: rcpt%03d@example.jp\nSubject: Re: topic %03d\n\n%s%s\n", (i*7)%n, i, i, (i*11)%n, body, strings.Repeat("x", i)), at)
	}
	p, err := mb.List(Inbox, Query{PerPage: 50})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != n || p.Pages != 5 || len(p.Rows) != 50 {
		t.Fatalf("total %d pages %d rows %d", p.Total, p.Pages, len(p.Rows))
	}
	// Newest first, across pages, no message twice.
	seen := map[uint32]bool{}
	var last time.Time
	for page := 0; page < p.Pages; page++ {
		pg, _ := mb.List(Inbox, Query{PerPage: 50, Page: page})
		for _, r := range pg.Rows {
			if seen[r.UID] {
				t.Fatalf("uid %d twice", r.UID)
			}
			seen[r.UID] = true
			if !last.IsZero() && r.Date.After(last) {
				t.Fatalf("page %d: %v after %v", page, r.Date, last)
			}
			last = r.Date
		}
	}
	if len(seen) != n {
		t.Errorf("%d messages over all pages", len(seen))
	}
	// Past the last page: the last page.
	if pg, _ := mb.List(Inbox, Query{PerPage: 50, Page: 99}); pg.Query.Page != 4 || len(pg.Rows) != n-200 {
		t.Errorf("page 99: page %d, %d rows", pg.Query.Page, len(pg.Rows))
	}
	check := func(q Query, first string, field func(Row) string) {
		t.Helper()
		pg, err := mb.List(Inbox, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := field(pg.Rows[0]); got != first {
			t.Errorf("%+v: first %q, want %q", q, got, first)
		}
	}
	check(Query{Sort: BySender, Asc: true}, "Sender 000", func(r Row) string { return r.From })
	check(Query{Sort: BySender}, "Sender 229", func(r Row) string { return r.From })
	check(Query{Sort: BySubject, Asc: true}, "Re: topic 000", func(r Row) string { return r.Subject })
	for _, asc := range []bool{false, true} {
		var sizes []int64
		for page := 0; page < 2; page++ {
			pg, _ := mb.List(Inbox, Query{Sort: BySize, Asc: asc, PerPage: 200, Page: page})
			for _, r := range pg.Rows {
				sizes = append(sizes, r.Size)
			}
		}
		if len(sizes) != n || !slices.IsSortedFunc(sizes, func(a, b int64) int {
			if asc {
				return cmp.Compare(a, b)
			}
			return cmp.Compare(b, a)
		}) {
			t.Errorf("size order (asc %v): %v", asc, sizes)
		}
	}
	count := func(q Query) int {
		pg, err := mb.List(Inbox, q)
		if err != nil {
			t.Fatal(err)
		}
		return pg.Total
	}
	if c := count(Query{Search: "s005@", In: InFrom}); c != 1 {
		t.Errorf("from search: %d", c)
	}
	if c := count(Query{Search: "RCPT01", In: InTo}); c != 10 { // rcpt010..019
		t.Errorf("to search: %d", c)
	}
	if c := count(Query{Search: "topic 10", In: InSubject}); c != 10 { // 100..109
		t.Errorf("subject search: %d", c)
	}
	if c := count(Query{Search: "needle", In: InBody}); c != 1 {
		t.Errorf("body search: %d", c)
	}
	if c := count(Query{Search: "needle"}); c != 0 {
		t.Errorf("header search found body text: %d", c)
	}
}

func TestActionsAndLearning(t *testing.T) {
	mb, l := newMailbox(t)
	for i := 0; i < 3; i++ {
		put(t, mb, Inbox, fmt.Sprintf("From: a@example.jp\nSubject: m%d\n\nx\n", i), time.Now())
	}
	mustList := func(folder string) []Row {
		t.Helper()
		p, err := mb.List(folder, Query{Sort: ByDate, Asc: true})
		if err != nil {
			t.Fatal(err)
		}
		return p.Rows
	}
	if err := mb.Mark(Inbox, []uint32{1}, MarkFlagged); err != nil {
		t.Fatal(err)
	}
	if err := mb.Mark(Inbox, []uint32{1, 2}, MarkRead); err != nil {
		t.Fatal(err)
	}
	// The flags are Maildir flags: what IMAP and Dovecot read.
	if f, _ := filepath.Glob(filepath.Join(mb.dir, "cur", "*:2,FS")); len(f) != 1 {
		t.Errorf("flagged+seen files: %v", f)
	}
	fi, _ := mb.Folders()
	if fi[0].Name != Inbox || fi[0].Unread != 1 || fi[0].Total != 3 {
		t.Errorf("INBOX %+v", fi[0])
	}
	if err := mb.Spam(Inbox, []uint32{3}); err != nil {
		t.Fatal(err)
	}
	if err := mb.NotSpam(Junk, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	if err := mb.Delete(Inbox, []uint32{2}); err != nil {
		t.Fatal(err)
	}
	want := []string{account + " INBOX->Junk 1", account + " Junk->INBOX 1", account + " INBOX->Trash 1"}
	if fmt.Sprint(l.got) != fmt.Sprint(want) {
		t.Errorf("learner heard %q, want %q", l.got, want)
	}
	if r := mustList(Inbox); len(r) != 2 || r[1].Subject != "m2" {
		t.Errorf("INBOX %+v", r)
	}
	if r := mustList(Trash); len(r) != 1 || r[0].Subject != "m1" || !r[0].Seen() {
		t.Errorf("Trash %+v", r)
	}
	if err := mb.Delete(Trash, []uint32{r0(mustList(Trash))}); err != nil {
		t.Fatal(err)
	}
	if r := mustList(Trash); len(r) != 0 {
		t.Errorf("Trash after delete there: %+v", r)
	}
	put(t, mb, Junk, "From: s@example.jp\nSubject: spam\n\nx\n", time.Now())
	if err := mb.Empty(Junk); err != nil {
		t.Fatal(err)
	}
	if r := mustList(Junk); len(r) != 0 {
		t.Errorf("Junk after empty: %+v", r)
	}
	if err := mb.Empty(Inbox); !errors.Is(err, ErrBadAction) {
		t.Errorf("emptying INBOX: %v", err)
	}
	if err := mb.Mark(Inbox, []uint32{1}, "bogus"); !errors.Is(err, ErrBadAction) {
		t.Errorf("bogus mark: %v", err)
	}
}

func r0(rows []Row) uint32 { return rows[0].UID }

func TestFolderRules(t *testing.T) {
	mb, _ := newMailbox(t)
	for _, n := range []string{"仕事", "仕事.2026"} {
		if err := mb.CreateFolder(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"", "a..b", "x/y", "INBOX.sub", ".hidden", "a\\b"} {
		if err := mb.CreateFolder(bad); !errors.Is(err, mailbox.ErrBadFolderName) {
			t.Errorf("create %q: %v", bad, err)
		}
	}
	if err := mb.CreateFolder("仕事.2026"); !errors.Is(err, mailbox.ErrFolderExists) {
		t.Errorf("create twice: %v", err)
	}
	for _, sp := range []string{Inbox, "inbox", Sent, Drafts, Trash, Junk} {
		if err := mb.DeleteFolder(sp); !errors.Is(err, ErrSpecialFolder) {
			t.Errorf("delete %s: %v", sp, err)
		}
		if err := mb.RenameFolder(sp, "x"); !errors.Is(err, ErrSpecialFolder) {
			t.Errorf("rename %s: %v", sp, err)
		}
	}
	if err := mb.RenameFolder("仕事", "Work"); err != nil {
		t.Fatal(err)
	}
	fi, _ := mb.Folders()
	var names []string
	for _, f := range fi {
		names = append(names, f.Name)
	}
	if fmt.Sprint(names) != "[INBOX Sent Drafts Trash Junk Work Work.2026]" {
		t.Errorf("folders %v", names)
	}
	if err := mb.DeleteFolder("Work.2026"); err != nil {
		t.Fatal(err)
	}
	if mb.Exists("Work.2026") || !mb.Exists("Work") {
		t.Error("delete took the wrong folder")
	}
}

func FuzzAttachmentName(f *testing.F) {
	for _, s := range []string{
		`attachment; filename*0*=ISO-2022-JP''%1B%24BE%3AIU; filename*1*=%3B%71NA%1B%28B; filename*2=".pdf"`,
		`attachment; filename="=?UTF-8?B?5pel5pys6Kqe?=.txt"`,
		`attachment; filename*=Shift_JIS'ja'%93%FA`, `inline; filename*999*=x`, `a; filename="\"`, `;;;=`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, field string) {
		var h gomessage.Header
		h.Set("Content-Disposition", field)
		n := AttachmentName(h)
		if strings.ContainsAny(n, "/\x00\r\n") || len(n) > 200 {
			t.Errorf("name %q from %q", n, field)
		}
	})
}

// FuzzReadMessage: any bytes in a Maildir file read without a panic.
func FuzzReadMessage(f *testing.F) {
	f.Add([]byte("Subject: =?ISO-2022-JP?B?GyRC?=\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/html; charset=euc-jp\r\n\r\n<img src=cid:a>\r\n--x--\r\n"))
	f.Add([]byte("Content-Type: text/plain; charset=iso-2022-jp\r\n\r\n\x1b$B\xff\x1b(B"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		root := message.ParseMIME(msg)
		b := collect(msg, root)
		for _, p := range b.texts {
			decodeText(msg, p)
		}
		budget := maxInlineTotal
		for _, p := range b.htmls {
			SanitizeHTML([]byte(inlineCIDs(decodeText(msg, p), msg, b.cids, &budget)), false)
		}
		for _, a := range b.attachments {
			AttachmentName(a.part.Header)
			findPart(root, a.id)
		}
	})
}

// The kept sender order follows the folder: a new message takes its
// place, an expunged one leaves it.
func TestSortedOrderFollowsChanges(t *testing.T) {
	mb, _ := newMailbox(t)
	for _, from := range []string{"Mika", "Bob", "Zoe"} {
		put(t, mb, Inbox, "From: "+from+" <x@example.jp>\nSubject: s\n\nx\n", time.Now())
	}
	order := func() string {
		t.Helper()
		p, err := mb.List(Inbox, Query{Sort: BySender, Asc: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range p.Rows {
			out = append(out, r.From)
		}
		desc, _ := mb.List(Inbox, Query{Sort: BySender})
		if len(desc.Rows) > 0 && desc.Rows[0].From != out[len(out)-1] {
			t.Errorf("descending starts with %q, ascending ends with %q", desc.Rows[0].From, out[len(out)-1])
		}
		return strings.Join(out, " ")
	}
	if got := order(); got != "Bob Mika Zoe" {
		t.Fatalf("order %q", got)
	}
	put(t, mb, Inbox, "From: Anna <a@example.jp>\nSubject: s\n\nx\n", time.Now())
	if got := order(); got != "Anna Bob Mika Zoe" {
		t.Errorf("after a new message: %q", got)
	}
	if err := mb.Delete(Inbox, []uint32{2}); err != nil { // Bob
		t.Fatal(err)
	}
	if got := order(); got != "Anna Mika Zoe" {
		t.Errorf("after a delete: %q", got)
	}
}

// TestBodySearchStopsWithItsRequest: a body search reads every message;
// once the request's context ends it stops with the context's error
// instead of reading the rest of the folder for no one.
func TestBodySearchStopsWithItsRequest(t *testing.T) {
	mb, _ := newMailbox(t)
	for i := 0; i < 20; i++ {
		put(t, mb, Inbox, fmt.Sprintf("From: a@example.jp\nSubject: n %d\n\nnothing to find\n", i), time.Now())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mb.ListContext(ctx, Inbox, Query{Search: "needle", In: InBody}); !errors.Is(err, context.Canceled) {
		t.Fatalf("body search with an ended request: %v, want context.Canceled", err)
	}
	// A search of the summaries costs no file reads: it still answers.
	if p, err := mb.ListContext(ctx, Inbox, Query{Search: "n 1", In: InSubject}); err != nil || p.Total != 11 {
		t.Fatalf("subject search: %v, %+v", err, p)
	}
}

// TestInlineImagesBounded: every cid: reference becomes a copy of the
// image as a data: URL, so a message naming one image hundreds of times
// must not make the frame hundreds of images long; the first ones show,
// the rest stay cid: (which loads nothing).
func TestInlineImagesBounded(t *testing.T) {
	mb, _ := newMailbox(t)
	img := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 16<<10)) // 64 KiB
	var lines []string
	for len(img) > 76 {
		lines, img = append(lines, img[:76]), img[76:]
	}
	lines = append(lines, img)
	put(t, mb, Inbox, "From: a@example.jp\nSubject: many\nMIME-Version: 1.0\nContent-Type: multipart/related; boundary=b\n\n--b\nContent-Type: text/html; charset=utf-8\n\n"+
		strings.Repeat(`<img src="cid:i@x">`, 400)+"\n--b\nContent-Type: image/png\nContent-ID: <i@x>\nContent-Transfer-Encoding: base64\n\n"+strings.Join(lines, "\n")+"\n--b--\n", time.Now())
	doc, _, err := mb.HTMLBody(Inbox, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc) > maxInlineTotal+64<<10 {
		t.Fatalf("the frame is %d bytes for a %d-byte image named 400 times, want at most %d", len(doc), 64<<10, maxInlineTotal)
	}
	if n := strings.Count(string(doc), `src="data:image/png;base64,`); n < 100 {
		t.Errorf("%d images inlined, want the budget's worth (over 100)", n)
	}
}
