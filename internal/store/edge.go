package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"
)

// The OP25B edge policy: subscriber pools (this file), exemptions, relays,
// carrier sets, the scope schedule and the action (edge_policy.go). The
// edge package compiles a snapshot of these into a decision table and an
// nftables ruleset; the store only keeps them valid and audited.

func init() {
	register(migration{Version: 100, Name: "edge policy", SQL: `
CREATE TABLE edge_pools (
	name TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE TABLE edge_pool_prefixes (
	prefix TEXT PRIMARY KEY,
	pool TEXT NOT NULL REFERENCES edge_pools(name),
	added_at BIGINT NOT NULL
);
CREATE INDEX edge_pool_prefixes_pool ON edge_pool_prefixes(pool);
CREATE TABLE edge_exemptions (
	prefix TEXT PRIMARY KEY,
	reason TEXT NOT NULL,
	until_at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE TABLE edge_relays (
	prefix TEXT PRIMARY KEY,
	created_at BIGINT NOT NULL
);
CREATE TABLE edge_carriers (
	name TEXT NOT NULL,
	entry TEXT NOT NULL,
	kind TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (name, entry)
);
CREATE TABLE edge_schedule (
	from_at BIGINT PRIMARY KEY,
	scope TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE TABLE edge_settings (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);
`})
}

// Pool kinds: a dynamic pool's sources are OP25B-filtered; a static pool
// (fixed-IP plans) is not, and a static prefix inside a dynamic one
// exempts it by longest-prefix match.
const (
	PoolDynamic = "dynamic"
	PoolStatic  = "static"
)

// Pool is a named set of subscriber prefixes of one kind.
type Pool struct {
	Name     string
	Kind     string
	Prefixes int
	Updated  time.Time
}

// PoolPrefix is one prefix of a pool.
type PoolPrefix struct {
	Pool   string
	Kind   string
	Prefix netip.Prefix
	Added  time.Time
}

// PoolRow is one line of a bulk import: pool, kind, prefix.
type PoolRow struct {
	Pool   string
	Kind   string
	Prefix string
}

// ParsePrefix accepts a prefix or a bare address (a /32 or /128): the one
// rule for every prefix of the edge policy (pools, exemptions, relays,
// carriers). A prefix with host bits set (10.1.2.3/8) is refused rather
// than masked: it is a typo for either the address or the network, and
// guessing the network could exempt or filter 16 million addresses
// where one was meant (issue 15 §4).
func ParsePrefix(s string) (netip.Prefix, error) { return parsePrefix(s, false) }

// ParsePrefixMasked is ParsePrefix for prefixes from another party's data
// (another ISP's feed), which the operator cannot correct: host bits are
// masked off, so 10.1.2.3/8 reads as 10.0.0.0/8, the network it names.
func ParsePrefixMasked(s string) (netip.Prefix, error) { return parsePrefix(s, true) }

func parsePrefix(s string, mask bool) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("prefix %q: %w: want an address or ADDR/BITS", s, ErrInvalid)
		}
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("prefix %q: %w: zones are not allowed", s, ErrInvalid)
		}
		a := p.Addr()
		if a.Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("prefix %q: %w: a v4-mapped prefix needs at least 96 bits", s, ErrInvalid)
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		if m := p.Masked(); m != p && !mask {
			return netip.Prefix{}, fmt.Errorf("prefix %q: %w: host bits set; write the network %s, or the address %s alone", s, ErrInvalid, m, p.Addr())
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("address %q: %w: want an address or ADDR/BITS", s, ErrInvalid)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// CheckPoolName refuses names that would not survive a trip through the
// pool file (`pool export`, then `pool import`): commas and quotes split or
// end fields, and a line beginning with # is a comment there. Invisible
// characters (a byte-order mark, controls) would make two names that look
// the same.
func CheckPoolName(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\r\n,\"'") || name[0] == '#' ||
		strings.IndexFunc(name, func(r rune) bool { return !unicode.IsGraphic(r) }) >= 0 {
		return fmt.Errorf("pool name %q: %w: 1-64 visible characters without spaces, commas or quotes, not starting with #", name, ErrInvalid)
	}
	return nil
}

func checkKind(kind string) error {
	if kind != PoolDynamic && kind != PoolStatic {
		return fmt.Errorf("pool kind %q: %w: want dynamic or static", kind, ErrInvalid)
	}
	return nil
}

// AddPoolPrefixes adds prefixes to pool, creating it with kind when new.
// It returns how many prefixes were new. A prefix already in another pool
// is an error: every prefix belongs to one pool, so LPM is unambiguous.
func (s *Store) AddPoolPrefixes(ctx context.Context, actor, pool, kind string, prefixes []string) (int, error) {
	rows := make([]PoolRow, len(prefixes))
	for i, p := range prefixes {
		rows[i] = PoolRow{Pool: pool, Kind: kind, Prefix: p}
	}
	return s.ImportPools(ctx, actor, rows, false)
}

