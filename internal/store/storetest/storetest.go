// Package storetest opens fresh stores for tests: a SQLite file in a
// temporary directory, and a new database on the PostgreSQL server named by
// MAILGATE_TEST_POSTGRES (a postgres:// URL with rights to CREATE DATABASE).
// `make test` starts that server; without it the PostgreSQL half is skipped
// with a message.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"mailgate/internal/store"
)

var seq atomic.Int64

// dsns maps each store opened here to its database, for FailAuditWrites.
var dsns sync.Map // *store.Store -> string

// EachBackend runs fn once per database as a subtest: "sqlite" and "postgres".
func EachBackend(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite opens a store on a new SQLite file.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "mailgate.db"))
}

func open(t testing.TB, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	dsns.Store(s, dsn)
	t.Cleanup(func() {
		s.Close()
		dsns.Delete(s)
	})
	return s
}

// PostgresDSN creates a fresh database and returns its URL, or skips.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("MAILGATE_TEST_POSTGRES")
	if admin == "" {
		t.Skip("MAILGATE_TEST_POSTGRES not set: PostgreSQL half skipped (make test starts a server and sets it)")
	}
	name := fmt.Sprintf("mg_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, seq.Add(1))
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Postgres opens a store on a fresh PostgreSQL database, or skips.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	return open(t, PostgresDSN(t))
}

// FailAuditWrites makes every later insert into the audit table of s (a
// store opened here) fail, by a trigger on either database: a test of a
// change then sees whether the change commits without its audit row.
func FailAuditWrites(t testing.TB, s *store.Store) {
	t.Helper()
	dsn, ok := dsns.Load(s)
	if !ok {
		t.Fatal("storetest: FailAuditWrites needs a store opened by storetest")
	}
	stmts := []string{`CREATE TRIGGER storetest_fail_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit write refused by the test'); END`}
	driver, conn := "sqlite", "file:"+dsn.(string)+"?_pragma=busy_timeout(10000)"
	if store.IsPostgres(dsn.(string)) {
		stmts = []string{
			`CREATE FUNCTION storetest_fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit write refused by the test'; END $$`,
			`CREATE TRIGGER storetest_fail_audit BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION storetest_fail_audit()`,
		}
		driver, conn = "pgx", dsn.(string)
	}
	db, err := sql.Open(driver, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("storetest: making audit writes fail: %v", err)
		}
	}
}

// Host adds domains to s as hosted ones, audited as "test domain.add
// DOMAIN ": what an account, an alias or a DKIM key needs first.
func Host(t testing.TB, s *store.Store, domains ...string) {
	t.Helper()
	if _, err := s.AddDomains(context.Background(), "test", domains); err != nil {
		t.Fatal(err)
	}
}
