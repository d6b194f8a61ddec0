package dkim_test

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailgate/internal/dkim"
	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestStoreKeysSharedByNodes: a key made through one Keys (one node's CLI)
// signs through another on the same store (another node's signer), and an
// activation through either is seen by the other at once.
func TestStoreKeysSharedByNodes(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		storetest.Host(t, s, "ours.example")
		a := dkim.Keys{Dir: filepath.Join(t.TempDir(), "dkim"), Store: s, Actor: "cli:root"}
		b := dkim.Keys{Dir: filepath.Join(t.TempDir(), "dkim"), Store: s, Actor: "api:ops"}.Cached()
		if _, _, err := b.Active("ours.example"); !errors.Is(err, dkim.ErrNoKey) {
			t.Fatalf("no key yet: %v, want ErrNoKey", err)
		}
		rec, err := a.Generate("ours.example", "s1", "ed25519", false)
		if err != nil {
			t.Fatal(err)
		}
		sel, key, err := b.Active("ours.example")
		if err != nil || sel != "s1" {
			t.Fatalf("other node: active %q %v, want s1", sel, err)
		}
		if got, _ := b.Record("ours.example", "s1"); got != rec {
			t.Fatalf("other node's record %q, want %q", got, rec)
		}
		if _, err := b.Generate("ours.example", "s1", "rsa", false); err == nil || !strings.Contains(err.Error(), "already has a key") {
			t.Fatalf("same selector from the other node: %v", err)
		}
		if _, err := b.Generate("ours.example", "s2", "ed25519", false); err != nil {
			t.Fatal(err)
		}
		if err := a.Activate("ours.example", "s3"); !errors.Is(err, dkim.ErrNoKey) ||
			!strings.Contains(err.Error(), "ours.example under selector s3: see its keys with `mailgate dkim list ours.example`, or make one with `mailgate dkim keygen ours.example --selector s3`") {
			t.Fatalf("activate a selector with no key: %v", err)
		}
		if sel, _, _ := a.Active("ours.example"); sel != "s1" {
			t.Fatalf("second key activated without asking: %s", sel)
		}
		if err := a.Activate("ours.example", "s2"); err != nil {
			t.Fatal(err)
		}
		sel2, key2, err := b.Active("ours.example")
		if err != nil || sel2 != "s2" || key2.Public().(ed25519.PublicKey).Equal(key.Public()) {
			t.Fatalf("after activate on the other node: %q %v", sel2, err)
		}
		if err := a.Activate("ours.example", "nope"); !errors.Is(err, dkim.ErrNoKey) {
			t.Fatalf("activate unknown selector: %v, want ErrNoKey", err)
		}
		m, err := b.List()
		if err != nil || len(m) != 1 || m["ours.example"] != "s2" {
			t.Fatalf("list %v %v", m, err)
		}
		for _, k := range []dkim.Keys{a, b} {
			if _, err := os.Stat(k.Dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a store-backed Keys wrote into %s: %v", k.Dir, err)
			}
		}
	})
}

// TestStoreImportsKeyDirectory: keys made before the store held them are
// copied in on first use, the active one stays active, the files stay.
func TestStoreImportsKeyDirectory(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		dir := filepath.Join(t.TempDir(), "dkim")
		old := dkim.Keys{Dir: dir}
		// zz sorts after aa: the import must still make zz active.
		for _, sel := range []string{"aa", "zz"} {
			if _, err := old.Generate("ours.example", sel, "ed25519", false); err != nil {
				t.Fatal(err)
			}
		}
		if err := old.Activate("ours.example", "zz"); err != nil {
			t.Fatal(err)
		}
		if _, err := old.Generate("two.example", "k", "rsa", false); err != nil {
			t.Fatal(err)
		}
		wantRec, _ := old.Record("ours.example", "zz")
		k := dkim.Keys{Dir: dir, Store: s, Actor: dkim.NodeActor("mx1")}.Cached()
		sel, _, err := k.Active("ours.example")
		if err != nil || sel != "zz" {
			t.Fatalf("active after import %q %v, want zz", sel, err)
		}
		// Another node without the files sees the same keys.
		other := dkim.Keys{Store: s, Actor: "cli:root"}
		if rec, err := other.Record("ours.example", "zz"); err != nil || rec != wantRec {
			t.Fatalf("record from the store %q %v, want %q", rec, err, wantRec)
		}
		if m, err := other.List(); err != nil || m["ours.example"] != "zz" || m["two.example"] != "k" || len(m) != 2 {
			t.Fatalf("list %v %v", m, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "ours.example", "aa.pem")); err != nil {
			t.Fatalf("key file removed by the import: %v", err)
		}
		// A second import (another node, a restart) changes nothing.
		if err := other.Activate("ours.example", "aa"); err != nil {
			t.Fatal(err)
		}
		if sel, _, _ := (dkim.Keys{Dir: dir, Store: s, Actor: dkim.NodeActor("mx2")}).Active("ours.example"); sel != "aa" {
			t.Fatalf("import again overrode the stored activation: %q", sel)
		}
	})
}
