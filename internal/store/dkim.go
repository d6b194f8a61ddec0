package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DKIM signing keys live in the store so every node of a fleet signs a
// domain's mail with the same key (issue 16: fleet-wide state lives in the
// database). A key row is never changed after it is written, only which
// selector is active; the partial unique index keeps one active key per
// domain on both databases.
func init() {
	register(migration{Version: 702, Name: "dkim keys", SQL: `
CREATE TABLE dkim_keys (
	domain TEXT NOT NULL,
	selector TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	private_pem TEXT NOT NULL,
	active INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (domain, selector)
);
CREATE UNIQUE INDEX dkim_keys_one_active ON dkim_keys(domain) WHERE active = 1;
`})
}

// AddDKIMKey stores a new key made by actor and audits it (dkim.keygen,
// "selector algorithm") in the same transaction, so no key lands without
// its audit row. It becomes the domain's active key when activate is set
// or the domain has no active key yet. added is false (and nothing
// changes, nothing is audited) when the domain already has a key under
// selector. A domain we do not host is ErrNotFound, as for an account or
// an alias: its key would sign nothing, since no account can send from
// it. The arguments are plain strings so that package dkim can use the
// store through an interface without importing it.
func (s *Store) AddDKIMKey(ctx context.Context, actor, domain, selector, algorithm, privatePEM string, created time.Time, activate bool) (added bool, err error) {
	return s.addDKIMKey(ctx, actor, "dkim.keygen", domain, selector, algorithm, privatePEM, selector+" "+algorithm, created, activate, true)
}

// ImportDKIMKey is AddDKIMKey for a key made by an older version in the
// legacy key directory, file being where it was read: audited as
// dkim.import ("selector algorithm from file"), never activated over the
// domain's active key. It is copied whether or not we still host the
// domain: the copy keeps what the directory held.
func (s *Store) ImportDKIMKey(ctx context.Context, actor, domain, selector, algorithm, privatePEM, file string, created time.Time) (added bool, err error) {
	return s.addDKIMKey(ctx, actor, "dkim.import", domain, selector, algorithm, privatePEM, selector+" "+algorithm+" from "+file, created, false, false)
}

func (s *Store) addDKIMKey(ctx context.Context, actor, action, domain, selector, algorithm, privatePEM, detail string, created time.Time, activate, hostedOnly bool) (added bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if hostedOnly {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM domains WHERE name = ?`), domain).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return unhostedDomain(domain)
			}
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO dkim_keys (domain, selector, algorithm, private_pem, active, created_at)
VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (domain, selector) DO NOTHING`), domain, selector, algorithm, privatePEM, created.Unix())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		added = true
		if err := s.auditTx(ctx, tx, actor, action, domain, detail); err != nil {
			return err
		}
		if !activate {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM dkim_keys WHERE domain = ? AND active = 1`), domain).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
		}
		return s.activateDKIMTx(ctx, tx, domain, selector)
	})
	if err != nil {
		return false, err
	}
	return added, nil
}

func (s *Store) activateDKIMTx(ctx context.Context, tx *sql.Tx, domain, selector string) error {
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE dkim_keys SET active = 0 WHERE domain = ? AND active = 1 AND selector <> ?`), domain, selector); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, s.q(`UPDATE dkim_keys SET active = 1 WHERE domain = ? AND selector = ?`), domain, selector)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("dkim key %s of %s: %w", selector, domain, ErrNotFound)
	}
	return nil
}

// ActivateDKIMKey makes selector the key domain signs with, audited
// (dkim.activate) under actor in the same transaction.
func (s *Store) ActivateDKIMKey(ctx context.Context, actor, domain, selector string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.activateDKIMTx(ctx, tx, domain, selector); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "dkim.activate", domain, selector)
	})
}

// DKIMKeyPEM returns the private key of domain's selector, or "" when
// there is none.
func (s *Store) DKIMKeyPEM(ctx context.Context, domain, selector string) (string, error) {
	var p string
	err := s.queryRow(ctx, `SELECT private_pem FROM dkim_keys WHERE domain = ? AND selector = ?`, domain, selector).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return p, err
}

// ActiveDKIMKey returns the selector and private key domain signs with, or
// "" and "" when it has no active key. It runs once per outbound message.
func (s *Store) ActiveDKIMKey(ctx context.Context, domain string) (selector, privatePEM string, err error) {
	err = s.queryRow(ctx, `SELECT selector, private_pem FROM dkim_keys WHERE domain = ? AND active = 1`, domain).Scan(&selector, &privatePEM)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return selector, privatePEM, err
}

// DKIMDomains maps each domain with keys to its active selector ("" when
// none is active).
func (s *Store) DKIMDomains(ctx context.Context) (map[string]string, error) {
	rows, err := s.query(ctx, `SELECT domain, selector, active FROM dkim_keys`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var dom, sel string
		var active int64
		if err := rows.Scan(&dom, &sel, &active); err != nil {
			return nil, err
		}
		if active == 1 {
			out[dom] = sel
		} else if _, ok := out[dom]; !ok {
			out[dom] = ""
		}
	}
	return out, rows.Err()
}

// EachDKIMKey calls fn for each key of domain, oldest first, without the
// private key.
func (s *Store) EachDKIMKey(ctx context.Context, domain string, fn func(selector, algorithm string, active bool, created time.Time)) error {
	rows, err := s.query(ctx, `SELECT selector, algorithm, active, created_at FROM dkim_keys WHERE domain = ? ORDER BY created_at, selector`, domain)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sel, algo string
		var active, created int64
		if err := rows.Scan(&sel, &algo, &active, &created); err != nil {
			return err
		}
		fn(sel, algo, active == 1, time.Unix(created, 0))
	}
	return rows.Err()
}

// RetireDKIMKey deletes domain's key under selector unless it is the
// active one (ErrInUse): mail must never go out unsigned because of it.
// It is audited (dkim.retire) under actor in the same transaction.
func (s *Store) RetireDKIMKey(ctx context.Context, actor, domain, selector string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var active int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT active FROM dkim_keys WHERE domain = ? AND selector = ?`), domain, selector).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("dkim key %s of %s: %w", selector, domain, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if active == 1 {
			return fmt.Errorf("dkim key %s of %s: %w: it is the active key; activate another first", selector, domain, ErrInUse)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM dkim_keys WHERE domain = ? AND selector = ? AND active = 0`), domain, selector); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "dkim.retire", domain, selector)
	})
}
