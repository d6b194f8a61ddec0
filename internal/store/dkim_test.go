package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

func TestDKIMKeys(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if sel, p, err := s.ActiveDKIMKey(ctx, "isp.example"); err != nil || sel != "" || p != "" {
			t.Fatalf("no key yet: got %q %q %v", sel, p, err)
		}
		now := time.Unix(1700000000, 0)
		// The first key of a domain becomes active without being asked.
		added, err := s.AddDKIMKey(ctx, "isp.example", "s1", "rsa", "PEM1", now, false)
		if err != nil || !added {
			t.Fatalf("add s1: %v %v", added, err)
		}
		added, err = s.AddDKIMKey(ctx, "isp.example", "s2", "ed25519", "PEM2", now, false)
		if err != nil || !added {
			t.Fatalf("add s2: %v %v", added, err)
		}
		if sel, p, err := s.ActiveDKIMKey(ctx, "isp.example"); err != nil || sel != "s1" || p != "PEM1" {
			t.Fatalf("active = %q %q %v, want s1 (the first key)", sel, p, err)
		}
		// The same selector again changes nothing: keys are never replaced.
		added, err = s.AddDKIMKey(ctx, "isp.example", "s1", "rsa", "OTHER", now, true)
		if err != nil || added {
			t.Fatalf("add s1 again: added=%v %v, want false", added, err)
		}
		if p, err := s.DKIMKeyPEM(ctx, "isp.example", "s1"); err != nil || p != "PEM1" {
			t.Fatalf("s1 pem = %q %v, want PEM1 kept", p, err)
		}
		must(t, s.ActivateDKIMKey(ctx, "isp.example", "s2"))
		if sel, p, err := s.ActiveDKIMKey(ctx, "isp.example"); err != nil || sel != "s2" || p != "PEM2" {
			t.Fatalf("active = %q %q %v, want s2", sel, p, err)
		}
		if err := s.ActivateDKIMKey(ctx, "isp.example", "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("activate unknown selector: %v, want ErrNotFound", err)
		}
		if sel, _, _ := s.ActiveDKIMKey(ctx, "isp.example"); sel != "s2" {
			t.Fatalf("a failed activation changed the active key to %q", sel)
		}
		// activate=true takes over from the current key.
		if added, err := s.AddDKIMKey(ctx, "isp.example", "s3", "rsa", "PEM3", now, true); err != nil || !added {
			t.Fatalf("add s3: %v %v", added, err)
		}
		if p, _ := s.DKIMKeyPEM(ctx, "isp.example", "missing"); p != "" {
			t.Fatalf("missing selector pem = %q", p)
		}
		_, err = s.AddDKIMKey(ctx, "other.example", "k", "rsa", "PEMO", now, false)
		must(t, err)
		doms, err := s.DKIMDomains(ctx)
		if err != nil || len(doms) != 2 || doms["isp.example"] != "s3" || doms["other.example"] != "k" {
			t.Fatalf("domains = %v %v", doms, err)
		}
	})
}
