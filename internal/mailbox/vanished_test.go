package mailbox

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func rangesString(rs []UIDRange) string {
	var out []string
	for _, r := range rs {
		if r.First == r.Last {
			out = append(out, fmt.Sprint(r.First))
		} else {
			out = append(out, fmt.Sprintf("%d:%d", r.First, r.Last))
		}
	}
	return strings.Join(out, ",")
}

// RFC 7162 §3.2.5.1: the UIDs expunged after a mod-sequence, kept across
// a reload and a compaction of the index.
func TestVanishedSinceSurvivesReload(t *testing.T) {
	dir := t.TempDir()
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	deliverN(t, dir, 0, 6)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	before := f.HighestModSeq()
	if _, err := f.Expunge([]uint32{2, 3}); err != nil {
		t.Fatal(err)
	}
	mid := f.HighestModSeq()
	if _, err := f.Expunge([]uint32{5}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if got := rangesString(f.VanishedSince(before)); got != "2:3,5" {
			t.Errorf("%s: since %d: %q", when, before, got)
		}
		if got := rangesString(f.VanishedSince(mid)); got != "5" {
			t.Errorf("%s: since %d: %q", when, mid, got)
		}
		if got := rangesString(f.VanishedSince(f.HighestModSeq())); got != "" {
			t.Errorf("%s: since highest: %q", when, got)
		}
	}
	check("live")
	f = reopen(t, f, dir)
	check("reloaded")
	f.mu.Lock()
	err = writeIndex(f.dir, &f.st)
	f.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	f = reopen(t, f, dir)
	defer f.Close()
	check("compacted")
}

// An index written before the history (a CONDSTORE-era file, no V
// record) knows nothing of earlier expunges: a client holding an older
// mod-sequence gets every UID not live (RFC 7162 §3.2.5.2), and the floor
// is written down so it does not move up with every load.
func TestVanishedOldIndexAnswersAllMissing(t *testing.T) {
	dir := t.TempDir()
	if err := Ensure(dir); err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(dir, "cur")
	os.WriteFile(filepath.Join(cur, "1700000000.a.h,S=3:2,S"), []byte("x\r\n"), 0o600)
	os.WriteFile(filepath.Join(cur, "1700000002.c.h,S=3:2,"), []byte("y\r\n"), 0o600)
	mt, _ := mtime(cur)
	old := fmt.Sprintf("mailgate-uidlist 1 1700000000 4\n+ 1 3 1700000000 - 1700000000.a.h,S=3\n+ 3 3 1700000002 - 1700000002.c.h,S=3\nM 5 1 3\nH 7\nS %d\n", mt)
	if err := os.WriteFile(filepath.Join(dir, IndexFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := rangesString(f.VanishedSince(6)); got != "2" {
		t.Errorf("before the floor: %q, want every UID not live", got)
	}
	if got := rangesString(f.VanishedSince(7)); got != "" {
		t.Errorf("at the floor: %q", got)
	}
	if _, err := f.Expunge([]uint32{3}); err != nil {
		t.Fatal(err)
	}
	f = reopen(t, f, dir)
	defer f.Close()
	if got := rangesString(f.VanishedSince(7)); got != "3" {
		t.Errorf("after an expunge and a reload: %q", got)
	}
}

// The history stays bounded: a million expunges, each its own change,
// leave at most maxVanishedRanges records; recent ones stay exact, older
// ones are answered with every UID not live (RFC 7162 §3.2.5.2). Old mail
// deleted oldest first, one message at a time, stays one record.
func TestVanishedHistoryIsBounded(t *testing.T) {
	const n = 1_000_000
	// Live messages at the even UIDs; the odd ones expunged one by one,
	// so no two expunges can share a record.
	f := &Folder{st: indexState{uidNext: 2*n + 1, history: true}}
	f.st.msgs = make([]Message, n)
	for i := range f.st.msgs {
		f.st.msgs[i] = Message{UID: uint32(2*i + 2)}
	}
	for i := 0; i < n; i++ {
		f.st.highestModSeq++
		f.recordVanishedLocked(io.Discard, []uint32{uint32(2*i + 1)}, f.st.highestModSeq)
	}
	if len(f.st.vanished) > maxVanishedRanges {
		t.Fatalf("%d records after %d expunges", len(f.st.vanished), n)
	}
	h := f.st.highestModSeq
	if got := rangesString(f.VanishedSince(h - 2)); got != fmt.Sprintf("%d,%d", 2*n-3, 2*n-1) {
		t.Errorf("recent expunges: %q", got)
	}
	if got := f.VanishedSince(1); len(got) != n {
		t.Errorf("before the floor: %d ranges, want every odd UID (%d)", len(got), n)
	}
	var b strings.Builder
	writeVanished(&b, &f.st)
	if b.Len() > 64*maxVanishedRanges {
		t.Errorf("compacted history is %d bytes", b.Len())
	}

	// Oldest first, nothing live between: one record.
	g := &Folder{st: indexState{uidNext: n + 1, history: true}}
	for i := 1; i <= n; i++ {
		g.st.highestModSeq++
		g.recordVanishedLocked(io.Discard, []uint32{uint32(i)}, g.st.highestModSeq)
	}
	if len(g.st.vanished) != 1 || rangesString(g.VanishedSince(0)) != fmt.Sprintf("1:%d", n) {
		t.Errorf("in-order expunges: %d records, %q", len(g.st.vanished), rangesString(g.VanishedSince(0)))
	}
}

// An older mailgate run on the folder in between appends '-' records
// without X: those expunges are unknown to the history, so it counts as
// incomplete up to where they happened (RFC 7162 §3.2.5.2).
func TestVanishedAfterAnOlderBinary(t *testing.T) {
	dir := t.TempDir()
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	deliverN(t, dir, 0, 4)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Expunge([]uint32{1}); err != nil {
		t.Fatal(err)
	}
	h := f.HighestModSeq()
	f.Close()
	dropIdle()
	// What a CONDSTORE-era binary does to expunge 3.
	snap, _ := OpenFolder(dir)
	var base string
	snap.View(func(msgs []Message) { base = msgs[1].FileName() }) // UID 3
	snap.Close()
	dropIdle()
	os.Remove(filepath.Join(dir, "cur", base))
	lf, err := os.OpenFile(filepath.Join(dir, IndexFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(lf, "H %d\n- 3\n", h+1)
	lf.Close()
	f, err = OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := rangesString(f.VanishedSince(h)); got != "1,3" {
		t.Errorf("since %d: %q, want every UID not live", h, got)
	}
	if got := rangesString(f.VanishedSince(h + 1)); got != "" {
		t.Errorf("since %d: %q", h+1, got)
	}
}
