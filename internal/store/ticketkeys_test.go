package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestTLSTicketKeysRotateOnceAcrossNodes: two store handles on one
// database (two nodes of a fleet) call TLSTicketKeys at once from many
// goroutines, first with no key, then each time the newest is a rotation
// old: every caller gets the same list, so exactly one key was made per
// rotation; the list holds the current key and keep before it; a key that
// is not yet due is kept.
func TestTLSTicketKeysRotateOnceAcrossNodes(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testTicketKeyRace(t, filepath.Join(t.TempDir(), "mailgate.db")) })
	t.Run("postgres", func(t *testing.T) { testTicketKeyRace(t, storetest.PostgresDSN(t)) })
}

func testTicketKeyRace(t *testing.T, dsn string) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	nodes := openNodes(t, dsn, 2)
	for _, s := range nodes {
		store.SetClock(s, clock)
	}
	const rotation, keep = 12 * time.Hour, 2

	race := func() [][store.TicketKeySize]byte {
		t.Helper()
		var wg sync.WaitGroup
		got := make([][][store.TicketKeySize]byte, 16)
		errs := make([]error, len(got))
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = nodes[i%2].TLSTicketKeys(ctx, rotation, keep)
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if len(got[i]) != len(got[0]) || got[i][0] != got[0][0] {
				t.Fatalf("callers 0 and %d got different keys (%d and %d of them): more than one key made in one rotation", i, len(got[0]), len(got[i]))
			}
		}
		return got[0]
	}

	first := race()
	if len(first) != 1 || first[0] == ([store.TicketKeySize]byte{}) {
		t.Fatalf("first keys: %d, want one non-zero key", len(first))
	}
	advance(rotation - time.Second)
	if again := race(); len(again) != 1 || again[0] != first[0] {
		t.Fatal("the key changed before its rotation was due")
	}
	advance(time.Second)
	second := race()
	if len(second) != 2 || second[0] == first[0] || second[1] != first[0] {
		t.Fatalf("after one rotation: %d keys, want a new one then the first", len(second))
	}
	advance(rotation)
	third := race()
	if len(third) != 3 || third[1] != second[0] || third[2] != first[0] {
		t.Fatalf("after two rotations: %d keys, want the new one then the two before", len(third))
	}
	advance(rotation)
	fourth := race()
	if len(fourth) != 3 || fourth[1] != third[0] || fourth[2] != second[0] {
		t.Fatalf("after three rotations: %d keys, want the first dropped (keep %d)", len(fourth), keep)
	}

	if _, err := nodes[0].TLSTicketKeys(ctx, 0, keep); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("rotation 0: %v, want ErrInvalid (0 means no tickets: the caller's to handle)", err)
	}
}
