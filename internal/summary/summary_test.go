package summary

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"mailgate/internal/mailbox"
)

var seq int

// put delivers msg (LF line ends become CRLF) into the Maildir dir as
// local delivery does.
func put(t *testing.T, dir, msg string) {
	t.Helper()
	msg = strings.ReplaceAll(msg, "\n", "\r\n")
	seq++
	name := mailbox.DeliveryName(time.Now(), fmt.Sprintf("k%d", seq), "test", int64(len(msg)))
	if err := mailbox.Deliver(dir, name, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
}

// open opens the folder in dir with its messages now.
func open(t *testing.T, dir string) (*mailbox.Folder, []mailbox.Message) {
	t.Helper()
	f, err := mailbox.OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, f.Snapshot()
}

// forget drops every folder's summaries from memory, as a restart does.
func forget() {
	cachesMu.Lock()
	clear(caches)
	cachesMu.Unlock()
}

// rewrite changes the one message file in dir behind the cache's back
// (a Maildir file never changes; this only proves the file is not read
// again).
func rewrite(t *testing.T, dir, msg string) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "cur", "*"))
	if err != nil || len(names) != 1 {
		t.Fatalf("messages %v %v", names, err)
	}
	if err := os.WriteFile(names[0], []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDecodesJapaneseHeaders: encoded words in ISO-2022-JP, the sender's
// display name apart from its address, each To address with its name.
func TestDecodesJapaneseHeaders(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "From: =?ISO-2022-JP?B?GyRCJTUlcyVXJWsbKEI=?= <a@example.jp>\nTo: =?UTF-8?B?5aSq6YOO?= <taro@example.jp>, b@example.jp\nSubject: =?ISO-2022-JP?B?GyRCN29MPiVGJTklSBsoQg==?=\n\nx\n")
	f, msgs := open(t, dir)
	s := Of(f, msgs)[0]
	if want := (Summary{From: "サンプル", FromAddr: "a@example.jp", To: "太郎 <taro@example.jp>, b@example.jp", Subject: "件名テスト", Threaded: true,
		ToAddr: "taro@example.jp", ToDisplay: "太郎", Sortable: true}); s != want {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
}

func TestSummaryCacheSparesTheFiles(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "From: a@example.jp\nSubject: original\n\nx\n")
	f, msgs := open(t, dir)
	Of(f, msgs)
	b, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil || !strings.Contains(string(b), "\toriginal\t") {
		t.Fatalf("cache file %q %v", b, err)
	}
	// Forget the memory copy and change the message: the cached subject
	// comes from the cache's file.
	forget()
	rewrite(t, dir, "From: a@example.jp\r\nSubject: changed\r\n\r\nx\r\n")
	if s := Of(f, msgs)[0]; s.Subject != "original" {
		t.Errorf("subject %q: the message was read again", s.Subject)
	}
}

// FuzzSummaryCacheFile: whatever the cache file holds (torn, edited,
// another version's), loading it neither fails nor yields a field that
// breaks the file's lines when written back.
func FuzzSummaryCacheFile(f *testing.F) {
	f.Add([]byte("a\tFrom\tf@x\tTo\tSubject\nb\t\t\t\t\n"))
	f.Add([]byte("torn\tline"))
	f.Add([]byte("\t\t\t\t\n\n\x00\t\xff\n"))
	f.Add([]byte("a\tFrom\tf@x\tTo\tSubject\t<m@x>\t<p@x> <q@x>\t1772413200\n"))
	f.Add([]byte("a\tFrom\tf@x\tTo\tSubject\t<m@x>\t\t1772413200\tt@x\tT\tc@x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, File), data, 0o600); err != nil {
			t.Fatal(err)
		}
		c := &folderCache{dir: dir, m: map[string]Summary{}}
		c.load()
		for base, s := range c.m {
			var b bytes.Buffer
			writeLine(&b, base, s)
			if line := b.String(); strings.Count(line, "\n") != 1 || strings.Count(line, "\t") != tabs(s) {
				t.Errorf("entry %q %+v writes %q", base, s, line)
			}
		}
	})
}

// tabs is the number of tabs in s's cache line: the fields of the version
// that wrote it.
func tabs(s Summary) int {
	switch {
	case s.Sortable:
		return 10
	case s.Threaded:
		return 7
	}
	return 4
}

