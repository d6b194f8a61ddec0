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

func TestWebSessionsLiveExpireAndEnd(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Unix(1_800_000_000, 0)
		store.SetClock(s, func() time.Time { return now })
		addAccount(t, s, "taro@example.jp")
		a, err := s.StartWebSession(ctx, "Taro@Example.JP", "192.0.2.1", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.StartWebSession(ctx, "taro@example.jp", "192.0.2.2", time.Hour)
		ws, err := s.WebSession(ctx, a, time.Hour)
		if err != nil || ws.Account != "taro@example.jp" || ws.Source != "192.0.2.1" {
			t.Fatalf("WebSession = %+v, %v", ws, err)
		}
		if _, err := s.WebSession(ctx, a+"x", time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a wrong token: %v, want ErrNotFound", err)
		}
		// Use extends the session: 50 minutes on, then 50 more, it lives.
		now = now.Add(50 * time.Minute)
		if _, err := s.WebSession(ctx, a, time.Hour); err != nil {
			t.Fatal(err)
		}
		now = now.Add(50 * time.Minute)
		if _, err := s.WebSession(ctx, a, time.Hour); err != nil {
			t.Fatalf("a used session expired: %v", err)
		}
		if _, err := s.WebSession(ctx, b, time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an idle session lived past its hour: %v", err)
		}
		if n, err := s.PruneWebSessions(ctx); err != nil || n != 1 {
			t.Fatalf("PruneWebSessions = %d, %v; want 1", n, err)
		}
		c, _ := s.StartWebSession(ctx, "taro@example.jp", "192.0.2.3", time.Hour)
		if ls, err := s.WebLogins(ctx, "Taro@example.jp", 2); err != nil || len(ls) != 2 || ls[0].Source != "192.0.2.3" || ls[1].Source != "192.0.2.2" {
			t.Fatalf("WebLogins = %+v, %v", ls, err)
		}
		if n, err := s.EndOtherWebSessions(ctx, "taro@example.jp", c); err != nil || n != 1 {
			t.Fatalf("EndOtherWebSessions = %d, %v; want 1", n, err)
		}
		if _, err := s.WebSession(ctx, a, time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session kept after EndOtherWebSessions: %v", err)
		}
		if err := s.EndWebSession(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WebSession(ctx, c, time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session kept after logout: %v", err)
		}
	})
}

func TestFeedTokensHashedAndAudited(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		tok, err := s.AddFeedToken(ctx, "cli:op", "carrier-a")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddFeedToken(ctx, "cli:op", "carrier-a"); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second token: %v, want ErrExists", err)
		}
		if _, err := s.AddFeedToken(ctx, "cli:op", "Bad Name"); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad name: %v, want ErrInvalid", err)
		}
		if c, err := s.FeedCarrier(ctx, tok); err != nil || c != "carrier-a" {
			t.Fatalf("FeedCarrier = %q, %v", c, err)
		}
		if _, err := s.FeedCarrier(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
		if err := s.RemoveFeedToken(ctx, "cli:op", "carrier-a"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FeedCarrier(ctx, tok); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked token still works: %v", err)
		}
		log, _ := s.AuditLog(ctx, 2)
		if len(log) != 2 || log[0].Action != "feed.token.remove" || log[1].Action != "feed.token.add" {
			t.Fatalf("audit = %+v", log)
		}
	})
}

func TestAPITokensScopedHashedAudited(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		tok, err := s.AddAPIToken(ctx, "cli:op", "billing", []string{"read", "directory", "read"})
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range [][]string{nil, {"admin"}} {
			if _, err := s.AddAPIToken(ctx, "cli:op", "x", bad); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("scopes %v: %v, want ErrInvalid", bad, err)
			}
		}
		if _, err := s.AddAPIToken(ctx, "cli:op", "billing", []string{"read"}); !errors.Is(err, store.ErrExists) {
			t.Errorf("same name: %v", err)
		}
		got, err := s.APITokenFor(ctx, tok)
		if err != nil || got.Name != "billing" || !got.Has("directory") || got.Has("queue") || len(got.Scopes) != 2 {
			t.Fatalf("APITokenFor = %+v, %v", got, err)
		}
		if _, err := s.APITokenFor(ctx, tok[1:]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("wrong token: %v", err)
		}
		must(t, s.RemoveAPIToken(ctx, "cli:op", "billing"))
		if _, err := s.APITokenFor(ctx, tok); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoked token: %v", err)
		}
		log, _ := s.AuditLog(ctx, 2)
		if len(log) != 2 || log[1].Action != "api.token.add" || log[1].Detail != "scopes=directory,read" || log[0].Action != "api.token.remove" {
			t.Errorf("audit %+v", log)
		}
	})
}

func addAccount(t *testing.T, s *store.Store, addr string) {
	t.Helper()
	ctx := context.Background()
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	if err := s.AddDomain(ctx, "test", domain); err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
	if err := s.AddAccount(ctx, "test", addr, "hash"); err != nil {
		t.Fatal(err)
	}
}

// TestWebSessionsEndWithTheirAccount: a browser stays logged in only as
// long as its account may log in with the password it used: a new
// password (whoever set it: web, CLI), a suspension and the account's
// removal end its sessions, and a later resumption or an account made
// again under the address does not bring them back.
func TestWebSessionsEndWithTheirAccount(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		addAccount(t, s, "taro@example.jp")
		live := func(tok string) bool {
			_, err := s.WebSession(ctx, tok, time.Hour)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		start := func() string {
			tok, err := s.StartWebSession(ctx, "taro@example.jp", "192.0.2.1", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		a := start()
		if err := s.SetStatus(ctx, "test", "taro@example.jp", store.StatusSendingDisabled, "may read"); err != nil || !live(a) {
			t.Fatalf("sending-disabled (may read mail): %v, session live %v, want live", err, live(a))
		}
		if err := s.SetStatus(ctx, "test", "taro@example.jp", store.StatusSuspended, "ticket 1"); err != nil || live(a) {
			t.Fatalf("suspended: %v, session live %v, want ended", err, live(a))
		}
		if err := s.SetStatus(ctx, "test", "taro@example.jp", store.StatusActive, "ticket 1 closed"); err != nil || live(a) {
			t.Fatalf("resumed: %v, old session live %v, want it still ended", err, live(a))
		}
		b := start()
		if err := s.SetPassword(ctx, "cli:op", "taro@example.jp", "new hash"); err != nil || live(b) {
			t.Fatalf("new password: %v, session live %v, want ended", err, live(b))
		}
		c := start()
		if err := s.RemoveAccount(ctx, "test", "taro@example.jp"); err != nil || live(c) {
			t.Fatalf("removed: %v, session live %v, want ended", err, live(c))
		}
		addAccount(t, s, "taro@example.jp")
		if live(c) {
			t.Fatal("the removed account's session reaches the new account of the same address")
		}
	})
}
