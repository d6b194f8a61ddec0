package mailbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func wantUsage(t *testing.T, dir string, want Usage) {
	t.Helper()
	if got, err := AccountUsage(dir); err != nil || got != want {
		t.Fatalf("AccountUsage = %+v, %v; want %+v", got, err, want)
	}
}

// TestUsageFollowsEveryChange: deliveries (one file, a Copy linked twice,
// flagged, into a folder), APPEND, COPY, a MOVE (copy and expunge) and an
// EXPUNGE each change the account's usage by exactly the octets and
// messages they add or remove, all folders together; a repeated delivery
// adds nothing; a recount from the disk agrees with the tracked sum.
func TestUsageFollowsEveryChange(t *testing.T) {
	acct := filepath.Join(t.TempDir(), "isp.example", "erin")
	wantUsage(t, acct, Usage{}) // no Maildir yet
	if err := Ensure(acct); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, acct, Usage{}) // the file is made: every change from now is a line

	m1 := "Subject: one\r\n\r\nhello!\r\n" // 24 octets
	if err := Deliver(acct, "m1,S=24", strings.NewReader(m1)); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, acct, Usage{24, 1})
	if err := Deliver(acct, "m1,S=24", strings.NewReader(m1)); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, acct, Usage{24, 1}) // the same delivery again: nothing new

	if err := CreateFolder(acct, "Lists"); err != nil {
		t.Fatal(err)
	}
	lists, _ := FolderDir(acct, "Lists")
	m2 := []byte("Subject: two\r\n\r\nhello there!\r\n") // 30 octets
	c := NewCopy(m2)
	if err := c.Deliver(acct, "m2,S=30", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Deliver(lists, "m2,S=30", "S"); err != nil {
		t.Fatal(err)
	}
	if err := c.Deliver(lists, "m2,S=30", "S"); err != nil { // retried: its own
		t.Fatal(err)
	}
	c.Close()
	wantUsage(t, acct, Usage{24 + 30 + 30, 3})
	if err := DeliverFlagged(lists, "m3,S=5", "F", strings.NewReader("x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, acct, Usage{89, 4})

	inbox, err := OpenFolder(acct)
	if err != nil {
		t.Fatal(err)
	}
	defer inbox.Close()
	uid, err := inbox.Append(strings.NewReader("Subject: draft\r\n\r\n"), `\Seen`, time.Time{}) // 18
	if err != nil {
		t.Fatal(err)
	}
	wantUsage(t, acct, Usage{107, 5})

	lf, err := OpenFolder(lists)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	// COPY of the appended message into Lists: 18 more.
	if _, _, err := inbox.CopyTo(lf, []uint32{uid}); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, acct, Usage{125, 6})
	// MOVE of the first delivery (24) into Lists: copy then expunge, no change.
	first := inbox.Snapshot()[0]
	moved, _, err := inbox.CopyTo(lf, []uint32{first.UID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inbox.Expunge(moved); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, acct, Usage{125, 6})
	// EXPUNGE of the draft: 18 fewer.
	if _, err := inbox.Expunge([]uint32{uid}); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, acct, Usage{107, 5})

	// (The first open of Lists, whose flagged deliveries went straight
	// to cur/, made a recount: the index had not seen them.)
	if data, _ := os.ReadFile(filepath.Join(acct, UsageFile)); string(data) != "mailgate-quota 1\n125 6\n24 1\n-24 -1\n-18 -1\n" {
		t.Fatalf("usage file: %q, want the count and the last three changes", data)
	}
	os.Remove(filepath.Join(acct, UsageFile))
	wantUsage(t, acct, Usage{107, 5}) // the recount agrees
	data, _ := os.ReadFile(filepath.Join(acct, UsageFile))
	if string(data) != "mailgate-quota 1\n107 5\n" {
		t.Fatalf("usage file after a recount: %q", data)
	}

	// Deleting a folder counts its messages out.
	if err := DeleteFolder(acct, "Lists"); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, acct, Usage{30, 1}) // INBOX keeps m2 only
}

