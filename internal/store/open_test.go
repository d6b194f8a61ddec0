package store

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestOpenRefusesAnotherDatabaseURL: database = "mysql://..." (or a
// misspelt postgres URL) is an error naming what mailgate speaks, not a
// SQLite file made under a directory called "mysql:".
func TestOpenRefusesAnotherDatabaseURL(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, dsn := range []string{"mysql://mail:secret@db/mail", "postgre://db/mail"} {
		st, err := Open(context.Background(), dsn)
		if err == nil {
			st.Close()
			t.Fatalf("%s opened", dsn)
		}
		if !strings.Contains(err.Error(), "mailgate speaks PostgreSQL (postgres:// or postgresql://) or SQLite (a file path)") || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v", dsn, err)
		}
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("files made: %v", entries)
	}
}
