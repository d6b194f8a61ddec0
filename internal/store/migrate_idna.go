package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"mailgate/internal/address"
)

func init() {
	register(migration{Version: 2, Name: "domains as A-labels", Go: canonicalDomains})
}

// canonicalDomains rewrites domains stored before they were kept as
// A-labels (issue 15 §2): "bücher.example" becomes "xn--bcher-kva.example"
// with its accounts and aliases, so lookups, which canonicalize, find them.
// Audit entries keep the names they were written with. A domain whose
// A-label form is stored too is two domains in the old data; merging them
// could join two accounts, so the U-label one is left as it is, listed by
// `domain list`, for the operator to resolve in the database.
func canonicalDomains(ctx context.Context, s *Store, tx *sql.Tx) error {
	names, err := scanColumn(tx.QueryContext(ctx, `SELECT name FROM domains`))
	if err != nil {
		return err
	}
	stored := map[string]bool{}
	for _, n := range names {
		stored[n] = true
	}
	for _, old := range names {
		canon, err := address.CanonicalDomain(old)
		if err != nil || canon == old || stored[canon] {
			continue
		}
		if err := s.renameDomainTx(ctx, tx, old, canon); err != nil {
			return fmt.Errorf("domain %s -> %s: %w", old, canon, err)
		}
		stored[canon] = true
	}
	return nil
}

// accountRefs are the columns holding an account's address outside the
// accounts table, as of this migration: tables made by later migrations
// are created after it runs, empty.
var accountRefs = []struct{ table, column string }{
	{"aliases", "account"},
	{"account_limits", "account"},
	{"send_usage", "account"},
	{"subscriber_accounts", "account"},
	{"abuse_notices", "account"},
}

// renameDomainTx moves a domain and its accounts and aliases to a new
// name. Account rows are copied whole (whatever columns later migrations
// added), the rows naming them pointed at the copy, and the old rows
// deleted: the foreign keys do not cascade updates.
func (s *Store) renameDomainTx(ctx context.Context, tx *sql.Tx, old, canon string) error {
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, s.q(q), args...)
		return err
	}
	if err := exec(`INSERT INTO domains (name, created_at) SELECT ?, created_at FROM domains WHERE name = ?`, canon, old); err != nil {
		return err
	}
	cols, err := tableColumns(ctx, tx, "accounts")
	if err != nil {
		return err
	}
	var refs []string
	for _, r := range accountRefs {
		ok, err := s.tableExists(ctx, tx, r.table)
		if err != nil {
			return err
		}
		if ok {
			refs = append(refs, `UPDATE `+r.table+` SET `+r.column+` = ? WHERE `+r.column+` = ?`)
		}
	}
	accts, err := scanColumn(tx.QueryContext(ctx, s.q(`SELECT address FROM accounts WHERE domain = ?`), old))
	if err != nil {
		return err
	}
	for _, a := range accts {
		na := a[:strings.LastIndexByte(a, '@')+1] + canon
		sel := make([]string, len(cols))
		for i, c := range cols {
			switch c {
			case "address", "domain":
				sel[i] = "?"
			default:
				sel[i] = c
			}
		}
		var args []any
		for _, c := range cols {
			switch c {
			case "address":
				args = append(args, na)
			case "domain":
				args = append(args, canon)
			}
		}
		args = append(args, a)
		if err := exec(`INSERT INTO accounts (`+strings.Join(cols, ", ")+`) SELECT `+strings.Join(sel, ", ")+` FROM accounts WHERE address = ?`, args...); err != nil {
			return err
		}
		for _, q := range refs {
			if err := exec(q, na, a); err != nil {
				return err
			}
		}
		if err := exec(`DELETE FROM accounts WHERE address = ?`, a); err != nil {
			return err
		}
	}
	aliases, err := scanColumn(tx.QueryContext(ctx, s.q(`SELECT address FROM aliases WHERE domain = ?`), old))
	if err != nil {
		return err
	}
	for _, a := range aliases {
		na := a[:strings.LastIndexByte(a, '@')+1] + canon
		if err := exec(`UPDATE aliases SET address = ?, domain = ? WHERE address = ?`, na, canon, a); err != nil {
			return err
		}
	}
	return exec(`DELETE FROM domains WHERE name = ?`, old)
}

// tableColumns lists a table's columns in order.
func tableColumns(ctx context.Context, tx *sql.Tx, table string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+table+` WHERE 1 = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// tableExists reports whether a table has been created.
func (s *Store) tableExists(ctx context.Context, tx *sql.Tx, table string) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if s.dialect == Postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int
	err := tx.QueryRowContext(ctx, s.q(q), table).Scan(&n)
	return n > 0, err
}

// scanColumn reads a one-column string query, closing rows.
func scanColumn(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
