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

// renameDomainTx moves a domain and its accounts and aliases to a new
// name. Rows are copied and the old ones deleted, children first, since
// the foreign keys do not cascade.
func (s *Store) renameDomainTx(ctx context.Context, tx *sql.Tx, old, canon string) error {
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, s.q(q), args...)
		return err
	}
	if err := exec(`INSERT INTO domains (name, created_at) SELECT ?, created_at FROM domains WHERE name = ?`, canon, old); err != nil {
		return err
	}
	accts, err := scanColumn(tx.QueryContext(ctx, s.q(`SELECT address FROM accounts WHERE domain = ?`), old))
	if err != nil {
		return err
	}
	for _, a := range accts {
		na := a[:strings.LastIndexByte(a, '@')+1] + canon
		if err := exec(`INSERT INTO accounts (address, domain, password_hash, status, created_at) SELECT ?, ?, password_hash, status, created_at FROM accounts WHERE address = ?`, na, canon, a); err != nil {
			return err
		}
		if err := exec(`UPDATE aliases SET account = ? WHERE account = ?`, na, a); err != nil {
			return err
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
