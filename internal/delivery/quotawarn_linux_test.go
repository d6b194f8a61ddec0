package delivery

import (
	"bytes"
	"syscall"
	"testing"
	"unsafe"

	"mailgate/internal/mailbox"
)

// usageReads counts how often the UsageFile in the account Maildir dir is
// opened for reading (closed without a write: inotify IN_CLOSE_NOWRITE)
// while fn runs. The kernel queues the events as the files are closed, so
// all of fn's are there when it returns. IN_OPEN is watched too, though
// not counted: inotify merges an event identical to the last one queued,
// and two reads in a row would count as one.
func usageReads(t *testing.T, dir string, fn func()) int {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	defer syscall.Close(fd)
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_OPEN|syscall.IN_CLOSE_NOWRITE); err != nil {
		t.Fatal(err)
	}
	fn()
	n := 0
	buf := make([]byte, 64<<10)
	for {
		got, err := syscall.Read(fd, buf)
		if err == syscall.EAGAIN {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= got; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
			if ev.Mask&syscall.IN_CLOSE_NOWRITE != 0 && string(bytes.TrimRight(name, "\x00")) == mailbox.UsageFile {
				n++
			}
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// TestQuotaWarningReadsUsageOnce: with quota warnings on, a delivery reads
// the account's UsageFile once — its quota check's reading is also the
// warning's "before", and "after" is that plus what the copies added —
// whether it crosses a warning or not (it read it 3 times: the check,
// then before and after the copies).
func TestQuotaWarningReadsUsageOnce(t *testing.T) {
	l := warnAgent(t)
	const bob = "bob@ours.example"
	deliverSized(t, l, bob, 60000) // a new Maildir: nothing to read
	deliverSized(t, l, bob, 10000) // no usage file yet: counted, written
	dir := boxDir(t, l.MailRoot, bob)
	if n := usageReads(t, dir, func() { deliverSized(t, l, bob, 5000) }); n != 1 {
		t.Errorf("a delivery to 75 %%: %d reads of the usage file, want 1", n)
	}
	if n := usageReads(t, dir, func() { deliverSized(t, l, bob, 5000) }); n != 1 {
		t.Errorf("a delivery crossing 80 %%: %d reads of the usage file, want 1", n)
	}
	if n := notices(t, l, bob); len(n) != 1 {
		t.Fatalf("notices: %q, want the 80 %% one", n)
	}
}
