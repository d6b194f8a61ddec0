package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

func TestDomainLifecycle(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.AddDomain(ctx, "test", "Example.NET."); err != nil {
			t.Fatal(err)
		}
		if err := s.AddDomain(ctx, "test", "example.net"); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate domain: got %v, want ErrExists", err)
		}
		if err := s.AddDomain(ctx, "test", "localhost"); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("unqualified domain: got %v, want ErrInvalid", err)
		}
		ok, err := s.HasDomain(ctx, "EXAMPLE.net")
		if err != nil || !ok {
			t.Fatalf("HasDomain = %v, %v", ok, err)
		}
		if err := s.AddAccount(ctx, "test", "alice@example.net", "hash"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveDomain(ctx, "test", "example.net"); !errors.Is(err, store.ErrInUse) {
			t.Fatalf("removing a domain with accounts: got %v, want ErrInUse", err)
		}
		ds, err := s.Domains(ctx)
		if err != nil || len(ds) != 1 || ds[0].Name != "example.net" || ds[0].Accounts != 1 {
			t.Fatalf("Domains = %+v, %v", ds, err)
		}
		if err := s.RemoveAccount(ctx, "test", "alice@example.net"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveDomain(ctx, "test", "example.net"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveDomain(ctx, "test", "example.net"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("removing a missing domain: got %v, want ErrNotFound", err)
		}
	})
}

func TestAccountsAndAliases(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.AddAccount(ctx, "test", "bob@nowhere.example", "h"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("account in an unknown domain: got %v, want ErrNotFound", err)
		}
		must(t, s.AddDomain(ctx, "test", "isp.example"))
		must(t, s.AddAccount(ctx, "test", "Bob@ISP.example", "h1"))
		if err := s.AddAccount(ctx, "test", "bob@isp.example", "h2"); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate account: got %v, want ErrExists", err)
		}
		for _, bad := range []string{"bob", "@isp.example", "a%b@isp.example", "a!b@isp.example", "a..b@isp.example", `"a@b"@isp.example`} {
			if err := s.AddAccount(ctx, "test", bad, "h"); err == nil {
				t.Errorf("AddAccount(%q) succeeded, want an invalid-address error", bad)
			}
		}
		a, err := s.Account(ctx, "BOB@isp.example")
		if err != nil || a.Address != "bob@isp.example" || a.Status != store.StatusActive || a.PasswordHash != "h1" {
			t.Fatalf("Account = %+v, %v", a, err)
		}
		must(t, s.AddAlias(ctx, "test", "robert@isp.example", "bob@isp.example"))
		if err := s.AddAlias(ctx, "test", "bob@isp.example", "bob@isp.example"); !errors.Is(err, store.ErrExists) {
			t.Fatalf("alias over an account: got %v, want ErrExists", err)
		}
		if err := s.AddAlias(ctx, "test", "x@isp.example", "nobody@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("alias to a missing account: got %v, want ErrNotFound", err)
		}
		// Listing by an unknown domain or account is "not found", not an
		// empty list; a known one in another case lists what it has.
		if _, err := s.Accounts(ctx, "isp.exmaple"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "domain isp.exmaple: not found (see `mailgate domain list`)") {
			t.Fatalf("Accounts(unknown domain): %v", err)
		}
		if _, err := s.Aliases(ctx, "rob@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Aliases(unknown account): %v", err)
		}
		if as, err := s.Accounts(ctx, "ISP.example"); err != nil || len(as) != 1 {
			t.Fatalf("Accounts(ISP.example) = %v, %v", as, err)
		}
		if as, err := s.Aliases(ctx, "BOB@isp.example"); err != nil || len(as) != 1 || as[0].Address != "robert@isp.example" {
			t.Fatalf("Aliases(BOB@isp.example) = %v, %v", as, err)
		}
		if got, err := s.Resolve(ctx, "Robert@isp.example"); err != nil || got != "bob@isp.example" {
			t.Fatalf("Resolve(alias) = %q, %v", got, err)
		}
		if got, err := s.Resolve(ctx, "bob@isp.example"); err != nil || got != "bob@isp.example" {
			t.Fatalf("Resolve(account) = %q, %v", got, err)
		}
		if _, err := s.Resolve(ctx, "carol@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Resolve(unknown) err = %v, want ErrNotFound", err)
		}
		for addr, want := range map[string]bool{"bob@isp.example": true, "ROBERT@isp.example": true, "carol@isp.example": false, "bob@other.example": false} {
			if got, err := s.Owns(ctx, "bob@isp.example", addr); err != nil || got != want {
				t.Errorf("Owns(bob, %s) = %v, %v; want %v", addr, got, err, want)
			}
		}
		must(t, s.SetStatus(ctx, "test", "bob@isp.example", store.StatusSendingDisabled, "limit"))
		if a, _ := s.Account(ctx, "bob@isp.example"); a.Status != store.StatusSendingDisabled {
			t.Fatalf("status = %s", a.Status)
		}
		if err := s.SetStatus(ctx, "test", "bob@isp.example", "frozen", ""); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad status: got %v", err)
		}
		if err := s.SetPassword(ctx, "test", "nobody@isp.example", "h"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SetPassword(unknown): got %v", err)
		}
		must(t, s.RemoveAccount(ctx, "test", "bob@isp.example"))
		if _, err := s.Resolve(ctx, "robert@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("alias outlived its account: %v", err)
		}
		log, err := s.AuditLog(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		// Refused changes leave no audit entry; made ones do, newest first.
		want := []string{"user.remove", "user.status", "alias.add", "user.add", "domain.add"}
		if len(log) != len(want) {
			t.Fatalf("audit log has %d entries, want %d: %+v", len(log), len(want), log)
		}
		for i, w := range want {
			if log[i].Action != w || log[i].Actor != "test" {
				t.Errorf("audit[%d] = %+v, want action %s", i, log[i], w)
			}
		}
	})
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	s1, err := store.Open(ctx, path)
	must(t, err)
	must(t, s1.AddDomain(ctx, "test", "again.example"))
	s1.Close()
	// A second open applies no migration twice and sees the data.
	s2, err := store.Open(ctx, path)
	must(t, err)
	defer s2.Close()
	if ok, err := s2.HasDomain(ctx, "again.example"); err != nil || !ok {
		t.Fatalf("after reopen HasDomain = %v, %v", ok, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
