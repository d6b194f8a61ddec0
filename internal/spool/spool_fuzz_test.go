package spool

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzCorruptedFiles: whatever a crash, a full disk or an operator leaves in
// msg/ID and state/ID, reading the queue returns errors, never panics, and
// never reads outside the file.
func FuzzCorruptedFiles(f *testing.F) {
	f.Add([]byte(magic+"\n{\"id\":\"abc\",\"to\":[\"a@b.example\"],\"size\":5}\nhello"), []byte(`{"rcpts":[{"addr":"a@b.example","status":"pending"}]}`))
	f.Add([]byte(magic+"\n{\"size\":-5}\nx"), []byte(`{"rcpts":null}`))
	f.Add([]byte(magic+"\n{\"size\":9223372036854775807}\n"), []byte(`{`))
	f.Add([]byte(magic+"\n"), []byte(``))
	f.Add([]byte(magic), []byte(`[]`))
	f.Add([]byte("MAILGATE-SPOOL 2\n{}\n"), []byte(`{"attempts":-1,"next_attempt":"garbage"}`))
	f.Add([]byte(magic+"\n{\"to\":[1,2]}\n"), []byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, msg, state []byte) {
		dir := t.TempDir()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		const id = "abc"
		os.WriteFile(filepath.Join(dir, "msg", id), msg, 0o600)
		os.WriteFile(filepath.Join(dir, "state", id), state, 0o600)
		ids, err := s.IDs()
		if err != nil || len(ids) != 1 || ids[0] != id {
			t.Fatalf("IDs %v %v", ids, err)
		}
		m, err := s.Open(id)
		if err != nil {
			return
		}
		defer m.Close()
		b, _ := io.ReadAll(m.Body())
		if int64(len(b)) > int64(len(msg)) {
			t.Fatalf("read %d bytes from a %d-byte file", len(b), len(msg))
		}
		st, err := s.State(&m.Envelope)
		if err == nil {
			st.Pending()
			st.Set("a@b.example", Delivered, "")
		}
	})
}

// A second Open while the spool is open elsewhere (a running node, and
// `mailgate queue list` from the CLI) must not recover: the node's files
// in tmp/ are in flight, not left by a crash.
func TestOpenWhileOpenKeepsInFlightFiles(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	inflight := filepath.Join(dir, "tmp", "abc123")
	os.WriteFile(inflight, []byte(magic+"\n"), 0o600)
	cli := open(t, dir)
	if _, err := os.Stat(inflight); err != nil {
		t.Fatalf("a second Open removed an in-flight tmp file: %v", err)
	}
	// Both can work on the queue at once.
	env := &Envelope{To: []string{"b@y.example"}, Received: time.Now()}
	if err := s.Put(env, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if ids, _ := cli.IDs(); len(ids) != 1 {
		t.Fatalf("CLI sees %v", ids)
	}
	if err := cli.Remove(env.ID); err != nil {
		t.Fatal(err)
	}
	// Once both are gone (a crash of both), the next Open recovers.
	s.lock.Close()
	cli.lock.Close()
	open(t, dir)
	if _, err := os.Stat(inflight); !os.IsNotExist(err) {
		t.Fatal("the next sole Open did not remove the partial file")
	}
}
