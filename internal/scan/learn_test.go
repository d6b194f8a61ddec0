package scan

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLesson(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		spam, ok bool
	}{
		{"INBOX", "Junk", true, true},
		{"Archive", "Junk", true, true},
		{"Junk", "INBOX", false, true},
		{"Junk", "Archive.2026", false, true},
		{"Junk", "Trash", false, false}, // deleting spam teaches nothing
		{"Junk", "Junk", false, false},
		{"INBOX", "Trash", false, false},
		{"INBOX", "junk", false, false}, // IMAP names are case-sensitive but INBOX
	} {
		spam, ok := Lesson(tc.from, tc.to)
		if spam != tc.spam || ok != tc.ok {
			t.Errorf("Lesson(%q, %q) = %v, %v; want %v, %v", tc.from, tc.to, spam, ok, tc.spam, tc.ok)
		}
	}
}

// TestLearnerPostsInTheBackground: Copied returns at once; the message
// reaches /learnspam with the password, and the file is closed after.
func TestLearnerPostsInTheBackground(t *testing.T) {
	got := make(chan string, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // rspamd is slow: the IMAP command must not notice
		b, _ := io.ReadAll(r.Body)
		got <- r.URL.Path + " " + r.Header.Get("Password") + " " + string(b)
		io.WriteString(w, `{"success":true}`)
	}))
	defer srv.Close()
	p := filepath.Join(t.TempDir(), "msg")
	os.WriteFile(p, []byte("Subject: buy\r\n\r\nnow\r\n"), 0o644)
	l := &Learner{Controller: Endpoint{"tcp", srv.Listener.Addr().String()}, Password: "q1", Timeout: 5 * time.Second}
	var opened *os.File
	l.Copied("a@isp.example", "INBOX", "Junk", func() []*os.File {
		f, _ := os.Open(p)
		opened = f
		return []*os.File{f}
	})
	close(release) // Copied returned while the controller was still holding
	if s := <-got; s != "/learnspam q1 Subject: buy\r\n\r\nnow\r\n" {
		t.Fatalf("controller got %q", s)
	}
	l.Copied("a@isp.example", "INBOX", "Trash", func() []*os.File { t.Fatal("opened files for a move that teaches nothing"); return nil })
	deadline := time.Now().Add(5 * time.Second)
	for opened.Fd() != ^uintptr(0) { // a closed file has no descriptor
		if time.Now().After(deadline) {
			t.Fatal("the learner never closed the message file")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
