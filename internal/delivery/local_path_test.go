package delivery

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mailgate/internal/spool"
)

// pathDir resolves every recipient to the account name in its map.
type pathDir map[string]string

func (pathDir) HasDomain(context.Context, string) (bool, error) { return true, nil }
func (d pathDir) Resolve(_ context.Context, addr string) (string, error) {
	return d[addr], nil
}

// Issue 15 §2: whatever account name the directory hands back, delivery
// writes only inside <mail>/<domain>/<local>/: "bob/./" gets its own
// Maildir, not bob's, and a name with no Maildir path fails the recipient
// permanently instead of being written elsewhere.
func TestLocalDeliveryStaysInTheAccountsMaildir(t *testing.T) {
	dir := t.TempDir()
	sp, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	root := filepath.Join(dir, "mail")
	l := &Local{Dir: pathDir{"evil@example.test": "bob/./@example.test", "broken@example.test": "no-domain"},
		MailRoot: root, Hostname: "h", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	env := &spool.Envelope{From: "x@sender.test", To: []string{"evil@example.test", "broken@example.test"}, Received: time.Now()}
	if err := sp.Put(env, []byte("Subject: hostile\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	m, err := sp.Open(env.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st, err := sp.State(env)
	if err != nil {
		t.Fatal(err)
	}
	l.Deliver(m, st, true)
	if r := st.Rcpts[0]; r.Status != spool.Delivered {
		t.Fatalf("evil: %+v", r)
	}
	if r := st.Rcpts[1]; r.Status != spool.Failed || r.Error != "550 5.2.0 mailbox unavailable" {
		t.Fatalf("broken: %+v, want failed with 550 5.2.0", r)
	}
	if _, err := os.Stat(filepath.Join(root, "example.test", "bob")); !os.IsNotExist(err) {
		t.Fatalf("bob's Maildir was created by a delivery to bob/./: %v", err)
	}
	got, _ := filepath.Glob(filepath.Join(root, "example.test", "bob%2F.%2F", "new", "*"))
	if len(got) != 1 {
		t.Fatalf("bob/./'s own Maildir holds %v", got)
	}
	all, _ := filepath.Glob(filepath.Join(root, "*"))
	if len(all) != 1 {
		t.Fatalf("mail root holds %v, want only example.test", all)
	}
}
