package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

func TestDKIMKeys(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		storetest.Host(t, s, "isp.example", "other.example")
		if sel, p, err := s.ActiveDKIMKey(ctx, "isp.example"); err != nil || sel != "" || p != "" {
			t.Fatalf("no key yet: got %q %q %v", sel, p, err)
		}
		now := time.Unix(1700000000, 0)
		// The first key of a domain becomes active without being asked.
		added, err := s.AddDKIMKey(ctx, "cli:root", "isp.example", "s1", "rsa", "PEM1", now, false)
		if err != nil || !added {
			t.Fatalf("add s1: %v %v", added, err)
		}
		added, err = s.AddDKIMKey(ctx, "cli:root", "isp.example", "s2", "ed25519", "PEM2", now, false)
		if err != nil || !added {
			t.Fatalf("add s2: %v %v", added, err)
		}
		if sel, p, err := s.ActiveDKIMKey(ctx, "isp.example"); err != nil || sel != "s1" || p != "PEM1" {
			t.Fatalf("active = %q %q %v, want s1 (the first key)", sel, p, err)
		}
		// The same selector again changes nothing: keys are never replaced.
		added, err = s.AddDKIMKey(ctx, "cli:root", "isp.example", "s1", "rsa", "OTHER", now, true)
		if err != nil || added {
			t.Fatalf("add s1 again: added=%v %v, want false", added, err)
		}
		if p, err := s.DKIMKeyPEM(ctx, "isp.example", "s1"); err != nil || p != "PEM1" {
			t.Fatalf("s1 pem = %q %v, want PEM1 kept", p, err)
		}
		must(t, s.ActivateDKIMKey(ctx, "cli:root", "isp.example", "s2"))
		if sel, p, err := s.ActiveDKIMKey(ctx, "isp.example"); err != nil || sel != "s2" || p != "PEM2" {
			t.Fatalf("active = %q %q %v, want s2", sel, p, err)
		}
		if err := s.ActivateDKIMKey(ctx, "cli:root", "isp.example", "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("activate unknown selector: %v, want ErrNotFound", err)
		}
		if sel, _, _ := s.ActiveDKIMKey(ctx, "isp.example"); sel != "s2" {
			t.Fatalf("a failed activation changed the active key to %q", sel)
		}
		// activate=true takes over from the current key.
		if added, err := s.AddDKIMKey(ctx, "cli:root", "isp.example", "s3", "rsa", "PEM3", now, true); err != nil || !added {
			t.Fatalf("add s3: %v %v", added, err)
		}
		if p, _ := s.DKIMKeyPEM(ctx, "isp.example", "missing"); p != "" {
			t.Fatalf("missing selector pem = %q", p)
		}
		_, err = s.AddDKIMKey(ctx, "cli:root", "other.example", "k", "rsa", "PEMO", now, false)
		must(t, err)
		doms, err := s.DKIMDomains(ctx)
		if err != nil || len(doms) != 2 || doms["isp.example"] != "s3" || doms["other.example"] != "k" {
			t.Fatalf("domains = %v %v", doms, err)
		}
	})
}

