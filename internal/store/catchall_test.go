package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// A catch-all ("@domain", virtual(5)) receives what no account or alias of
// its domain holds, and lets its target send as none of it.
func TestCatchAll(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(t, s.AddDomain(ctx, "test", "example.net"))
		must(t, s.AddDomain(ctx, "test", "other.example"))
		must(t, s.AddAccount(ctx, "test", "alice@example.net", "h"))
		must(t, s.AddAccount(ctx, "test", "bob@example.net", "h"))
		must(t, s.AddAlias(ctx, "test", "sales@example.net", "bob@example.net"))

		// An unhosted domain gets the same error as any alias there.
		errAlias := s.AddAlias(ctx, "test", "x@nowhere.example", "alice@example.net")
		errCatch := s.AddAlias(ctx, "test", "@Nowhere.Example", "alice@example.net")
		if !errors.Is(errCatch, store.ErrNotFound) || errAlias == nil || errCatch.Error() != errAlias.Error() {
			t.Fatalf("catch-all of an unhosted domain: %v; an alias there: %v", errCatch, errAlias)
		}
		for _, bad := range []string{"@", "@localhost", "@exa mple.net", "@@example.net", "@a@example.net"} {
			if err := s.AddAlias(ctx, "test", bad, "alice@example.net"); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("AddAlias(%q) = %v, want ErrInvalid", bad, err)
			}
		}
		if err := s.AddAlias(ctx, "test", "@example.net", "nobody@example.net"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("catch-all to a missing account: %v", err)
		}
		if _, err := s.Resolve(ctx, "stray@example.net"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Resolve(stray) before the catch-all: %v", err)
		}

		must(t, s.AddAlias(ctx, "test", "@EXAMPLE.net", "alice@example.net"))
		if err := s.AddAlias(ctx, "test", "@example.net", "bob@example.net"); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second catch-all: %v, want ErrExists", err)
		}
		as, err := s.Aliases(ctx, "alice@example.net")
		if err != nil || len(as) != 1 || as[0].Address != "@example.net" || !as[0].CatchAll() {
			t.Fatalf("Aliases(alice) = %+v, %v", as, err)
		}
		// An account or alias wins over the catch-all; only the domain's
		// own addresses are caught.
		for addr, want := range map[string]string{
			"stray@example.net":    "alice@example.net",
			"Stray@EXAMPLE.NET":    "alice@example.net",
			"bob@example.net":      "bob@example.net",
			"sales@example.net":    "bob@example.net",
			"bob+tag@example.net":  "bob@example.net", // the detail step comes before the catch-all
			"sales+x@example.net":  "bob@example.net",
			"nobody+x@example.net": "alice@example.net",
			"alice@example.net":    "alice@example.net",
			"stray@other.example":  "",
			"stray@x.example.net":  "",
		} {
			got, err := s.Resolve(ctx, addr)
			if want == "" && !errors.Is(err, store.ErrNotFound) || want != "" && (err != nil || got != want) {
				t.Errorf("Resolve(%s) = %q, %v; want %q", addr, got, err, want)
			}
		}
		// RFC 6409 §6.1: the target sends as its own addresses only.
		for addr, want := range map[string]bool{"alice@example.net": true, "stray@example.net": false, "@example.net": false, "sales@example.net": false} {
			if got, err := s.Owns(ctx, "alice@example.net", addr); err != nil || got != want {
				t.Errorf("Owns(alice, %s) = %v, %v; want %v", addr, got, err, want)
			}
		}
		if err := s.RemoveDomain(ctx, "test", "other.example"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveDomain(ctx, "test", "example.net"); !errors.Is(err, store.ErrInUse) {
			t.Fatalf("RemoveDomain with a catch-all: %v", err)
		}

		must(t, s.RemoveAlias(ctx, "test", "@Example.NET"))
		if _, err := s.Resolve(ctx, "stray@example.net"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Resolve(stray) after the catch-all's removal: %v", err)
		}
		if err := s.RemoveAlias(ctx, "test", "@example.net"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "alias @example.net") {
			t.Fatalf("removing a missing catch-all: %v", err)
		}
		// The catch-all goes with its target account, as any alias.
		must(t, s.AddAlias(ctx, "test", "@example.net", "alice@example.net"))
		must(t, s.RemoveAccount(ctx, "test", "alice@example.net"))
		if _, err := s.Resolve(ctx, "stray@example.net"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("catch-all outlived its account: %v", err)
		}
		log, err := s.AuditLog(ctx, 3)
		if err != nil || len(log) != 3 || log[1].Action != "alias.add" || log[1].Subject != "@example.net" || log[1].Detail != "-> alice@example.net" {
			t.Fatalf("audit = %+v, %v", log, err)
		}
	})
}

// Two Stores on one database are two nodes of a fleet: a catch-all added
// or removed on one is used by the other once its cached answer (2 s)
// expires, on SQLite and on PostgreSQL.
func TestCatchAllSeenByTheOtherNode(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testCatchAllSeenByTheOtherNode(t, filepath.Join(t.TempDir(), "m.db")) })
	t.Run("postgres", func(t *testing.T) { testCatchAllSeenByTheOtherNode(t, storetest.PostgresDSN(t)) })
}

func testCatchAllSeenByTheOtherNode(t *testing.T, dsn string) {
	ctx := context.Background()
	var nodes [2]*store.Store
	for i := range nodes {
		s, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		nodes[i] = s
	}
	a, b := nodes[0], nodes[1]
	must(t, a.AddDomain(ctx, "test", "example.net"))
	must(t, a.AddAccount(ctx, "test", "alice@example.net", "h"))
	resolvesTo := func(s *store.Store, want string) bool {
		got, err := s.Resolve(ctx, "stray@example.net")
		if want == "" {
			return errors.Is(err, store.ErrNotFound)
		}
		return err == nil && got == want
	}
	eventually := func(what string, s *store.Store, want string) {
		t.Helper()
		for deadline := time.Now().Add(4 * time.Second); !resolvesTo(s, want); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the other node still resolves stray@example.net the old way after 4 s", what)
			}
		}
	}
	if !resolvesTo(b, "") {
		t.Fatal("stray address resolves before the catch-all")
	}
	must(t, a.AddAlias(ctx, "test", "@example.net", "alice@example.net"))
	if !resolvesTo(a, "alice@example.net") {
		t.Fatal("the node that added the catch-all does not use it at once")
	}
	eventually("added", b, "alice@example.net")
	must(t, a.RemoveAlias(ctx, "test", "@example.net"))
	if !resolvesTo(a, "") {
		t.Fatal("the node that removed the catch-all still uses it")
	}
	eventually("removed", b, "")
}
