package mailbox

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadIndex: any index file content loads without panicking, and
// what loads is usable: UIDs unique, ascending, below UIDNEXT.
func FuzzLoadIndex(f *testing.F) {
	f.Add([]byte("mailgate-uidlist 1 1700000000 3\n+ 1 10 1700000000 S a.b,S=10\n+ 2 5 1700000001 - c.d\nF 1 FS\n- 2\nS 123\n"))
	f.Add([]byte("mailgate-uidlist 1 5 1\n+ 9 1 1 - x\n+ 9 1 1 - y\n+ 3 1 1 - z\n"))
	f.Add([]byte("mailgate-uidlist 1 5 1\n+ 4294967295 1 1 - x\n+ 0 1 1 - y\n- \nF\n"))
	f.Add([]byte("mailgate-uidlist 1 5 4\nH 1\n+ 1 1 1 - x\n+ 3 1 1 - y\nM 2 1 3\nF 3 S 7\nM 99999999999999999999 0 4294967295\nH 9\n- 1\n"))
	f.Add([]byte("mailgate-uidlist 1 5 6\nV 2\n+ 1 1 1 - x\n+ 4 1 1 - y\nM 3 1 4\nH 4\n- 2\nX 4 2 3\nX 9 5 1\nX 3 0 7\n"))
	f.Add([]byte("mailgate-uidlist 1 5 6\nV 2\n+ 1 1 1 - x\nX 4 2 3\nV 99\n"))
	f.Add([]byte("garbage\n"))
	f.Add([]byte("mailgate-uidlist 1 5 1\n+ 1 1 1 - torn"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), IndexFile)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, ok, err := loadIndex(path)
		if err != nil || !ok {
			return
		}
		for i, m := range st.msgs {
			if m.UID == 0 {
				t.Fatalf("uid 0 loaded")
			}
			if i > 0 && m.UID <= st.msgs[i-1].UID {
				t.Fatalf("uids not strictly ascending: %d after %d", m.UID, st.msgs[i-1].UID)
			}
			if st.uidNext != 0 && m.UID >= st.uidNext {
				t.Fatalf("uid %d >= uidnext %d", m.UID, st.uidNext)
			}
			// RFC 7162 §3.1.1: positive, and none above HIGHESTMODSEQ.
			if m.ModSeq == 0 || m.ModSeq > st.highestModSeq {
				t.Fatalf("uid %d modseq %d, highest %d", m.UID, m.ModSeq, st.highestModSeq)
			}
		}
		// The expunge history (vanished.go): real UID ranges, none newer
		// than HIGHESTMODSEQ or as old as the floor says is forgotten,
		// and bounded.
		for _, r := range st.vanished {
			if r.first == 0 || r.first > r.last || r.modSeq > st.highestModSeq || r.modSeq < st.vanishedFloor {
				t.Fatalf("vanished %+v, highest %d, floor %d", r, st.highestModSeq, st.vanishedFloor)
			}
		}
		if len(st.vanished) > maxVanishedRanges {
			t.Fatalf("%d vanished records, bound %d", len(st.vanished), maxVanishedRanges)
		}
	})
}