// CheckPoolRows validates rows as an import takes them (names, kinds,
// prefixes; one kind per pool and one pool per prefix among the rows) and
// returns their prefixes in order, repeats dropped. `edge impact` reads a
// what-if pool file with it.
func CheckPoolRows(rows []PoolRow) ([]PoolPrefix, error) {
	kinds := map[string]string{}
	byPrefix := map[netip.Prefix]string{}
	var out []PoolPrefix
	for i, r := range rows {
		if err := CheckPoolName(r.Pool); err != nil {
			return nil, fmt.Errorf("row %d: %w", i+1, err)
		}
		if err := checkKind(r.Kind); err != nil {
			return nil, fmt.Errorf("row %d: %w", i+1, err)
		}
		if k, ok := kinds[r.Pool]; ok && k != r.Kind {
			return nil, fmt.Errorf("row %d: pool %s is given as both %s and %s: %w", i+1, r.Pool, k, r.Kind, ErrInvalid)
		}
		kinds[r.Pool] = r.Kind
		p, err := ParsePrefix(r.Prefix)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i+1, err)
		}
		if other, ok := byPrefix[p]; ok {
			if other != r.Pool {
				return nil, fmt.Errorf("row %d: prefix %s is given for both pool %s and %s: %w", i+1, p, other, r.Pool, ErrInvalid)
			}
			continue
		}
		byPrefix[p] = r.Pool
		out = append(out, PoolPrefix{Pool: r.Pool, Kind: r.Kind, Prefix: p})
	}
	return out, nil
}

