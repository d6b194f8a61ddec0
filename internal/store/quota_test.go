package store_test

import (
	"context"
	"errors"
	"testing"

	"mailgate/internal/config"
	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestMailboxQuota: an account without its own quota has the node's
// default; its own (a size, or unlimited) wins and is audited; "default"
// gives the node's back; bad values and unknown accounts are refused.
func TestMailboxQuota(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.SetDefaultMailboxQuota(2 << 30)
		must(t, s.AddDomain(ctx, "test", "isp.example"))
		must(t, s.AddAccount(ctx, "test", "dave@isp.example", "h"))
		quota := func(want int64, wantOwn bool) {
			t.Helper()
			own, ok, err := s.AccountQuota(ctx, "Dave@isp.example")
			if err != nil || ok != wantOwn || (ok && own != want) {
				t.Fatalf("AccountQuota = %d, %t, %v; want %d, %t", own, ok, err, want, wantOwn)
			}
			if got, err := s.MailboxQuota(ctx, "dave@isp.example"); err != nil || got != want {
				t.Fatalf("MailboxQuota = %d, %v; want %d", got, err, want)
			}
		}
		quota(2<<30, false)
		must(t, s.SetAccountQuota(ctx, "admin", "dave@isp.example", 5<<20))
		quota(5<<20, true)
		log, err := s.AuditLog(ctx, 1)
		if err != nil || len(log) != 1 || log[0].Action != "user.quota" || log[0].Subject != "dave@isp.example" || log[0].Detail != "5242880" {
			t.Fatalf("audit: %+v, %v", log, err)
		}
		must(t, s.SetAccountQuota(ctx, "admin", "dave@isp.example", 0))
		quota(0, true)
		must(t, s.SetAccountQuota(ctx, "admin", "dave@isp.example", store.QuotaDefault))
		quota(2<<30, false)
		if log, _ := s.AuditLog(ctx, 1); len(log) != 1 || log[0].Detail != "default" {
			t.Fatalf("audit of default: %+v", log)
		}
		if err := s.SetAccountQuota(ctx, "admin", "dave@isp.example", -5); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("negative quota: %v, want ErrInvalid", err)
		}
		if err := s.SetAccountQuota(ctx, "admin", "nobody@isp.example", 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown account: %v, want ErrNotFound", err)
		}
		if _, err := s.MailboxQuota(ctx, "nobody@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown account's quota: %v, want ErrNotFound", err)
		}
	})
}

// FuzzParseQuota: any text gives QuotaDefault, a size that
// config.FormatByteSize writes back to the same octets, or an ErrInvalid
// error; never a panic or a negative size.
func FuzzParseQuota(f *testing.F) {
	for _, s := range []string{"default", " DEFAULT ", "unlimited", "0", "2GiB", "500MB", "10M", "1048576", "-1", "lots", "", "9223372036854775807", "4611686018427387904b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := store.ParseQuota(s)
		switch {
		case err != nil:
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("%q: %v is not store.ErrInvalid", s, err)
			}
		case n == store.QuotaDefault:
		case n < 0:
			t.Fatalf("%q: %d", s, n)
		default:
			if back, err := store.ParseQuota(config.FormatByteSize(n)); err != nil || back != n {
				t.Fatalf("%q: %d written %q reads %d, %v", s, n, config.FormatByteSize(n), back, err)
			}
		}
	})
}

// TestFormatQuotaRoundTrip: what FormatQuota writes, ParseQuota reads back
// to the same octets (the CLI, API and console show one and take the other).
func TestFormatQuotaRoundTrip(t *testing.T) {
	for n, want := range map[int64]string{0: "unlimited", 2 << 30: "2GiB", 1536 << 10: "1536KiB", 1000: "1000"} {
		got := store.FormatQuota(n)
		if got != want {
			t.Errorf("FormatQuota(%d) = %q, want %q", n, got, want)
		}
		if back, err := store.ParseQuota(got); err != nil || back != n {
			t.Errorf("ParseQuota(%q) = %d, %v; want %d", got, back, err, n)
		}
	}
}
