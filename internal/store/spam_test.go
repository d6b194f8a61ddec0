package store_test

import (
	"context"
	"errors"
	"testing"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestAccountSpamSettings: a new account has the service on with the
// operator's defaults; a change is stored, read back and audited; invalid
// values and unknown accounts are refused and change nothing.
func TestAccountSpamSettings(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(t, s.AddDomain(ctx, "test", "isp.example"))
		must(t, s.AddAccount(ctx, "test", "carol@isp.example", "h"))
		got, err := s.AccountSpam(ctx, "Carol@isp.example")
		if err != nil || got != (store.SpamSettings{Enabled: true}) {
			t.Fatalf("new account: %+v, %v; want the service on with defaults", got, err)
		}
		want := store.SpamSettings{Enabled: true, Action: "junk", Threshold: 7.5, Tag: "*** SPAM ***"}
		must(t, s.SetAccountSpam(ctx, "admin", "carol@isp.example", want))
		if got, err := s.AccountSpam(ctx, "carol@isp.example"); err != nil || got != want {
			t.Fatalf("after set: %+v, %v; want %+v", got, err, want)
		}
		log, err := s.AuditLog(ctx, 1)
		if err != nil || len(log) != 1 || log[0].Action != "user.spam" || log[0].Subject != "carol@isp.example" {
			t.Fatalf("audit: %+v, %v", log, err)
		}
		for _, bad := range []store.SpamSettings{{Action: "delete"}, {Threshold: -1}, {Tag: "a\r\nBcc: x"}} {
			if err := s.SetAccountSpam(ctx, "admin", "carol@isp.example", bad); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("SetAccountSpam(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
		if got, _ := s.AccountSpam(ctx, "carol@isp.example"); got != want {
			t.Fatalf("refused changes changed the settings: %+v", got)
		}
		if err := s.SetAccountSpam(ctx, "admin", "nobody@isp.example", want); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown account: %v, want ErrNotFound", err)
		}
		if _, err := s.AccountSpam(ctx, "nobody@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown account read: %v, want ErrNotFound", err)
		}
	})
}