// TestDKIMKeyChangesAudited: each change is audited once, under its
// actor, with what it changed; a key that was already there is not.
func TestDKIMKeyChangesAudited(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Unix(1700000000, 0)
		storetest.Host(t, s, "isp.example")
		if _, err := s.AddDKIMKey(ctx, "api:ops", "isp.example", "s1", "rsa", "PEM1", now, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ImportDKIMKey(ctx, "node:mx1", "isp.example", "old", "ed25519", "PEM0", "/var/lib/mailgate/dkim/isp.example/old.pem", now); err != nil {
			t.Fatal(err)
		}
		if added, err := s.ImportDKIMKey(ctx, "node:mx2", "isp.example", "old", "ed25519", "PEM0", "/var/lib/mailgate/dkim/isp.example/old.pem", now); err != nil || added {
			t.Fatalf("second import: added=%v %v, want false", added, err)
		}
		must(t, s.ActivateDKIMKey(ctx, "web:admin@isp.example", "isp.example", "old"))
		must(t, s.RetireDKIMKey(ctx, "cli:root", "isp.example", "s1"))
		log, err := s.AuditLog(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range log {
			got = append(got, e.Actor+" "+e.Action+" "+e.Subject+" "+e.Detail)
		}
		want := []string{
			"cli:root dkim.retire isp.example s1",
			"web:admin@isp.example dkim.activate isp.example old",
			"node:mx1 dkim.import isp.example old ed25519 from /var/lib/mailgate/dkim/isp.example/old.pem",
			"api:ops dkim.keygen isp.example s1 rsa",
			"test domain.add isp.example ",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestDKIMKeyChangeNotWithoutItsAudit: a change whose audit row cannot be
// written does not happen, and says why. (The audit was written after the
// change had committed, and its error dropped: the key changed unaudited.)
func TestDKIMKeyChangeNotWithoutItsAudit(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Unix(1700000000, 0)
		storetest.Host(t, s, "isp.example")
		for _, sel := range []string{"s1", "s2"} {
			if _, err := s.AddDKIMKey(ctx, "cli:root", "isp.example", sel, "rsa", "PEM-"+sel, now, false); err != nil {
				t.Fatal(err)
			}
		}
		storetest.FailAuditWrites(t, s)
		const refused = "audit write refused by the test"
		if added, err := s.AddDKIMKey(ctx, "cli:root", "isp.example", "s3", "rsa", "PEM3", now, true); err == nil || !strings.Contains(err.Error(), refused) || added {
			t.Errorf("keygen with the audit failing: added=%v %v, want the audit's error", added, err)
		}
		if added, err := s.ImportDKIMKey(ctx, "node:mx1", "new.example", "old", "rsa", "PEM0", "old.pem", now); err == nil || !strings.Contains(err.Error(), refused) || added {
			t.Errorf("import with the audit failing: added=%v %v, want the audit's error", added, err)
		}
		if err := s.ActivateDKIMKey(ctx, "cli:root", "isp.example", "s2"); err == nil || !strings.Contains(err.Error(), refused) {
			t.Errorf("activate with the audit failing: %v, want the audit's error", err)
		}
		if err := s.RetireDKIMKey(ctx, "cli:root", "isp.example", "s2"); err == nil || !strings.Contains(err.Error(), refused) {
			t.Errorf("retire with the audit failing: %v, want the audit's error", err)
		}
		doms, err := s.DKIMDomains(ctx)
		if err != nil || len(doms) != 1 || doms["isp.example"] != "s1" {
			t.Errorf("domains and active keys after the failed changes: %v %v, want only isp.example signing with s1", doms, err)
		}
		var sels []string
		must(t, s.EachDKIMKey(ctx, "isp.example", func(sel, _ string, _ bool, _ time.Time) { sels = append(sels, sel) }))
		if strings.Join(sels, ",") != "s1,s2" {
			t.Errorf("keys after the failed changes: %v, want s1,s2", sels)
		}
		if log, err := s.AuditLog(ctx, 10); err != nil || len(log) != 3 {
			t.Errorf("audit log: %d rows %v, want the domain's and the two keygens' only", len(log), err)
		}
	})
}

// TestDKIMKeygenNeedsAHostedDomain: a key for a domain we do not host is
// refused as an account or alias there is, saying how to add the domain,
// and nothing is stored or audited; a key copied from the legacy
// directory is kept whatever the domain.
func TestDKIMKeygenNeedsAHostedDomain(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Unix(1700000000, 0)
		added, err := s.AddDKIMKey(ctx, "cli:root", "nope.example", "s1", "rsa", "PEM1", now, false)
		const want = "domain nope.example: not found; add it first with `mailgate domain add nope.example`"
		if !errors.Is(err, store.ErrNotFound) || err.Error() != want || added {
			t.Fatalf("keygen for a domain we do not host: added=%v %v, want %q", added, err, want)
		}
		if doms, err := s.DKIMDomains(ctx); err != nil || len(doms) != 0 {
			t.Errorf("keys after the refusal: %v %v, want none", doms, err)
		}
		if log, err := s.AuditLog(ctx, 10); err != nil || len(log) != 0 {
			t.Errorf("audit log after the refusal: %d rows %v, want none", len(log), err)
		}
		if added, err := s.ImportDKIMKey(ctx, "node:mx1", "gone.example", "old", "rsa", "PEM0", "old.pem", now); err != nil || !added {
			t.Errorf("import for a domain no longer hosted: added=%v %v, want it copied", added, err)
		}
	})
}
