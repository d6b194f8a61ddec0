package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// Issue 15 §2: account and alias names that are paths ("bob/./" is bob's
// Maildir, "/" the domain's directory), Maildir's own names, control
// characters: refused with the rule in the message, nothing stored.
func TestHostileAccountNamesRefused(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(t, s.AddDomain(ctx, "test", "example.test"))
		must(t, s.AddAccount(ctx, "test", "bob@example.test", "h"))
		for _, bad := range []string{"bob/./@example.test", "/@example.test", "//@example.test", "a/b@example.test",
			"cur@example.test", "new@example.test", "TMP@example.test", "a\x00b@example.test", "a\x01b@example.test",
			"a\x7fb@example.test", "a\u009bb@example.test", `a\b@example.test`} {
			err := s.AddAccount(ctx, "test", bad, "h")
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "an account or alias name is letters, digits") {
				t.Errorf("AddAccount(%q) = %v, want ErrInvalid saying what is allowed", bad, err)
			}
			if err := s.CheckNewAccount(ctx, bad); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("CheckNewAccount(%q) = %v, want ErrInvalid", bad, err)
			}
			err = s.AddAlias(ctx, "test", bad, "bob@example.test")
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "an account or alias name is letters, digits") {
				t.Errorf("AddAlias(%q) = %v, want ErrInvalid saying what is allowed", bad, err)
			}
		}
		if err := s.CheckNewAccount(ctx, "BOB@example.test"); !errors.Is(err, store.ErrExists) {
			t.Errorf("CheckNewAccount(existing) = %v, want ErrExists", err)
		}
		if err := s.CheckNewAccount(ctx, "carol@example.test"); err != nil {
			t.Errorf("CheckNewAccount(free) = %v", err)
		}
		as, err := s.Accounts(ctx, "")
		if err != nil || len(as) != 1 || as[0].Address != "bob@example.test" {
			t.Fatalf("accounts after refusals = %+v, %v", as, err)
		}
		if al, err := s.Aliases(ctx, ""); err != nil || len(al) != 0 {
			t.Fatalf("aliases after refusals = %+v, %v", al, err)
		}
	})
}

// RFC 5890 §2.3.2.1: "ünïcödé.test" and "xn--ncd-dma1a7bzb.test" are one
// domain, stored once as its A-label and found by addresses in either form.
func TestIDNDomainIsOneDomain(t *testing.T) {
	const aLabel = "xn--ncd-dma1a7bzb.test"
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		added, err := s.AddDomains(ctx, "test", []string{"ÜNÏCÖDÉ.test"})
		if err != nil || len(added) != 1 || added[0] != aLabel {
			t.Fatalf("AddDomains(U-label) = %v, %v, want [%s]", added, err, aLabel)
		}
		for _, again := range []string{aLabel, "ünïcödé.test", "XN--NCD-DMA1A7BZB.TEST."} {
			if err := s.AddDomain(ctx, "test", again); !errors.Is(err, store.ErrExists) {
				t.Errorf("AddDomain(%q) = %v, want ErrExists", again, err)
			}
		}
		if _, err := s.AddDomains(ctx, "test", []string{"bücher.example", "xn--bcher-kva.example"}); !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), "nothing added") {
			t.Errorf("AddDomains of one domain in both forms = %v, want ErrExists, nothing added", err)
		}
		if err := s.AddDomain(ctx, "test", "xn--garbage.test"); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AddDomain(invalid A-label) = %v, want ErrInvalid", err)
		}
		ds, err := s.Domains(ctx)
		if err != nil || len(ds) != 1 || ds[0].Name != aLabel {
			t.Fatalf("Domains = %+v, %v, want only %s", ds, err, aLabel)
		}
		for _, d := range []string{aLabel, "ünïcödé.test", "Ünïcödé.Test."} {
			if ok, err := s.HasDomain(ctx, d); err != nil || !ok {
				t.Errorf("HasDomain(%q) = %v, %v", d, ok, err)
			}
		}
		must(t, s.AddAccount(ctx, "test", "Jörg@ünïcödé.test", "h"))
		if err := s.AddAccount(ctx, "test", "jörg@"+aLabel, "h"); !errors.Is(err, store.ErrExists) {
			t.Errorf("the account again in A-label form = %v, want ErrExists", err)
		}
		must(t, s.AddAlias(ctx, "test", "info@"+aLabel, "jörg@ünïcödé.test"))
		for _, addr := range []string{"jörg@" + aLabel, "JÖRG@ünïcödé.test", "info@ünïcödé.test", "info@" + aLabel} {
			if got, err := s.Resolve(ctx, addr); err != nil || got != "jörg@"+aLabel {
				t.Errorf("Resolve(%q) = %q, %v", addr, got, err)
			}
		}
		if a, err := s.Account(ctx, "jörg@ünïcödé.test"); err != nil || a.Address != "jörg@"+aLabel || a.Domain != aLabel {
			t.Errorf("Account (a login name in U-label form) = %+v, %v", a, err)
		}
		if as, err := s.Accounts(ctx, "ünïcödé.test"); err != nil || len(as) != 1 {
			t.Errorf("Accounts(U-label) = %+v, %v", as, err)
		}
		if ok, err := s.Owns(ctx, "jörg@"+aLabel, "info@ünïcödé.test"); err != nil || !ok {
			t.Errorf("Owns(alias in U-label form) = %v, %v", ok, err)
		}
		must(t, s.RemoveAlias(ctx, "test", "info@ünïcödé.test"))
		must(t, s.RemoveAccount(ctx, "test", "jörg@ünïcödé.test"))
		must(t, s.RemoveDomain(ctx, "test", "ünïcödé.test"))
		if ds, _ := s.Domains(ctx); len(ds) != 0 {
			t.Fatalf("Domains after removal = %+v", ds)
		}
	})
}
