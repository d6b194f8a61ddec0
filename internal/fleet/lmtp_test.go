package fleet

import (
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"mailgate/internal/spool"
)

// TestRepeatedHandoffKeepsNewRecipients: a message handed in for r1 is
// still queued when the sending node hands it in again for r2 (refused
// the first time, say while r2's mailbox moved here). r2 must be queued
// too, not answered 250 and dropped; a repeat of either hand-off adds
// nothing.
func TestRepeatedHandoffKeepsNewRecipients(t *testing.T) {
	sp, err := spool.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	b := &LMTPBackend{Spool: sp, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	handIn := func(rcpts ...string) {
		t.Helper()
		s := &lmtpSession{b: b, peer: "node-a", from: "s@far.test", id: "18c0ffee0123abcd", rcpts: rcpts}
		if err := s.LMTPData(strings.NewReader("Subject: x\r\n\r\nbody\r\n"), nopStatus{}); err != nil {
			t.Fatalf("hand-off %v: %v", rcpts, err)
		}
	}
	handIn("r1@ours.test")
	handIn("r2@ours.test")
	handIn("r1@ours.test", "r2@ours.test") // the sender crashed and sends all again
	handIn("r2@ours.test")
	ids, err := sp.IDs()
	if err != nil {
		t.Fatal(err)
	}
	var queued []string
	for _, id := range ids {
		m, err := sp.Open(id)
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, strings.Join(m.Envelope.To, ","))
		m.Close()
	}
	slices.Sort(queued)
	if want := []string{"r1@ours.test", "r2@ours.test"}; !slices.Equal(queued, want) {
		t.Fatalf("queued entries' recipients %q, want %q", queued, want)
	}
}
