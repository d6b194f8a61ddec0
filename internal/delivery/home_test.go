package delivery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// ownDir hosts ours.example; every address is its own account.
type ownDir struct{}

func (ownDir) HasDomain(_ context.Context, d string) (bool, error) { return d == "ours.example", nil }
func (ownDir) Resolve(_ context.Context, a string) (string, error) { return a, nil }

// fakeHomes homes accounts per a map ("" = here) and records hand-offs.
type fakeHomes struct {
	home    map[string]string
	err     map[string]error
	handed  map[string][]string
	outcome Outcome
}

func (h *fakeHomes) Away(_ context.Context, acct string) (string, error) {
	return h.home[acct], h.err[acct]
}

func (h *fakeHomes) Handoff(_ context.Context, node string, _ *spool.Message, rcpts []string) map[string]Outcome {
	h.handed[node] = append(h.handed[node], rcpts...)
	out := map[string]Outcome{}
	for _, rc := range rcpts {
		out[rc] = h.outcome
	}
	return out
}

func homeAgent(t *testing.T, homes Homes) (*Agent, *spool.Spool, string) {
	a, sp := nullMXAgent(t)
	root := t.TempDir()
	a.Local = &Local{Dir: ownDir{}, MailRoot: root, Hostname: "h", Log: a.Log, Homes: homes}
	return a, sp, root
}

func maildirCount(t *testing.T, root, local string) int {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		m, _ := filepath.Glob(filepath.Join(root, "ours.example", local, sub, "*"))
		n += len(m)
	}
	return n
}

// TestLocalRecipientsGoHome: a recipient homed here is delivered, one
// homed elsewhere is handed to its node and never written here, one whose
// home cannot be looked up (or is moving) stays queued with the reason.
func TestLocalRecipientsGoHome(t *testing.T) {
	h := &fakeHomes{home: map[string]string{"far@ours.example": "node-b"},
		err:    map[string]error{"lost@ours.example": fmt.Errorf("db down"), "moving@ours.example": fmt.Errorf("x: %w", store.ErrMoving)},
		handed: map[string][]string{}, outcome: Outcome{Status: spool.Delivered, Text: "250 2.0.0 ok"}}
	a, sp, root := homeAgent(t, h)
	env := &spool.Envelope{From: "x@remote.example", To: []string{"near@ours.example", "far@ours.example", "lost@ours.example", "moving@ours.example"},
		Received: time.Now(), Origin: "mx"}
	if err := sp.Put(env, []byte("Subject: s\r\n\r\nb\r\n")); err != nil {
		t.Fatal(err)
	}
	a.process(context.Background(), env.ID)
	if maildirCount(t, root, "near") != 1 || maildirCount(t, root, "far") != 0 || maildirCount(t, root, "lost") != 0 {
		t.Fatalf("maildirs: near %d far %d lost %d", maildirCount(t, root, "near"), maildirCount(t, root, "far"), maildirCount(t, root, "lost"))
	}
	if got := h.handed["node-b"]; len(got) != 1 || got[0] != "far@ours.example" {
		t.Fatalf("handed to node-b: %v", h.handed)
	}
	st, err := sp.State(env)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"near@ours.example":   spool.Delivered + "|",
		"far@ours.example":    spool.Delivered + "|250 2.0.0 ok",
		"lost@ours.example":   spool.Pending + "|451 4.3.0 home node lookup failed: db down",
		"moving@ours.example": spool.Pending + "|451 4.2.0 mailbox being moved to another node; it follows when the move is done",
	}
	for _, r := range st.Rcpts {
		if got := r.Status + "|" + r.Error; got != want[r.Addr] {
			t.Errorf("%s: %q, want %q", r.Addr, got, want[r.Addr])
		}
	}
}

// TestHandedInMailIsNeverFresh: a hand-off repeated after the sender
// crashed finds the copy already read into cur/ and adds none; mail
// received here first is fresh (no look for a copy).
func TestHandedInMailIsNeverFresh(t *testing.T) {
	for origin, want := range map[string]int{OriginFleet + "node-a": 1, "mx": 2} {
		a, sp, root := homeAgent(t, nil)
		received := time.Now().Add(-time.Minute)
		put := func() *spool.Envelope {
			env := &spool.Envelope{ID: "6619ae12c0468a96304d4", From: "x@remote.example", To: []string{"bob@ours.example"},
				Received: received, Origin: origin}
			if err := sp.Put(env, []byte("Subject: s\r\n\r\nb\r\n")); err != nil {
				t.Fatal(err)
			}
			return env
		}
		a.process(context.Background(), put().ID)
		news, _ := filepath.Glob(filepath.Join(root, "ours.example", "bob", "new", "*"))
		if len(news) != 1 {
			t.Fatalf("%s: first delivery: %v", origin, news)
		}
		// An IMAP client reads it: new/ -> cur/ with flags.
		if err := os.Rename(news[0], filepath.Join(root, "ours.example", "bob", "cur", filepath.Base(news[0])+":2,S")); err != nil {
			t.Fatal(err)
		}
		a.process(context.Background(), put().ID)
		if got := maildirCount(t, root, "bob"); got != want {
			t.Errorf("origin %s: %d messages after the repeat, want %d", origin, got, want)
		}
	}
}