// ImportPools adds rows in one transaction (all or nothing). With replace,
// each pool named in rows ends up holding exactly the rows' prefixes.
func (s *Store) ImportPools(ctx context.Context, actor string, rows []PoolRow, replace bool) (int, error) {
	order, err := CheckPoolRows(rows)
	if err != nil {
		return 0, err
	}
	kinds := map[string]string{}
	byPrefix := map[netip.Prefix]string{}
	for _, w := range order {
		kinds[w.Pool] = w.Kind
		byPrefix[w.Prefix] = w.Pool
	}
	added := 0
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		existing, err := s.poolKindsTx(ctx, tx)
		if err != nil {
			return err
		}
		for name, kind := range kinds {
			if k, ok := existing[name]; ok {
				if k != kind {
					return fmt.Errorf("pool %s is %s, not %s: %w; remove it first to change its kind", name, k, kind, ErrInvalid)
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO edge_pools (name, kind, created_at, updated_at) VALUES (?, ?, ?, ?)`), name, kind, now, now); err != nil {
				return err
			}
		}
		owner, err := s.prefixOwnersTx(ctx, tx)
		if err != nil {
			return err
		}
		var fresh [][]any
		for _, w := range order {
			if o, ok := owner[w.Prefix.String()]; ok {
				if o != w.Pool {
					return fmt.Errorf("prefix %s already belongs to pool %s: %w; remove it there first", w.Prefix, o, ErrExists)
				}
				continue
			}
			fresh = append(fresh, []any{w.Prefix.String(), w.Pool, now})
		}
		if replace {
			for pfx, o := range owner {
				p, _ := netip.ParsePrefix(pfx)
				if _, named := kinds[o]; named && byPrefix[p] != o {
					if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM edge_pool_prefixes WHERE prefix = ?`), pfx); err != nil {
						return err
					}
				}
			}
		}
		if err := s.insertBatches(ctx, tx, `INSERT INTO edge_pool_prefixes (prefix, pool, added_at) VALUES `, 3, fresh); err != nil {
			return err
		}
		added = len(fresh)
		for name := range kinds {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE edge_pools SET updated_at = ? WHERE name = ?`), now, name); err != nil {
				return err
			}
			detail := fmt.Sprintf("%s, %d rows", kinds[name], len(rows))
			if replace {
				detail += ", replace"
			}
			if err := s.auditTx(ctx, tx, actor, "pool.import", name, detail); err != nil {
				return err
			}
		}
		return s.bumpEdgeTx(ctx, tx)
	})
	return added, err
}

// insertBatches inserts rows of n columns, many rows per statement, so a
// 100k-prefix import is a few hundred round trips, not 100k.
func (s *Store) insertBatches(ctx context.Context, tx *sql.Tx, head string, n int, rows [][]any) error {
	const per = 300
	for len(rows) > 0 {
		k := min(per, len(rows))
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, k*n)
		for i := 0; i < k; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")")
			args = append(args, rows[i]...)
		}
		if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
			return err
		}
		rows = rows[k:]
	}
	return nil
}

// poolKindsTx maps each pool name to its kind.
func (s *Store) poolKindsTx(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	return scanPairs(tx.QueryContext(ctx, `SELECT name, kind FROM edge_pools`))
}

// prefixOwnersTx maps each pool prefix to the pool holding it.
func (s *Store) prefixOwnersTx(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	return scanPairs(tx.QueryContext(ctx, `SELECT prefix, pool FROM edge_pool_prefixes`))
}

// scanPairs reads a two-column string query into a map, closing rows.
func scanPairs(rows *sql.Rows, err error) (map[string]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// Pools lists pools with their prefix counts.
func (s *Store) Pools(ctx context.Context) ([]Pool, error) {
	return queryList(ctx, s, func(rows *sql.Rows) (Pool, error) {
		var p Pool
		var upd int64
		err := rows.Scan(&p.Name, &p.Kind, &upd, &p.Prefixes)
		p.Updated = time.Unix(upd, 0)
		return p, err
	}, `SELECT p.name, p.kind, p.updated_at, (SELECT COUNT(*) FROM edge_pool_prefixes x WHERE x.pool = p.name) FROM edge_pools p ORDER BY p.name`)
}

// PoolPrefixes lists the prefixes of one pool, or of all when pool is "".
func (s *Store) PoolPrefixes(ctx context.Context, pool string) ([]PoolPrefix, error) {
	rows, err := s.query(ctx, `SELECT x.pool, p.kind, x.prefix, x.added_at FROM edge_pool_prefixes x JOIN edge_pools p ON p.name = x.pool WHERE ? = '' OR x.pool = ? ORDER BY x.pool, x.prefix`, pool, pool)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PoolPrefix
	for rows.Next() {
		var p PoolPrefix
		var pfx string
		var added int64
		if err := rows.Scan(&p.Pool, &p.Kind, &pfx, &added); err != nil {
			return nil, err
		}
		if p.Prefix, err = netip.ParsePrefix(pfx); err != nil {
			return nil, fmt.Errorf("stored prefix %q of pool %s: %w", pfx, p.Pool, err)
		}
		p.Added = time.Unix(added, 0)
		out = append(out, p)
	}
	return out, rows.Err()
}

// RemovePool removes a pool, or with prefixes only those prefixes of it.
func (s *Store) RemovePool(ctx context.Context, actor, pool string, prefixes []string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if len(prefixes) == 0 {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM edge_pool_prefixes WHERE pool = ?`), pool); err != nil {
				return err
			}
			if err := s.execFoundTx(ctx, tx, "pool "+pool, `DELETE FROM edge_pools WHERE name = ?`, pool); err != nil {
				return err
			}
			if err := s.auditTx(ctx, tx, actor, "pool.remove", pool, ""); err != nil {
				return err
			}
			return s.bumpEdgeTx(ctx, tx)
		}
		for _, raw := range prefixes {
			p, err := ParsePrefix(raw)
			if err != nil {
				return err
			}
			if err := s.execFoundTx(ctx, tx, fmt.Sprintf("prefix %s in pool %s", p, pool), `DELETE FROM edge_pool_prefixes WHERE pool = ? AND prefix = ?`, pool, p.String()); err != nil {
				return err
			}
			if err := s.auditTx(ctx, tx, actor, "pool.remove-prefix", pool, p.String()); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE edge_pools SET updated_at = ? WHERE name = ?`), s.now().Unix(), pool); err != nil {
			return err
		}
		return s.bumpEdgeTx(ctx, tx)
	})
}

// EdgeVersion changes whenever the edge policy changes, so `mailgate edge
// run` can poll one row instead of reloading every prefix.
func (s *Store) EdgeVersion(ctx context.Context) (int64, error) {
	var v string
	err := s.queryRow(ctx, `SELECT value FROM edge_settings WHERE name = 'version'`).Scan(&v)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n int64
	fmt.Sscan(v, &n)
	return n, nil
}

func (s *Store) bumpEdgeTx(ctx context.Context, tx *sql.Tx) error {
	var v string
	err := tx.QueryRowContext(ctx, `SELECT value FROM edge_settings WHERE name = 'version'`).Scan(&v)
	var n int64
	switch {
	case err == sql.ErrNoRows:
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO edge_settings (name, value, updated_at) VALUES ('version', '1', ?)`), s.now().Unix())
		return err
	case err != nil:
		return err
	}
	fmt.Sscan(v, &n)
	_, err = tx.ExecContext(ctx, s.q(`UPDATE edge_settings SET value = ?, updated_at = ? WHERE name = 'version'`), fmt.Sprint(n+1), s.now().Unix())
	return err
}
