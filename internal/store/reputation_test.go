package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

func TestReputationLists(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		v0, err := s.ReputationVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var many []netip.Prefix
		for i := 0; i < 1000; i++ {
			many = append(many, netip.MustParsePrefix(fmt.Sprintf("100.%d.%d.0/24", 64+i/256, i%256)))
		}
		many = append(many, many[0], netip.MustParsePrefix("2001:db8::/32"))
		n, err := s.ReplaceReputationList(ctx, "op", "isp-b", "https://isp-b.example/feed.csv", many)
		if err != nil || n != 1001 {
			t.Fatalf("import = %d, %v; want 1001 (the duplicate once)", n, err)
		}
		v1, _ := s.ReputationVersion(ctx)
		if v1 == v0 {
			t.Fatalf("version unchanged by an import: %s", v1)
		}
		if _, err := s.ReplaceReputationList(ctx, "op", "isp-c", "c.txt", []netip.Prefix{netip.MustParsePrefix("100.64.0.0/24")}); err != nil {
			t.Fatalf("a prefix in two lists is fine (two feeds may overlap): %v", err)
		}
		// Re-import replaces: the list holds exactly the new prefixes.
		if n, err := s.ReplaceReputationList(ctx, "op", "isp-b", "b2.txt", []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}); err != nil || n != 1 {
			t.Fatalf("re-import = %d, %v", n, err)
		}
		v2, _ := s.ReputationVersion(ctx)
		if v2 == v1 {
			t.Fatalf("version unchanged by a re-import of the same size")
		}
		ls, err := s.ReputationLists(ctx)
		if err != nil || fmt.Sprintf("%s %s %d %s %d", ls[0].Name, ls[0].Source, ls[0].Prefixes, ls[1].Name, ls[1].Prefixes) != "isp-b b2.txt 1 isp-c 1" {
			t.Fatalf("lists = %+v, %v", ls, err)
		}
		ps, err := s.ReputationPrefixes(ctx)
		if err != nil || len(ps) != 2 {
			t.Fatalf("prefixes = %+v, %v", ps, err)
		}
		for _, bad := range []string{"", "a b", "x/y", "ünï"} {
			if _, err := s.ReplaceReputationList(ctx, "op", bad, "f", nil); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("name %q: %v, want ErrInvalid", bad, err)
			}
		}
		if _, err := s.ReplaceReputationList(ctx, "op", "x", "f", []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("unmasked prefix: %v, want ErrInvalid", err)
		}
		if err := s.RemoveReputationList(ctx, "op", "isp-b"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveReputationList(ctx, "op", "isp-b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second remove: %v, want ErrNotFound", err)
		}
		ps, _ = s.ReputationPrefixes(ctx)
		if len(ps) != 1 || ps[0].List != "isp-c" {
			t.Fatalf("after remove: %+v", ps)
		}
		log, err := s.AuditLog(ctx, 10)
		if err != nil || len(log) < 3 || log[0].Action != "reputation.remove" {
			t.Fatalf("audit = %+v, %v", log, err)
		}
	})
}
