package delivery

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"mailgate/internal/spool"
	"mailgate/internal/store"
)

type nullMXDNS struct{ fixedDNS }

func (nullMXDNS) LookupMX(context.Context, string) ([]*net.MX, error) {
	return []*net.MX{{Host: ".", Pref: 0}}, nil
}

func nullMXAgent(t *testing.T) (*Agent, *spool.Spool) {
	dir := t.TempDir()
	sp, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &Agent{Spool: sp, Log: log, Hostname: "mail.ours.example", Schedule: DefaultSchedule,
		Local:  &Local{Dir: benchDir{}, MailRoot: dir, Hostname: "h", Log: log},
		Remote: &Remote{DNS: nullMXDNS{}, Hostname: "mail.ours.example", Log: log},
	}, sp
}

// TestNoBounceOfABounce: a message from the null sender that fails
// permanently is dropped, not answered with another DSN (RFC 5321
// §4.5.5); one from a real sender gets exactly one DSN, to that sender,
// from the null sender.
func TestNoBounceOfABounce(t *testing.T) {
	a, sp := nullMXAgent(t)
	env := &spool.Envelope{From: "", To: []string{"x@nomail.test"}, Received: time.Now(), Origin: "bounce"}
	if err := sp.Put(env, []byte("Subject: a DSN\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	a.process(context.Background(), env.ID)
	if ids, _ := sp.IDs(); len(ids) != 0 {
		t.Fatalf("queue holds %v after a null-sender failure, want nothing", ids)
	}

	env = &spool.Envelope{From: "alice@ours.example", To: []string{"x@nomail.test"}, Received: time.Now(), Origin: "submission"}
	if err := sp.Put(env, []byte("Subject: real\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	a.process(context.Background(), env.ID)
	ids, _ := sp.IDs()
	if len(ids) != 1 || ids[0] == env.ID {
		t.Fatalf("queue holds %v, want only the DSN", ids)
	}
	m, err := sp.Open(ids[0])
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if e := m.Envelope; e.From != "" || len(e.To) != 1 || e.To[0] != "alice@ours.example" || e.Origin != "bounce" {
		t.Fatalf("DSN envelope %+v", e)
	}
}

// TestTempFailureKeepsMessageWithBackoff: a temporary failure keeps the
// message, counts the attempt and schedules the next one by the backoff.
func TestTempFailureKeepsMessageWithBackoff(t *testing.T) {
	a, sp := nullMXAgent(t)
	a.Remote.DNS = fixedDNS{} // MX at 127.0.0.1:<closed port>
	a.Remote.Port = closedPort(t)
	env := &spool.Envelope{From: "alice@ours.example", To: []string{"x@far.test"}, Received: time.Now(), Origin: "submission"}
	if err := sp.Put(env, []byte("Subject: s\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	a.process(context.Background(), env.ID)
	st, err := sp.State(env)
	if err != nil {
		t.Fatal(err)
	}
	if st.Attempts != 1 || st.Rcpts[0].Status != spool.Pending || st.NextAttempt.Before(before.Add(DefaultSchedule.RetryInitial)) {
		t.Fatalf("state %+v", st)
	}
	if ids, _ := sp.IDs(); len(ids) != 1 {
		t.Fatalf("queue %v, want the message only (no DSN for a temporary failure)", ids)
	}
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

type statusSenders map[string]string

func (s statusSenders) Account(_ context.Context, addr string) (*store.Account, error) {
	st, ok := s[addr]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &store.Account{Address: addr, Status: st}, nil
}

// TestSubmissionOfStoppedAccountIsHeld: a queued submission whose account
// may no longer send (the compromise response or an operator stopped it,
// on any node) is held instead of delivered; an active account's goes.
func TestSubmissionOfStoppedAccountIsHeld(t *testing.T) {
	a, sp := nullMXAgent(t)
	a.Senders = statusSenders{"eve@ours.example": store.StatusSendingDisabled, "amy@ours.example": store.StatusActive}
	held := &spool.Envelope{From: "eve@ours.example", To: []string{"x@nomail.test"}, Received: time.Now(), Origin: "submission", Auth: "eve@ours.example"}
	goes := &spool.Envelope{From: "amy@ours.example", To: []string{"x@nomail.test"}, Received: time.Now(), Origin: "submission", Auth: "amy@ours.example"}
	for _, env := range []*spool.Envelope{held, goes} {
		if err := sp.Put(env, []byte("Subject: s\r\n\r\nbody\r\n")); err != nil {
			t.Fatal(err)
		}
		a.process(context.Background(), env.ID)
	}
	m, err := sp.Open(held.ID)
	if err != nil {
		t.Fatalf("the stopped account's message left the queue: %v", err)
	}
	st, _ := sp.State(&m.Envelope)
	m.Close()
	if !st.Held || st.Attempts != 0 {
		t.Fatalf("state %+v: want held, never attempted", st)
	}
	if _, err := sp.Open(goes.ID); err == nil {
		t.Fatal("the active account's message (to a null MX) was not attempted")
	}
}
