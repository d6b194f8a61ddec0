package mailbox

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func deliverN(t *testing.T, dir string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		body := fmt.Sprintf("Subject: m%d\r\n\r\nbody %d\r\n", i, i)
		name := DeliveryName(time.Unix(1700000000+int64(i), 0), fmt.Sprintf("k%d.0", i), "mx.test", int64(len(body)))
		if err := Deliver(dir, name, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
}

func uidsOf(f *Folder) []uint32 {
	var out []uint32
	for _, m := range f.Snapshot() {
		out = append(out, m.UID)
	}
	return out
}

func TestFolderUIDsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	deliverN(t, dir, 0, 3)
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	v := f.UIDValidity()
	if got := fmt.Sprint(uidsOf(f)); got != "[1 2 3]" {
		t.Fatalf("uids %s", got)
	}
	m := f.Snapshot()[1]
	if m.Size != int64(len("Subject: m1\r\n\r\nbody 1\r\n")) || m.Date != 1700000001 {
		t.Fatalf("size/date from name: %+v", m)
	}
	if _, err := os.Stat(filepath.Join(dir, "cur", m.FileName())); err != nil {
		t.Fatalf("message not moved to cur/: %v", err)
	}
	if _, err := f.Expunge([]uint32{2}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.SetFlags([]uint32{3}, '+', "ST", nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	dropIdle()

	deliverN(t, dir, 10, 1)
	f, err = OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.UIDValidity() != v {
		t.Fatalf("uidvalidity changed %d -> %d", v, f.UIDValidity())
	}
	if got := fmt.Sprint(uidsOf(f)); got != "[1 3 4]" {
		t.Fatalf("uids after reopen %s", got)
	}
	if fl := f.Snapshot()[1].Flags; fl != "ST" {
		t.Fatalf("flags %q", fl)
	}
	if f.UIDNext() != 5 {
		t.Fatalf("uidnext %d", f.UIDNext())
	}
}

func TestFolderReconcilesForeignChanges(t *testing.T) {
	dir := t.TempDir()
	deliverN(t, dir, 0, 3)
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	ms := f.Snapshot()
	f.Close()
	dropIdle()
	f, _ = OpenFolder(dir)
	defer f.Close()
	cur := filepath.Join(dir, "cur")
	// Another program: deletes message 1, flags message 3, adds one.
	time.Sleep(10 * time.Millisecond)
	os.Remove(filepath.Join(cur, ms[0].FileName()))
	os.Rename(filepath.Join(cur, ms[2].FileName()), filepath.Join(cur, ms[2].Base+":2,FS"))
	os.WriteFile(filepath.Join(cur, "1800000000.foreign.host:2,S"), []byte("x\r\n"), 0o600)
	var got []string
	f.Listen(func(uint32) func(Event) {
		return func(ev Event) { got = append(got, fmt.Sprintf("%d/%d/%d/%s", ev.Kind, ev.Seq, ev.Count, ev.Flags)) }
	})
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(uidsOf(f)) != "[2 3 4]" {
		t.Fatalf("uids %v", uidsOf(f))
	}
	want := "[2/3/0/FS 0/1/0/ 1/0/3/]"
	if fmt.Sprint(got) != want {
		t.Fatalf("events %v, want %s", got, want)
	}
	last := f.Snapshot()[2]
	if last.Size != 3 || last.Flags != "S" {
		t.Fatalf("foreign message %+v", last)
	}
}

func TestFolderTornIndexLine(t *testing.T) {
	dir := t.TempDir()
	deliverN(t, dir, 0, 2)
	f, _ := OpenFolder(dir)
	f.Close()
	dropIdle()
	idx := filepath.Join(dir, IndexFile)
	lf, _ := os.OpenFile(idx, os.O_WRONLY|os.O_APPEND, 0)
	lf.WriteString("+ 77 1 2 - half")
	lf.Close()
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fmt.Sprint(uidsOf(f)) != "[1 2]" || f.UIDNext() != 3 {
		t.Fatalf("uids %v next %d", uidsOf(f), f.UIDNext())
	}
}

func TestAppendCopyAndFolders(t *testing.T) {
	root := t.TempDir()
	if err := EnsureDefaults(root); err != nil {
		t.Fatal(err)
	}
	names, _ := Folders(root)
	if fmt.Sprint(names) != "[INBOX Drafts Junk Sent Trash]" {
		t.Fatalf("folders %v", names)
	}
	subs, _ := Subscriptions(root)
	if len(subs) != 4 {
		t.Fatalf("subs %v", subs)
	}
	in, _ := OpenFolder(root)
	defer in.Close()
	uid, err := in.Append(strings.NewReader("Subject: a\r\n\r\nhi\r\n"), "S", time.Unix(1600000000, 0))
	if err != nil || uid != 1 {
		t.Fatal(uid, err)
	}
	sentDir, _ := FolderDir(root, "Sent")
	sent, _ := OpenFolder(sentDir)
	src, dst, err := in.CopyTo(sent, []uint32{1})
	if err != nil || fmt.Sprint(src, dst) != "[1] [1]" {
		t.Fatal(src, dst, err)
	}
	r, _ := sent.Open(1)
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "Subject: a\r\n\r\nhi\r\n" || sent.Snapshot()[0].Date != 1600000000 || sent.Snapshot()[0].Flags != "S" {
		t.Fatalf("copy %q %+v", b, sent.Snapshot()[0])
	}
	sent.Close()
	if err := CreateFolder(root, "Work.2026"); err != nil {
		t.Fatal(err)
	}
	if err := RenameFolder(root, "Work", "Job"); err != ErrNoFolder {
		t.Fatalf("rename missing parent: %v", err)
	}
	if err := RenameFolder(root, "Work.2026", "Job"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"../x", "a..b", ".x", "a/b", "INBOX.x", ""} {
		if err := CreateFolder(root, bad); err == nil {
			t.Errorf("created %q", bad)
		}
	}
	if err := DeleteFolder(root, "Job"); err != nil {
		t.Fatal(err)
	}
	names, _ = Folders(root)
	if fmt.Sprint(names) != "[INBOX Drafts Junk Sent Trash]" {
		t.Fatalf("folders %v", names)
	}
}

func BenchmarkOpen100k(b *testing.B) {
	dir := b.TempDir()
	Ensure(dir)
	for i := 0; i < 100000; i++ {
		os.WriteFile(filepath.Join(dir, "cur", fmt.Sprintf("%d.M1K%d.h,S=10:2,S", 1700000000+i, i)), []byte("0123456789"), 0o600)
	}
	f, _ := OpenFolder(dir)
	f.Close()
	b.Run("cached", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f, _ := OpenFolder(dir)
			f.Close()
		}
	})
	b.Run("load-index", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			dropIdle()
			f, err := OpenFolder(dir)
			if err != nil || f.Len() != 100000 {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}

func TestIndexCompactsAfterManyFlagChanges(t *testing.T) {
	dir := t.TempDir()
	deliverN(t, dir, 0, 3)
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 700; i++ {
		f.SetFlags([]uint32{1, 2}, '+', "S", nil)
		f.SetFlags([]uint32{1, 2}, '-', "S", nil)
	}
	f.SetFlags([]uint32{3}, '=', "F", nil)
	f.Close()
	data, _ := os.ReadFile(filepath.Join(dir, IndexFile))
	if lines := strings.Count(string(data), "\n"); lines > 2*3+1000+10 {
		t.Fatalf("index not compacted: %d lines", lines)
	}
	dropIdle()
	f, _ = OpenFolder(dir)
	defer f.Close()
	if got := fmt.Sprintf("%q %q %d", f.Snapshot()[0].Flags, f.Snapshot()[2].Flags, f.UIDNext()); got != `"" "F" 4` {
		t.Fatalf("after compaction: %q", got)
	}
}
