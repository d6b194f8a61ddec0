package dkim_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"mailgate/internal/dkim"
	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestRotateAndRetire: a rotation (second selector, activated) then the
// old key retired; the active key is refused, on both backends and in the
// legacy directory alike, and the changes are audited under Actor.
func TestRotateAndRetire(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		storetest.Host(t, s, "ours.example")
		k := dkim.Keys{Dir: filepath.Join(t.TempDir(), "dkim"), Store: s, Actor: "api:ops"}
		testRotateAndRetire(t, k)
		log, err := s.AuditLog(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range log {
			if e.Actor == "api:ops" {
				actions = append(actions, e.Action)
			}
		}
		if strings.Join(actions, ",") != "dkim.retire,dkim.activate,dkim.keygen,dkim.keygen" {
			t.Errorf("audited %v", actions)
		}
	})
	t.Run("directory", func(t *testing.T) { testRotateAndRetire(t, dkim.Keys{Dir: t.TempDir()}) })
}

func testRotateAndRetire(t *testing.T, k dkim.Keys) {
	if _, err := k.Generate("ours.example", "s1", "ed25519", false); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Generate("ours.example", "s2", "ed25519", false); err != nil {
		t.Fatal(err)
	}
	if err := k.Retire("ours.example", "s1"); !errors.Is(err, dkim.ErrActive) {
		t.Fatalf("retiring the active key: %v, want ErrActive", err)
	}
	if err := k.Activate("ours.example", "s2"); err != nil {
		t.Fatal(err)
	}
	if err := k.Retire("ours.example", "s1"); err != nil {
		t.Fatal(err)
	}
	if err := k.Retire("ours.example", "s1"); !errors.Is(err, dkim.ErrNoKey) {
		t.Fatalf("retiring it again: %v, want ErrNoKey", err)
	}
	ks, err := k.KeysOf("ours.example")
	if err != nil || len(ks) != 1 {
		t.Fatalf("keys %+v %v", ks, err)
	}
	if g := ks[0]; g.Selector != "s2" || !g.Active || g.Algorithm != "ed25519" || g.Name != "s2._domainkey.ours.example." || !strings.HasPrefix(g.Value, "v=DKIM1; k=ed25519; p=") {
		t.Errorf("key %+v", g)
	}
	if _, err := k.KeysOf("not a domain"); !errors.Is(err, dkim.ErrInvalid) {
		t.Errorf("bad domain: %v", err)
	}
}

// TestRetiredLegacyKeyStaysRetired: a key first made in the legacy
// directory and copied into the store does not come back from its file
// after it is retired (the next process copies the directory in again).
func TestRetiredLegacyKeyStaysRetired(t *testing.T) {
	s := storetest.SQLite(t)
	storetest.Host(t, s, "ours.example")
	dir := filepath.Join(t.TempDir(), "dkim")
	if _, err := (dkim.Keys{Dir: dir}).Generate("ours.example", "old", "ed25519", false); err != nil {
		t.Fatal(err)
	}
	k := dkim.Keys{Dir: dir, Store: s, Actor: "cli:root"}
	if _, err := k.Generate("ours.example", "new", "ed25519", true); err != nil {
		t.Fatal(err)
	}
	if err := k.Retire("ours.example", "old"); err != nil {
		t.Fatal(err)
	}
	ks, err := (dkim.Keys{Dir: dir, Store: s, Actor: dkim.NodeActor("mx2")}).KeysOf("ours.example")
	if err != nil || len(ks) != 1 || ks[0].Selector != "new" {
		t.Fatalf("keys after retiring the legacy one: %+v %v", ks, err)
	}
}
