package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Reputation lists: other ISPs' dynamic (end-user) ranges, imported from
// their published feeds (`mailgate reputation import`), whose direct-to-MX
// mail the MX refuses (IP25B, the receiving side of OP25B). Each list is
// replaced whole at every import: a feed is a snapshot.

func init() {
	register(migration{Version: 400, Name: "reputation lists", SQL: `
CREATE TABLE reputation_lists (
	name TEXT PRIMARY KEY,
	source TEXT NOT NULL,
	serial BIGINT NOT NULL,
	imported_at BIGINT NOT NULL
);
CREATE TABLE reputation_prefixes (
	list TEXT NOT NULL REFERENCES reputation_lists(name),
	prefix TEXT NOT NULL,
	PRIMARY KEY (list, prefix)
);
`})
}

// ReputationList is one imported feed.
type ReputationList struct {
	Name     string
	Source   string // the file or URL it was imported from
	Prefixes int
	Imported time.Time
}

// ReputationPrefix is one prefix of a list.
type ReputationPrefix struct {
	List   string
	Prefix netip.Prefix
}

// CheckListName refuses names that cannot be told apart on a command line
// or in a log line: 1-64 letters, digits, '.', '-' or '_'.
func CheckListName(name string) error {
	ok := name != "" && len(name) <= 64
	for _, r := range name {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_", r))
	}
	if !ok {
		return fmt.Errorf("list name %q: %w: 1-64 letters, digits, '.', '-' or '_'", name, ErrInvalid)
	}
	return nil
}

// ReplaceReputationList makes list hold exactly prefixes (creating it),
// in one transaction, audited with source. It returns how many prefixes
// the list now holds.
func (s *Store) ReplaceReputationList(ctx context.Context, actor, list, source string, prefixes []netip.Prefix) (int, error) {
	if err := CheckListName(list); err != nil {
		return 0, err
	}
	uniq := make(map[netip.Prefix]bool, len(prefixes))
	rows := make([][]any, 0, len(prefixes))
	for _, p := range prefixes {
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return 0, fmt.Errorf("list %s: prefix %s: %w: want masked, unmapped prefixes (ParsePrefix)", list, p, ErrInvalid)
		}
		if !uniq[p] {
			uniq[p] = true
			rows = append(rows, []any{list, p.String()})
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var serial int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(serial), 0) FROM reputation_lists`).Scan(&serial); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM reputation_prefixes WHERE list = ?`), list); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM reputation_lists WHERE name = ?`), list); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO reputation_lists (name, source, serial, imported_at) VALUES (?, ?, ?, ?)`),
			list, source, serial+1, s.now().Unix()); err != nil {
			return err
		}
		if err := s.insertBatches(ctx, tx, `INSERT INTO reputation_prefixes (list, prefix) VALUES `, 2, rows); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "reputation.import", list, fmt.Sprintf("%d prefixes from %s", len(rows), source))
	})
	return len(rows), err
}

// ReputationLists lists the imported lists with their prefix counts.
func (s *Store) ReputationLists(ctx context.Context) ([]ReputationList, error) {
	return queryList(ctx, s, func(rows *sql.Rows) (ReputationList, error) {
		var l ReputationList
		var at int64
		err := rows.Scan(&l.Name, &l.Source, &at, &l.Prefixes)
		l.Imported = time.Unix(at, 0)
		return l, err
	}, `SELECT l.name, l.source, l.imported_at, (SELECT COUNT(*) FROM reputation_prefixes p WHERE p.list = l.name) FROM reputation_lists l ORDER BY l.name`)
}

// ReputationPrefixes returns every prefix of every list, in no order.
func (s *Store) ReputationPrefixes(ctx context.Context) ([]ReputationPrefix, error) {
	rows, err := s.query(ctx, `SELECT list, prefix FROM reputation_prefixes`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ReputationPrefix
	names := map[string]string{} // one string per list name, not per row
	var list, pfx string
	for rows.Next() {
		if err := rows.Scan(&list, &pfx); err != nil {
			return nil, err
		}
		name, ok := names[list]
		if !ok {
			name, names[list] = list, list
		}
		p, err := netip.ParsePrefix(pfx)
		if err != nil {
			return nil, fmt.Errorf("stored prefix %q of list %s: %w", pfx, list, err)
		}
		out = append(out, ReputationPrefix{List: name, Prefix: p})
	}
	return out, rows.Err()
}

// RemoveReputationList removes a list and its prefixes.
func (s *Store) RemoveReputationList(ctx context.Context, actor, list string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM reputation_prefixes WHERE list = ?`), list); err != nil {
			return err
		}
		if err := s.execFoundTx(ctx, tx, "reputation list "+list, `DELETE FROM reputation_lists WHERE name = ?`, list); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "reputation.remove", list, "")
	})
}

// ReputationVersion changes whenever a list is imported or removed, so a
// node polls one cheap query instead of reloading every prefix.
func (s *Store) ReputationVersion(ctx context.Context) (string, error) {
	var n, serial int64
	err := s.queryRow(ctx, `SELECT COUNT(*), COALESCE(MAX(serial), 0) FROM reputation_lists`).Scan(&n, &serial)
	return fmt.Sprintf("%d.%d", n, serial), err
}
