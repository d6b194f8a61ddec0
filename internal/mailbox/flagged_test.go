package mailbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeliverFlaggedGoesToCur: flags put the message in cur/ with its
// info suffix, once however often it is delivered; no flags, in new/.
func TestDeliverFlaggedGoesToCur(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		if err := DeliverFlagged(dir, "1.M1K1.h,S=3", "SF", strings.NewReader("abc")); err != nil {
			t.Fatal(err)
		}
	}
	cur, _ := filepath.Glob(filepath.Join(dir, "cur", "*"))
	if len(cur) != 1 || filepath.Base(cur[0]) != "1.M1K1.h,S=3:2,FS" {
		t.Fatalf("cur/ holds %v, want one file named with :2,FS", cur)
	}
	if err := DeliverFlagged(dir, "2.M1K1.h,S=3", "", strings.NewReader("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new", "2.M1K1.h,S=3")); err != nil {
		t.Fatalf("unflagged delivery not in new/: %v", err)
	}
}
