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

// auditRows are s's audit rows, oldest first, as "actor action subject
// detail".
func auditRows(t *testing.T, s *store.Store) []string {
	t.Helper()
	log, err := s.AuditLog(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for i := len(log) - 1; i >= 0; i-- {
		e := log[i]
		rows = append(rows, e.Actor+" "+e.Action+" "+e.Subject+" "+e.Detail)
	}
	return rows
}

// TestKeyChangesAuditedOnce: a key copied from the legacy directory, a
// keygen, an activation and a retirement through Keys leave one audit row
// each, under the Keys' actor, and reads leave none.
func TestKeyChangesAuditedOnce(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		dir := filepath.Join(t.TempDir(), "dkim")
		storetest.Host(t, s, "ours.example")
		if _, err := (dkim.Keys{Dir: dir}).Generate("ours.example", "old", "ed25519", false); err != nil {
			t.Fatal(err)
		}
		k := dkim.Keys{Dir: dir, Store: s, Actor: "cli:root"}
		if _, err := k.Generate("ours.example", "new", "ed25519", false); err != nil {
			t.Fatal(err)
		}
		if err := k.Activate("ours.example", "new"); err != nil {
			t.Fatal(err)
		}
		if err := k.Retire("ours.example", "old"); err != nil {
			t.Fatal(err)
		}
		if _, err := k.KeysOf("ours.example"); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"test domain.add ours.example ",
			"cli:root dkim.import ours.example old ed25519 from " + filepath.Join(dir, "ours.example", "old.pem"),
			"cli:root dkim.keygen ours.example new ed25519",
			"cli:root dkim.activate ours.example new",
			"cli:root dkim.retire ours.example old",
		}
		if got := auditRows(t, s); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("audit rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestKeyChangeNotWithoutItsAudit: when the audit row cannot be written,
// Generate, Activate and Retire fail and change nothing. (The audit was
// written after the change had committed and its error dropped, so each
// of them reported success with no audit row.)
func TestKeyChangeNotWithoutItsAudit(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		dir := filepath.Join(t.TempDir(), "dkim")
		k := dkim.Keys{Dir: dir, Store: s, Actor: "api:ops"}
		storetest.Host(t, s, "ours.example")
		for _, sel := range []string{"s1", "s2"} {
			if _, err := k.Generate("ours.example", sel, "ed25519", false); err != nil {
				t.Fatal(err)
			}
		}
		storetest.FailAuditWrites(t, s)
		if _, err := k.Generate("ours.example", "s3", "ed25519", true); err == nil {
			t.Error("Generate succeeded with no audit row")
		}
		if err := k.Activate("ours.example", "s2"); err == nil {
			t.Error("Activate succeeded with no audit row")
		}
		if err := k.Retire("ours.example", "s2"); err == nil {
			t.Error("Retire succeeded with no audit row")
		}
		ks, err := k.KeysOf("ours.example")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ki := range ks {
			got = append(got, ki.Selector)
			if ki.Active {
				got[len(got)-1] += "(active)"
			}
		}
		if strings.Join(got, ",") != "s1(active),s2" {
			t.Errorf("keys after the failed changes: %v, want s1(active),s2", got)
		}
	})
}

// TestStoreChangeNeedsAnActor: through Keys without an Actor nothing in
// the store changes (ErrNoActor), the copy of the legacy directory
// included, so no row is ever audited under nobody.
func TestStoreChangeNeedsAnActor(t *testing.T) {
	s := storetest.SQLite(t)
	storetest.Host(t, s, "ours.example")
	dir := filepath.Join(t.TempDir(), "dkim")
	if _, err := (dkim.Keys{Store: s, Actor: "cli:root"}).Generate("ours.example", "s1", "ed25519", false); err != nil {
		t.Fatal(err)
	}
	nobody := dkim.Keys{Store: s}
	if _, err := nobody.Generate("ours.example", "s2", "ed25519", false); !errors.Is(err, dkim.ErrNoActor) {
		t.Errorf("Generate without an actor: %v, want ErrNoActor", err)
	}
	if err := nobody.Activate("ours.example", "s1"); !errors.Is(err, dkim.ErrNoActor) {
		t.Errorf("Activate without an actor: %v, want ErrNoActor", err)
	}
	if _, err := (dkim.Keys{Dir: dir}).Generate("ours.example", "old", "ed25519", false); err != nil {
		t.Fatal(err)
	}
	if err := (dkim.Keys{Dir: dir, Store: s}).Retire("ours.example", "old"); !errors.Is(err, dkim.ErrNoActor) {
		t.Errorf("Retire (after copying the legacy key in) without an actor: %v, want ErrNoActor", err)
	}
	if sel, _, err := nobody.Active("ours.example"); err != nil || sel != "s1" {
		t.Errorf("reading without an actor: %q %v, want s1", sel, err)
	}
	want := []string{"test domain.add ours.example ", "cli:root dkim.keygen ours.example s1 ed25519"}
	if got := auditRows(t, s); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit rows %q, want %q", got, want)
	}
	if ks, err := (dkim.Keys{Store: s}).KeysOf("ours.example"); err != nil || len(ks) != 1 {
		t.Errorf("keys %+v %v, want s1 alone", ks, err)
	}
}
