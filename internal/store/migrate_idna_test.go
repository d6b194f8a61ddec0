package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// A store written before domains were kept as A-labels holds
// "ünïcödé.test" with its accounts and aliases; after the upgrade's
// migration they are under "xn--ncd-dma1a7bzb.test" and lookups in either
// form find them. A domain stored in both forms (two domains then) is
// left alone.
func TestMigrationMakesStoredDomainsALabels(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testMigrationALabels(t, filepath.Join(t.TempDir(), "m.db")) })
	t.Run("postgres", func(t *testing.T) { testMigrationALabels(t, storetest.PostgresDSN(t)) })
}

func testMigrationALabels(t *testing.T, dsn string) {
	ctx := context.Background()
	s, err := store.Open(ctx, dsn)
	must(t, err)
	db := s.DB()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO domains (name, created_at) VALUES (?, 1), (?, 2), (?, 3)`, []any{"ünïcödé.test", "bücher.example", "xn--bcher-kva.example"}},
		{`INSERT INTO accounts (address, domain, password_hash, status, created_at) VALUES (?, ?, 'h1', 'suspended', 4), (?, ?, 'h2', 'active', 5)`,
			[]any{"jörg@ünïcödé.test", "ünïcödé.test", "leser@bücher.example", "bücher.example"}},
		{`INSERT INTO aliases (address, domain, account, created_at) VALUES (?, ?, ?, 6)`, []any{"info@ünïcödé.test", "ünïcödé.test", "jörg@ünïcödé.test"}},
		// What later migrations keep about an account goes with it.
		{`UPDATE accounts SET spam_action = 'junk', spam_threshold = 7.5 WHERE address = ?`, []any{"jörg@ünïcödé.test"}},
		{`INSERT INTO account_limits (account, recipients_per_day, messages_per_day) VALUES (?, 42, NULL)`, []any{"jörg@ünïcödé.test"}},
		{`INSERT INTO subscriber_accounts (username, account) VALUES ('line-7', ?)`, []any{"jörg@ünïcödé.test"}},
		{`DELETE FROM schema_migrations WHERE version = 2`, nil},
	} {
		if _, err := db.ExecContext(ctx, s.Q(q.sql), q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	s.Close()

	s, err = store.Open(ctx, dsn)
	must(t, err)
	defer s.Close()
	ds, err := s.Domains(ctx)
	if err != nil || len(ds) != 3 || ds[0].Name != "bücher.example" || ds[0].Accounts != 1 || ds[1].Name != "xn--bcher-kva.example" || ds[2].Name != "xn--ncd-dma1a7bzb.test" || ds[2].Accounts != 1 {
		t.Fatalf("Domains after migration = %+v, %v", ds, err)
	}
	a, err := s.Account(ctx, "jörg@ünïcödé.test")
	if err != nil || a.Address != "jörg@xn--ncd-dma1a7bzb.test" || a.PasswordHash != "h1" || a.Status != store.StatusSuspended || a.Created.Unix() != 4 {
		t.Fatalf("Account after migration = %+v, %v", a, err)
	}
	if got, err := s.Resolve(ctx, "info@xn--ncd-dma1a7bzb.test"); err != nil || got != "jörg@xn--ncd-dma1a7bzb.test" {
		t.Fatalf("alias after migration resolves to %q, %v", got, err)
	}
	if sp, err := s.AccountSpam(ctx, "jörg@ünïcödé.test"); err != nil || sp.Action != "junk" || sp.Threshold != 7.5 {
		t.Fatalf("spam settings after migration = %+v, %v", sp, err)
	}
	if o, err := s.LimitOverride(ctx, "jörg@xn--ncd-dma1a7bzb.test"); err != nil || o.RecipientsPerDay == nil || *o.RecipientsPerDay != 42 {
		t.Fatalf("send limits after migration = %+v, %v", o, err)
	}
	var linked string
	if err := s.DB().QueryRowContext(ctx, s.Q(`SELECT account FROM subscriber_accounts WHERE username = 'line-7'`)).Scan(&linked); err != nil || linked != "jörg@xn--ncd-dma1a7bzb.test" {
		t.Fatalf("subscriber link after migration = %q, %v", linked, err)
	}
}