// TestUsageRecountsABadFile: a missing, torn (a crash mid-line), foreign,
// negative or overflowing usage file is counted again from the disk (two
// lines of 2^63-1 and one of 2 summed to 0 octets: an empty mailbox).
func TestUsageRecountsABadFile(t *testing.T) {
	acct := filepath.Join(t.TempDir(), "isp.example", "frank")
	if err := Deliver(acct, "a,S=10", strings.NewReader("0123456789")); err != nil {
		t.Fatal(err)
	}
	// A file without ,S= in its name is measured.
	if err := os.WriteFile(filepath.Join(acct, "cur", "foreign:2,S"), []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(acct, UsageFile)
	for _, bad := range []string{"", "mailgate-quota 1\n10 1\n5", "1000 1\n", "mailgate-quota 1\n-50 -1\n", "mailgate-quota 1\nx y\n",
		"mailgate-quota 1\n9223372036854775807 1\n9223372036854775807 0\n2 1\n"} {
		os.WriteFile(path, []byte(bad), 0o600)
		wantUsage(t, acct, Usage{13, 2})
	}
	os.Remove(path)
	wantUsage(t, acct, Usage{13, 2})
}

// TestUsageRecountsAFileTooLong: a UsageFile longer than any this package
// writes (usageMaxBytes) — corrupted, or written by someone who wants a
// huge read or a wrong total — is not believed, even well formed: the
// disk is counted and the file rewritten. Sparse, it may claim a GiB.
func TestUsageRecountsAFileTooLong(t *testing.T) {
	acct := filepath.Join(t.TempDir(), "isp.example", "ichiro")
	if err := Deliver(acct, "a,S=10", strings.NewReader("0123456789")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(acct, UsageFile)
	// Fewer than usageMaxLines lines, well formed, saying nothing is
	// stored: only its length gives it away.
	line := strings.Repeat("0", 40) + " 0\n"
	long := usageHeader + "\n" + strings.Repeat(line, (usageMaxBytes+len(line))/len(line))
	if len(long) <= usageMaxBytes || strings.Count(long, "\n") > usageMaxLines {
		t.Fatalf("test file of %d octets, %d lines", len(long), strings.Count(long, "\n"))
	}
	if err := os.WriteFile(path, []byte(long), 0o600); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, acct, Usage{10, 1})
	if b, _ := os.ReadFile(path); string(b) != usageHeader+"\n10 1\n" {
		t.Fatalf("usage file after the recount: %q", b)
	}

	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(usageHeader + "\n")
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wantUsage(t, acct, Usage{10, 1})
}

// TestUsageNoticesForeignChanges: a message another program removed from
// cur/ (found by the next sync, or by an EXPUNGE that finds it gone) is
// no longer counted.
func TestUsageNoticesForeignChanges(t *testing.T) {
	acct := filepath.Join(t.TempDir(), "isp.example", "gina")
	for _, n := range []string{"a,S=10", "b,S=20"} {
		size := 10
		if n[0] == 'b' {
			size = 20
		}
		if err := Deliver(acct, n, strings.NewReader(strings.Repeat("x", size))); err != nil {
			t.Fatal(err)
		}
	}
	f, err := OpenFolder(acct)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wantUsage(t, acct, Usage{30, 2})
	msgs := f.Snapshot()
	os.Remove(filepath.Join(acct, "cur", msgs[0].FileName()))
	if _, err := f.Expunge([]uint32{msgs[0].UID}); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, acct, Usage{20, 1}) // recounted
}

