package delivery

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mailgate/internal/spool"
)

// TestJunkVerdictDeliversToJunk: a message the verdict judged spam lands in
// the recipient's Junk folder (created on first use, with the Maildir++
// marker), and nothing in INBOX; an ordinary one lands in INBOX.
func TestJunkVerdictDeliversToJunk(t *testing.T) {
	a, sp := nullMXAgent(t)
	a.Local.Dir = selfDir{}
	root := a.Local.MailRoot
	for _, junk := range []bool{true, false} {
		env := &spool.Envelope{From: "x@else.example", To: []string{"bob@ours.example"}, Received: time.Now(), Origin: "mx", Junk: junk}
		if err := sp.Put(env, []byte("Subject: s\r\n\r\nbody\r\n")); err != nil {
			t.Fatal(err)
		}
		a.process(context.Background(), env.ID)
	}
	box := filepath.Join(root, "ours.example", "bob")
	var inbox, junk []string
	filepath.Walk(box, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && filepath.Base(filepath.Dir(p)) == "new" {
			if filepath.Base(filepath.Dir(filepath.Dir(p))) == ".Junk" {
				junk = append(junk, p)
			} else {
				inbox = append(inbox, p)
			}
		}
		return nil
	})
	if len(junk) != 1 || len(inbox) != 1 {
		t.Fatalf("junk %v, inbox %v: want one message in each", junk, inbox)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(junk[0])), "maildirfolder")); err != nil {
		t.Fatalf("Junk folder made without the Maildir++ marker: %v", err)
	}
}

// selfDir: every address in ours.example is an account of its own.
type selfDir struct{ benchDir }

func (selfDir) Resolve(_ context.Context, addr string) (string, error) { return addr, nil }