// FuzzFromHeader: any header decodes to a summary that fits the cache's
// line and column once cached.
func FuzzFromHeader(f *testing.F) {
	f.Add([]byte("Subject: =?ISO-2022-JP?B?GyRC?=\r\nFrom: \"a\tb\" <x@y>\r\nReferences: <a@b> <c@d>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0900\r\n\r\n"))
	f.Add([]byte("From: =?utf-8?q?=0A?= <x@y>\r\nTo: ,,,\r\nIn-Reply-To: <\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(data)))
		s := FromHeader(gomessage.Header{Header: h}).cached()
		var b bytes.Buffer
		writeLine(&b, "base", s)
		if line := b.String(); strings.Count(line, "\n") != 1 || strings.Count(line, "\t") != 10 {
			t.Errorf("%+v writes %q", s, line)
		}
	})
}

// TestSummaryFieldsBoundedInMemory: a subject and sender as long as the
// summary's header read lets through are kept cut to fieldMax in memory,
// as in the cache's file, from the first read on.
func TestSummaryFieldsBoundedInMemory(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("long ", 3<<10) // 15 KiB each, all within headerMax
	put(t, dir, "From: "+long+"<a@example.jp>\nTo: "+long+"<b@example.jp>\nSubject: "+long+"\n\nx\n")
	f, msgs := open(t, dir)
	if s := Of(f, msgs)[0]; len(s.Subject) > fieldMax || len(s.From) > fieldMax || len(s.To) > fieldMax || s.Subject == "" {
		t.Errorf("fields %d/%d/%d bytes, want at most %d", len(s.Subject), len(s.From), len(s.To), fieldMax)
	}
	c := cacheFor(dir)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		if len(s.Subject) > fieldMax || len(s.From) > fieldMax || len(s.To) > fieldMax {
			t.Errorf("cached fields %d/%d/%d bytes, want at most %d", len(s.Subject), len(s.From), len(s.To), fieldMax)
		}
	}
}

// TestOldSummaryCacheLoads: a cache line of the version before threading
// (five fields, as webmail's cache wrote it) still serves a list without
// reading the message; the threading fields it lacks are read once, on
// the first threading, and kept in a line of the new form that the next
// load prefers.
func TestOldSummaryCacheLoads(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "From: a@example.jp\nSubject: original\nMessage-ID: <m1@example.jp>\nIn-Reply-To: <m0@example.jp>\nDate: Mon, 2 Mar 2026 10:00:00 +0900\n\nx\n")
	f, msgs := open(t, dir)
	forget()
	old := msgs[0].Base + "\tA\ta@example.jp\t\tfrom the old cache\n"
	if err := os.WriteFile(filepath.Join(dir, File), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if s := Of(f, msgs)[0]; s.Subject != "from the old cache" {
		t.Fatalf("list shows %q, want the old line's subject", s.Subject)
	}
	tm := ThreadMessages(f, msgs)
	if tm[0].MessageID != "<m1@example.jp>" || tm[0].References != "<m0@example.jp>" || tm[0].Date.Unix() != 1772413200 {
		t.Fatalf("threading fields %+v", tm[0])
	}
	forget()
	rewrite(t, dir, "Subject: changed\n\nx\n")
	if tm := ThreadMessages(f, msgs); tm[0].MessageID != "<m1@example.jp>" || tm[0].Subject != "original" {
		t.Errorf("after a reload %+v: the new line was not used", tm[0])
	}
}

// TestKeptFollowsTheFolder: a kept value serves while the folder holds
// the messages it was made from, and not once one comes or goes.
func TestKeptFollowsTheFolder(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "Subject: one\n\nx\n")
	put(t, dir, "Subject: two\n\nx\n")
	f, msgs := open(t, dir)
	Keep(f, msgs, "order", []int32{1, 0})
	if v, ok := Kept[[]int32](f, msgs, "order"); !ok || len(v) != 2 {
		t.Fatalf("kept %v %v, want it back", v, ok)
	}
	if _, ok := Kept[string](f, msgs, "order"); ok {
		t.Error("a kept []int32 came back as a string")
	}
	put(t, dir, "Subject: three\n\nx\n")
	f.Sync()
	if v, ok := Kept[[]int32](f, f.Snapshot(), "order"); ok {
		t.Errorf("after a delivery: kept %v", v)
	}
	if _, err := f.Expunge([]uint32{msgs[1].UID}); err != nil {
		t.Fatal(err)
	}
	Keep(f, f.Snapshot(), "order", []int32{0, 1})
	if _, err := f.Expunge([]uint32{msgs[0].UID}); err != nil {
		t.Fatal(err)
	}
	if v, ok := Kept[[]int32](f, f.Snapshot(), "order"); ok {
		t.Errorf("after an expunge: kept %v", v)
	}
}