// TestCheckQuota: at the quota a mailbox is full (adding 1 fails);
// below it, a message fits exactly up to the limit; 0 is unlimited; a
// stale file that says "full" is checked against a recount.
func TestCheckQuota(t *testing.T) {
	acct := filepath.Join(t.TempDir(), "isp.example", "hana")
	if err := Deliver(acct, "a,S=100", strings.NewReader(strings.Repeat("x", 100))); err != nil {
		t.Fatal(err)
	}
	if err := CheckQuota(acct, 0, 1<<40); err != nil {
		t.Fatalf("unlimited: %v", err)
	}
	if err := CheckQuota(acct, 150, 50); err != nil {
		t.Fatalf("exactly to the limit: %v", err)
	}
	err := CheckQuota(acct, 150, 51)
	var qe *QuotaError
	if !errors.Is(err, ErrOverQuota) || !errors.As(err, &qe) || qe.Usage != (Usage{100, 1}) || qe.Limit != 150 || qe.Adding != 51 {
		t.Fatalf("one octet over: %v", err)
	}
	if err := CheckQuota(acct, 100, 1); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("at the quota, full: %v", err)
	}
	// Another program removed the message, and the file is old.
	os.Remove(filepath.Join(acct, "new", "a,S=100"))
	old := time.Now().Add(-usageStaleAfter - time.Minute)
	os.Chtimes(filepath.Join(acct, UsageFile), old, old)
	if err := CheckQuota(acct, 100, 1); err != nil {
		t.Fatalf("stale file not recounted: %v", err)
	}
	wantUsage(t, acct, Usage{})
}

// TestUsageUnderConcurrentChanges: deliveries, APPENDs and recounts at
// once leave the tracked usage equal to the messages on disk (a recount
// waits for changes in flight and they for it).
func TestUsageUnderConcurrentChanges(t *testing.T) {
	acct := filepath.Join(t.TempDir(), "isp.example", "ivan")
	if err := Ensure(acct); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFolder(acct)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const workers, each = 4, 25
	done := make(chan error, 2*workers+1)
	for w := 0; w < workers; w++ {
		go func(w int) {
			var err error
			for i := 0; i < each && err == nil; i++ {
				body := strings.Repeat("d", 10+w)
				err = Deliver(acct, fmt.Sprintf("w%di%d,S=%d", w, i, len(body)), strings.NewReader(body))
			}
			done <- err
		}(w)
		go func(w int) {
			var err error
			for i := 0; i < each && err == nil; i++ {
				_, err = f.Append(strings.NewReader(strings.Repeat("a", 20+w)), "", time.Time{})
			}
			done <- err
		}(w)
	}
	go func() {
		var err error
		for i := 0; i < 20 && err == nil; i++ {
			_, err = Recalculate(acct)
		}
		done <- err
	}()
	for i := 0; i < 2*workers+1; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// 4 workers × 25 × (10+w) + 4 × 25 × (20+w) octets.
	want := Usage{Bytes: 25*(10+11+12+13) + 25*(20+21+22+23), Messages: 2 * workers * each}
	wantUsage(t, acct, want)
	if u, err := Recalculate(acct); err != nil || u != want {
		t.Fatalf("recount %+v, %v; want %+v", u, err, want)
	}
}

// FuzzUsageFile: whatever the usage file holds, reading it gives the
// usage on disk or the tracked sum, never a crash or a negative total.
func FuzzUsageFile(f *testing.F) {
	for _, s := range []string{"mailgate-quota 1\n10 1\n", "mailgate-quota 1\n", "", "mailgate-quota 1\n-5 -1\n", "mailgate-quota 1\n9223372036854775807 1\n1 1\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		acct := filepath.Join(t.TempDir(), "a")
		if err := Ensure(acct); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(acct, UsageFile), []byte(content), 0o600)
		if u, err := AccountUsage(acct); err != nil || u.Bytes < 0 || u.Messages < 0 {
			t.Fatalf("AccountUsage(%q) = %+v, %v", content, u, err)
		}
	})
}

// TestReserveQuota: octets reserved for a change in flight count against
// the quota for every other check (RFC 9208 §4.3.1: an APPEND over the
// quota is refused, also when another is still arriving) until released.
func TestReserveQuota(t *testing.T) {
	acct := filepath.Join(t.TempDir(), "isp.example", "hana")
	if err := Deliver(acct, "a,S=100", strings.NewReader(strings.Repeat("x", 100))); err != nil {
		t.Fatal(err)
	}
	release, err := ReserveQuota(acct, 200, 60)
	if err != nil {
		t.Fatalf("first reservation: %v", err)
	}
	_, err = ReserveQuota(acct, 200, 60)
	var qe *QuotaError
	if !errors.As(err, &qe) || qe.Usage.Bytes != 160 || qe.Adding != 60 {
		t.Fatalf("second reservation while the first is in flight: %v, want over quota at 160 octets used", err)
	}
	if err := CheckQuota(acct, 160, 1); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("CheckQuota ignores the reservation: %v", err)
	}
	release()
	release() // a second call changes nothing
	if err := CheckQuota(acct, 200, 100); err != nil {
		t.Fatalf("after release: %v", err)
	}
	release2, err := ReserveQuota(acct, 200, 100)
	if err != nil {
		t.Fatalf("reservation after release: %v", err)
	}
	release2()
	if r, err := ReserveQuota(acct, 0, 1<<40); err != nil || r == nil {
		t.Fatalf("unlimited: %v", err)
	}
}

