package pop3d

import (
	"fmt"
	"io"
	"log/slog"
	"mailgate/internal/sessions"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailgate/internal/mailbox"
)

// FuzzTransaction feeds arbitrary input to a session in the TRANSACTION
// state: it never panics, and without a QUIT no message is deleted
// (RFC 1939 §6: deletions happen only in the UPDATE state).
func FuzzTransaction(f *testing.F) {
	for _, s := range []string{
		"STAT\r\nLIST\r\nRETR 1\r\nTOP 2 0\r\nDELE 1\r\nRSET\r\nUIDL 2\r\nQUIT\r\n",
		"DELE 1\r\nDELE 2\r\n",
		"DELE 1\r\nDELE 1\r\nLIST 1\r\nRETR 1\r\nquit\r\n",
		"TOP 1 99999999\r\nLIST 3\r\nUIDL 0\r\nRETR 4294967296\r\n",
		"USER x\r\nPASS y\r\nAUTH PLAIN\r\nSTLS\r\nCAPA\r\nNOOP\r\n",
		strings.Repeat("A", 9000) + "\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		dir := t.TempDir()
		if err := mailbox.Ensure(dir); err != nil {
			t.Fatal(err)
		}
		for i, body := range []string{"Subject: a\r\n\r\n.x\r\n", "Subject: b\r\n\r\nline\r\n..y\r\n"} {
			name := fmt.Sprintf("%d.M1Q%d.h,S=%d:2,", 1700000000+i, i, len(body))
			if err := os.WriteFile(filepath.Join(dir, "cur", name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		folder, err := mailbox.OpenFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		srv := &Server{Hostname: "h", Settings: sessions.Settings{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
		c1, c2 := net.Pipe()
		s := newSession(srv, c1, true)
		srv.locks.lock("u@h")
		s.account, s.folder, s.state = "u@h", folder, stateTransaction
		s.msgs = folder.Snapshot()
		s.deleted = make([]bool, len(s.msgs))
		s.retrieved = make([]bool, len(s.msgs))
		go io.Copy(io.Discard, c2)
		go func() { io.WriteString(c2, input); c2.Close() }()
		s.Run()
		c2.Close()
		left, _ := filepath.Glob(filepath.Join(dir, "cur", "*"))
		if !strings.Contains(strings.ToUpper(input), "QUIT") && len(left) != 2 {
			t.Fatalf("no QUIT, yet %d of 2 messages left", len(left))
		}
		if len(left) != folder.Len() {
			t.Fatalf("%d files, index holds %d", len(left), folder.Len())
		}
	})
}
