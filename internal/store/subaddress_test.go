package store_test

import (
	"context"
	"errors"
	"testing"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestSubaddress: "bob+news@" reaches bob (RFC 5233, recipient_delimiter
// "+"), and through an alias its owner; an exact account or alias with the
// detail wins. bob may send as bob+news@ (Postfix's sender login maps
// strip the extension too), but not as another account's exact address
// that happens to start with "bob+".
func TestSubaddress(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(t, s.AddDomain(ctx, "test", "example.net"))
		must(t, s.AddAccount(ctx, "test", "bob@example.net", "h"))
		must(t, s.AddAccount(ctx, "test", "bob+work@example.net", "h"))
		must(t, s.AddAccount(ctx, "test", "carol@example.net", "h"))
		must(t, s.AddAlias(ctx, "test", "sales@example.net", "carol@example.net"))
		must(t, s.AddAlias(ctx, "test", "bob+shop@example.net", "carol@example.net"))
		for addr, want := range map[string]string{
			"bob+news@example.net":   "bob@example.net",
			"Bob+News@Example.Net":   "bob@example.net",
			"bob+work@example.net":   "bob+work@example.net",
			"bob+shop@example.net":   "carol@example.net",
			"sales+q1@example.net":   "carol@example.net",
			"bob+work+x@example.net": "bob@example.net", // the first "+" starts the detail
			"+news@example.net":      "",
			"nobody+x@example.net":   "",
		} {
			got, err := s.Resolve(ctx, addr)
			if want == "" && !errors.Is(err, store.ErrNotFound) || want != "" && (err != nil || got != want) {
				t.Errorf("Resolve(%s) = %q, %v; want %q", addr, got, err, want)
			}
		}
		for _, c := range []struct {
			account, addr string
			want          bool
		}{
			{"bob@example.net", "bob+news@example.net", true},
			{"bob@example.net", "bob+work@example.net", false}, // another account's own address
			{"bob@example.net", "bob+shop@example.net", false}, // carol's alias
			{"carol@example.net", "bob+shop@example.net", true},
			{"carol@example.net", "sales+x@example.net", true},
			{"carol@example.net", "bob+x@example.net", false},
			{"bob+work@example.net", "bob+work@example.net", true},
		} {
			if got, err := s.Owns(ctx, c.account, c.addr); err != nil || got != c.want {
				t.Errorf("Owns(%s, %s) = %v, %v; want %v", c.account, c.addr, got, err, c.want)
			}
		}
	})
}