// TestUsageFileStaysBoundedWithoutReads: only a quota check rewrites a
// long UsageFile, and an account whose quota was lifted is never checked
// again; a client that APPENDs and EXPUNGEs in a loop must not grow the
// file without end (each change was a line more). Past usageMaxBytes it
// is removed, and a later read counts the disk.
func TestUsageFileStaysBoundedWithoutReads(t *testing.T) {
	acct := filepath.Join(t.TempDir(), "isp.example", "hana")
	f, err := OpenFolder(acct)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Recalculate(acct); err != nil { // a quota was checked once
		t.Fatal(err)
	}
	var largest int64
	for range 2 * usageMaxLines {
		uid, err := f.Append(strings.NewReader("Subject: loop\r\n\r\nx\r\n"), "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Expunge([]uint32{uid}); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(filepath.Join(acct, UsageFile)); err == nil && fi.Size() > largest {
			largest = fi.Size()
		}
	}
	if largest > usageMaxBytes+64 {
		t.Fatalf("usage file grew to %d octets without a read, want at most about %d", largest, usageMaxBytes)
	}
	wantUsage(t, acct, Usage{})
}

// TestUsageOfMissingMaildir: an account no mail was ever delivered to has
// no Maildir; its usage is zero and reading it creates nothing (delivery's
// quota warnings and the web's quota pages rely on this).
func TestUsageOfMissingMaildir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nobody")
	u, err := AccountUsage(dir)
	if err != nil || u != (Usage{}) {
		t.Fatalf("AccountUsage(missing) = %+v, %v; want zero, nil", u, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("AccountUsage made the Maildir: stat err %v", err)
	}
}

// TestUsageLocksLeaveNothingBehind: the per-account usage locks and
// reservations go once no change, check or reservation of the account is
// in flight, so a node that served millions of accounts does not keep an
// entry for each; an outstanding reservation keeps its account's.
func TestUsageLocksLeaveNothingBehind(t *testing.T) {
	root := t.TempDir()
	for i := range 200 {
		acct := filepath.Join(root, "isp.example", fmt.Sprint("u", i))
		if err := Deliver(acct, "a,S=10", strings.NewReader("0123456789")); err != nil {
			t.Fatal(err)
		}
		if _, err := Recalculate(acct); err != nil {
			t.Fatal(err)
		}
		if err := CheckQuota(acct, 100, 1); err != nil {
			t.Fatal(err)
		}
		if err := CheckQuota(acct, 5, 1); !errors.Is(err, ErrOverQuota) {
			t.Fatalf("over quota: %v", err)
		}
		release, err := ReserveQuota(acct, 100, 50)
		if err != nil {
			t.Fatal(err)
		}
		release()
		release()
	}
	if n, m := usageLocks.Len(), reservations.Len(); n != 0 || m != 0 {
		t.Fatalf("after 200 accounts: %d usage locks and %d reservations left, want none", n, m)
	}

	acct := filepath.Join(root, "isp.example", "u0")
	release, err := ReserveQuota(acct, 100, 50)
	if err != nil {
		t.Fatal(err)
	}
	if n := reservations.Len(); n != 1 {
		t.Fatalf("with a reservation outstanding: %d entries, want 1", n)
	}
	if err := CheckQuota(acct, 100, 41); !errors.Is(err, ErrOverQuota) {
		t.Fatalf("the outstanding 50 octets are forgotten: %v", err)
	}
	release()
	if n := reservations.Len(); n != 0 {
		t.Fatalf("after release: %d entries, want 0", n)
	}
}
