package mailbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func modSeqsOf(f *Folder) string {
	var out []string
	for _, m := range f.Snapshot() {
		out = append(out, fmt.Sprintf("%d:%d", m.UID, m.ModSeq))
	}
	return fmt.Sprintf("%v h=%d", out, f.HighestModSeq())
}

func reopen(t *testing.T, f *Folder, dir string) *Folder {
	t.Helper()
	f.Close()
	dropIdle()
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// RFC 7162 §3.1.1: every addition, flag change and expunge gets a
// mod-sequence higher than any before, and HIGHESTMODSEQ survives a
// reload of the index (and a compaction of it).
func TestModSeqBumpsAndSurvivesReload(t *testing.T) {
	dir := t.TempDir()
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := modSeqsOf(f); got != "[] h=1" {
		t.Fatalf("new folder: %s", got)
	}
	deliverN(t, dir, 0, 3)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	// One sync's deliveries are one change.
	if got := modSeqsOf(f); got != "[1:2 2:2 3:2] h=2" {
		t.Fatalf("after delivery: %s", got)
	}
	var events []string
	f.Listen(func(uint32) func(Event) {
		return func(ev Event) {
			if ev.Kind == FlagsChanged {
				events = append(events, fmt.Sprintf("%d:%d", ev.UID, ev.ModSeq))
			}
		}
	})
	if _, err := f.SetFlags([]uint32{1, 3}, '+', "F", nil); err != nil {
		t.Fatal(err)
	}
	// No change, no new modseq.
	if _, err := f.SetFlags([]uint32{1}, '+', "F", nil); err != nil {
		t.Fatal(err)
	}
	if got := modSeqsOf(f); got != "[1:3 2:2 3:3] h=3" {
		t.Fatalf("after store: %s", got)
	}
	if fmt.Sprint(events) != "[1:3 3:3]" {
		t.Fatalf("events %v", events)
	}
	if _, err := f.Expunge([]uint32{2}); err != nil {
		t.Fatal(err)
	}
	if got := modSeqsOf(f); got != "[1:3 3:3] h=4" {
		t.Fatalf("after expunge: %s", got)
	}
	uid, err := f.Append(strings.NewReader("Subject: x\r\n\r\n"), "S", time.Unix(1700000000, 0))
	if err != nil || uid != 4 {
		t.Fatal(uid, err)
	}
	want := "[1:3 3:3 4:5] h=5"
	if got := modSeqsOf(f); got != want {
		t.Fatalf("after append: %s", got)
	}
	f = reopen(t, f, dir)
	if got := modSeqsOf(f); got != want {
		t.Fatalf("after reload: %s, want %s", got, want)
	}
	// Compaction keeps them, and the expunge's HIGHESTMODSEQ with no
	// message left holding it.
	if _, err := f.Expunge([]uint32{4}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	if err := writeIndex(dir, &f.st); err != nil {
		t.Fatal(err)
	}
	f.mu.Unlock()
	f = reopen(t, f, dir)
	defer f.Close()
	if got := modSeqsOf(f); got != "[1:3 3:3] h=6" {
		t.Fatalf("after compaction: %s", got)
	}
}

// Flags another program changed by renaming files in cur/ get a new
// mod-sequence when the folder notices them.
func TestModSeqForeignRename(t *testing.T) {
	dir := t.TempDir()
	deliverN(t, dir, 0, 2)
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := f.Snapshot()[1]
	time.Sleep(10 * time.Millisecond)
	cur := filepath.Join(dir, "cur")
	if err := os.Rename(filepath.Join(cur, m.FileName()), filepath.Join(cur, m.Base+":2,S")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := modSeqsOf(f); got != "[1:2 2:3] h=3" {
		t.Fatalf("after foreign rename: %s", got)
	}
}

// RFC 7162 §3.1.2.1: an index from before mod-sequences loads with every
// message and HIGHESTMODSEQ at 1, and the next change goes above that.
func TestModSeqOldIndex(t *testing.T) {
	dir := t.TempDir()
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(dir, "cur")
	os.WriteFile(filepath.Join(cur, "1700000000.a.h,S=3:2,S"), []byte("x\r\n"), 0o600)
	os.WriteFile(filepath.Join(cur, "1700000001.b.h,S=3:2,"), []byte("y\r\n"), 0o600)
	mt, _ := mtime(cur)
	old := fmt.Sprintf("mailgate-uidlist 1 1700000000 3\n+ 1 3 1700000000 - 1700000000.a.h,S=3\n+ 2 3 1700000001 - 1700000001.b.h,S=3\nF 1 S\nS %d\n", mt)
	if err := os.WriteFile(filepath.Join(dir, IndexFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := modSeqsOf(f); got != "[1:1 2:1] h=1" {
		t.Fatalf("old index: %s", got)
	}
	if _, err := f.SetFlags([]uint32{2}, '+', "F", nil); err != nil {
		t.Fatal(err)
	}
	f = reopen(t, f, dir)
	defer f.Close()
	if got := modSeqsOf(f); got != "[1:1 2:2] h=2" {
		t.Fatalf("after a change: %s", got)
	}
}

// The records a change appends go out in one write(2), like the rest of
// the log: a crash cuts at most the last line, which is dropped on load;
// what was appended before it keeps its modseqs and HIGHESTMODSEQ.
func TestModSeqTornLine(t *testing.T) {
	dir := t.TempDir()
	deliverN(t, dir, 0, 2)
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.SetFlags([]uint32{1}, '+', "S", nil)
	f.Close()
	dropIdle()
	lf, _ := os.OpenFile(filepath.Join(dir, IndexFile), os.O_WRONLY|os.O_APPEND, 0)
	lf.WriteString("F 2 S 9")
	lf.Close()
	f, err = OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := modSeqsOf(f); got != "[1:3 2:2] h=3" {
		t.Fatalf("after torn line: %s", got)
	}
}

// A newer file stays readable by the record grammar an older binary has:
// its + records are unchanged, M and H are separate records, F keeps
// uid and flags first; the expunge history's V and X are records of
// their own, which an older binary skips.
func TestModSeqRecordsKeepOldGrammar(t *testing.T) {
	dir := t.TempDir()
	deliverN(t, dir, 0, 1)
	f, _ := OpenFolder(dir)
	f.SetFlags([]uint32{1}, '+', "S", nil)
	f.Expunge([]uint32{1})
	f.Close()
	data, _ := os.ReadFile(filepath.Join(dir, IndexFile))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var kinds []string
	for _, l := range lines[1:] {
		if l[0] == 'S' {
			continue
		}
		kinds = append(kinds, strings.Fields(l)[0]+" "+fmt.Sprint(len(strings.Fields(l))))
	}
	if got := fmt.Sprint(kinds); got != "[H 2 V 2 + 6 M 4 F 4 H 2 - 2 X 4]" {
		t.Fatalf("records %s in\n%s", got, data)
	}
}

// RFC 7162 §3.1.3: a conditional STORE leaves messages changed since its
// UNCHANGEDSINCE alone and names them; the others change.
func TestSetFlagsUnchangedSince(t *testing.T) {
	dir := t.TempDir()
	deliverN(t, dir, 0, 3)
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetFlags([]uint32{2}, '+', "S", nil) // uid 2 at modseq 3, the others at 2
	out, modified, err := f.SetFlagsUnchangedSince([]uint32{1, 2, 3}, '+', "F", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(modified) != "[2]" || len(out) != 2 {
		t.Fatalf("modified %v out %+v", modified, out)
	}
	if got := modSeqsOf(f); got != "[1:4 2:3 3:4] h=4" {
		t.Fatalf("after conditional store: %s", got)
	}
	if fl := f.Snapshot()[1].Flags; fl != "S" {
		t.Fatalf("uid 2 changed: %q", fl)
	}
	// UNCHANGEDSINCE 0 holds for no message (mod-sequences are >= 1).
	_, modified, _ = f.SetFlagsUnchangedSince([]uint32{1, 3}, '-', "F", 0, nil)
	if fmt.Sprint(modified) != "[1 3]" {
		t.Fatalf("unchangedsince 0: modified %v", modified)
	}
}

// A message whose M record is missing (torn off, or added by an older
// binary) loads at HIGHESTMODSEQ, not below what clients already know.
func TestModSeqMissingRecordLoadsAtHighest(t *testing.T) {
	dir := t.TempDir()
	deliverN(t, dir, 0, 1)
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.SetFlags([]uint32{1}, '+', "S", nil)
	f.SetFlags([]uint32{1}, '+', "F", nil)
	f.Close()
	dropIdle()
	cur := filepath.Join(dir, "cur")
	os.WriteFile(filepath.Join(cur, "1700000009.old.h,S=3:2,"), []byte("x\r\n"), 0o600)
	mt, _ := mtime(cur)
	lf, _ := os.OpenFile(filepath.Join(dir, IndexFile), os.O_WRONLY|os.O_APPEND, 0)
	fmt.Fprintf(lf, "+ 2 3 1700000009 - 1700000009.old.h,S=3\nS %d\n", mt)
	lf.Close()
	f, err = OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := modSeqsOf(f); got != "[1:4 2:4] h=4" {
		t.Fatalf("after an add without M: %s", got)
	}
}
