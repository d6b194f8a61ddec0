package imapd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailgate/internal/mailbox"
)

// BenchmarkSelectFetchFlags: SELECT and FETCH 1:* (FLAGS) on a 20k
// message INBOX over IMAPS, as the client sees it.
func BenchmarkSelectFetchFlags(b *testing.B) {
	addr, root := testServer(b)
	dir, err := mailbox.Dir(root, testUser)
	if err != nil {
		b.Fatal(err)
	}
	mailbox.Ensure(dir)
	const n = 20000
	for i := 0; i < n; i++ {
		os.WriteFile(filepath.Join(dir, "cur", fmt.Sprintf("%d.M%dQ%d.h,S=10:2,S", 1700000000+i, i, i)), []byte("0123456789"), 0o600)
	}
	c := dial(b, addr)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.do("SELECT INBOX")
		if out := c.do("FETCH 1:* (FLAGS)"); strings.Count(out, "\n") != n-1 {
			b.Fatalf("%d lines", strings.Count(out, "\n")+1)
		}
	}
}
