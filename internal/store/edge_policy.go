package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Exemption lets one address or prefix send on port 25 although it lies in
// a dynamic pool (say a customer moved to a fixed-IP plan). Until zero
// means it never expires.
type Exemption struct {
	Prefix  netip.Prefix
	Reason  string
	Until   time.Time
	Actor   string
	Created time.Time
}

// Relay is one of our MX/MSA hosts (or a prefix of them): port 25 to it is
// always allowed.
type Relay struct {
	Prefix  netip.Prefix
	Created time.Time
}

// Carrier entry kinds: a prefix, or a mail domain whose MX hosts the edge
// resolves and refreshes.
const (
	CarrierPrefix = "prefix"
	CarrierDomain = "domain"
)

// CarrierEntry is one prefix or domain of a named carrier set (phase 1).
type CarrierEntry struct {
	Name  string
	Kind  string
	Entry string
}

// Scopes: phase 1 blocks port 25 only towards carrier sets, phase 2 all.
const (
	ScopeAll      = "all"
	ScopeCarriers = "carriers"
)

// ScopeChange makes Scope effective from From on.
type ScopeChange struct {
	From  time.Time
	Scope string
}

// Actions for a blocked connection attempt.
const (
	ActionReset = "reset" // TCP RST: the client sees "connection refused" at once
	ActionDrop  = "drop"  // silence: the client times out
	ActionICMP  = "icmp"  // ICMP administratively prohibited
)

// ExemptLimit bounds how wide an exemption may be: a prefix shorter than
// MinBits4 (IPv4) or MinBits6 (IPv6) bits is refused unless Force is set.
// One line exempting 0.0.0.0/0 turns OP25B off for every subscriber (issue
// 15 §4). A MinBits of zero or less allows a single address only.
type ExemptLimit struct {
	MinBits4, MinBits6 int
	Force              bool
}

// check refuses p when it is wider than the limit allows and not forced.
// It says whether p is wider than the limit (for the audit record).
func (l ExemptLimit) check(p netip.Prefix) (wide bool, err error) {
	bits, key := l.MinBits4, "max_exempt_prefix_v4"
	if p.Addr().Is6() {
		bits, key = l.MinBits6, "max_exempt_prefix_v6"
	}
	if bits <= 0 {
		bits = p.Addr().BitLen()
	}
	if p.Bits() >= bits {
		return false, nil
	}
	if l.Force {
		return true, nil
	}
	return true, fmt.Errorf("exemption %s: %w: wider than /%d, the widest allowed ([edge] %s); it would let every address in it send on port 25. Exempt the customer's own addresses, or give --force if the whole prefix is meant", p, ErrInvalid, bits, key)
}

// AddExemption adds (or replaces) an exemption, audited with its reason.
// A prefix wider than limit allows is refused unless limit.Force.
func (s *Store) AddExemption(ctx context.Context, actor, prefix, reason string, until time.Time, limit ExemptLimit) error {
	p, err := ParsePrefix(prefix)
	if err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return fmt.Errorf("exemption %s: %w: give a --reason (it goes to the audit log)", p, ErrInvalid)
	}
	wide, err := limit.check(p)
	if err != nil {
		return err
	}
	if !until.IsZero() && !until.After(s.now()) {
		// A typo in the year would otherwise be "exemption added"
		// and exempt nothing.
		return fmt.Errorf("exemption %s: %w: until %s is already past: it would exempt nothing (leave it out for no expiry)", p, ErrInvalid, until.UTC().Format(time.RFC3339))
	}
	var u int64
	if !until.IsZero() {
		u = until.Unix()
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM edge_exemptions WHERE prefix = ?`), p.String()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO edge_exemptions (prefix, reason, until_at, actor, created_at) VALUES (?, ?, ?, ?, ?)`),
			p.String(), reason, u, actor, s.now().Unix()); err != nil {
			return err
		}
		detail := reason
		if u != 0 {
			detail += " (until " + until.UTC().Format(time.RFC3339) + ")"
		}
		if wide {
			detail += " (forced: wider than the configured limit)"
		}
		if err := s.auditTx(ctx, tx, actor, "edge.exempt.add", p.String(), detail); err != nil {
			return err
		}
		return s.bumpEdgeTx(ctx, tx)
	})
}

// Exemptions lists every exemption, expired ones included (the edge
// ignores those; list shows them so an operator sees what lapsed).
func (s *Store) Exemptions(ctx context.Context) ([]Exemption, error) {
	rows, err := s.query(ctx, `SELECT prefix, reason, until_at, actor, created_at FROM edge_exemptions ORDER BY prefix`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Exemption
	for rows.Next() {
		var e Exemption
		var pfx string
		var until, created int64
		if err := rows.Scan(&pfx, &e.Reason, &until, &e.Actor, &created); err != nil {
			return nil, err
		}
		if e.Prefix, err = netip.ParsePrefix(pfx); err != nil {
			return nil, err
		}
		if until != 0 {
			e.Until = time.Unix(until, 0)
		}
		e.Created = time.Unix(created, 0)
		out = append(out, e)
	}
	return out, rows.Err()
}

// RemoveExemption removes one exemption.
func (s *Store) RemoveExemption(ctx context.Context, actor, prefix string) error {
	return s.removeKeyed(ctx, actor, "edge_exemptions", "edge.exempt.remove", "exemption", prefix)
}

// AddRelays adds our relay addresses or prefixes; known ones are skipped.
func (s *Store) AddRelays(ctx context.Context, actor string, prefixes []string) error {
	ps := make([]netip.Prefix, len(prefixes))
	for i, raw := range prefixes {
		p, err := ParsePrefix(raw)
		if err != nil {
			return err
		}
		ps[i] = p
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, p := range ps {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM edge_relays WHERE prefix = ?`), p.String()).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO edge_relays (prefix, created_at) VALUES (?, ?)`), p.String(), s.now().Unix()); err != nil {
				return err
			}
			if err := s.auditTx(ctx, tx, actor, "edge.relay.add", p.String(), ""); err != nil {
				return err
			}
		}
		return s.bumpEdgeTx(ctx, tx)
	})
}

// Relays lists our relays.
func (s *Store) Relays(ctx context.Context) ([]Relay, error) {
	rows, err := s.query(ctx, `SELECT prefix, created_at FROM edge_relays ORDER BY prefix`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Relay
	for rows.Next() {
		var r Relay
		var pfx string
		var created int64
		if err := rows.Scan(&pfx, &created); err != nil {
			return nil, err
		}
		if r.Prefix, err = netip.ParsePrefix(pfx); err != nil {
			return nil, err
		}
		r.Created = time.Unix(created, 0)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RemoveRelay removes one relay.
func (s *Store) RemoveRelay(ctx context.Context, actor, prefix string) error {
	return s.removeKeyed(ctx, actor, "edge_relays", "edge.relay.remove", "relay", prefix)
}

func (s *Store) removeKeyed(ctx context.Context, actor, table, action, what, prefix string) error {
	p, err := ParsePrefix(prefix)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.execFoundTx(ctx, tx, what+" "+p.String(), `DELETE FROM `+table+` WHERE prefix = ?`, p.String()); err != nil {
			return err
		}
		if err := s.auditTx(ctx, tx, actor, action, p.String(), ""); err != nil {
			return err
		}
		return s.bumpEdgeTx(ctx, tx)
	})
}

// ParseCarrierEntry tells a prefix or address from a domain name.
func ParseCarrierEntry(raw string) (kind, entry string, err error) {
	p, perr := ParsePrefix(raw)
	if perr == nil {
		return CarrierPrefix, p.String(), nil
	}
	if strings.ContainsAny(raw, "/:") { // never in a domain name: a bad prefix
		return "", "", fmt.Errorf("carrier entry: %w", perr)
	}
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(raw), "."))
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return "", "", fmt.Errorf("carrier entry %q: %w: want a prefix, an address or a mail domain", raw, ErrInvalid)
	}
	labels := strings.Split(d, ".")
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		// RFC 3696 §2: a top-level domain is never all-numeric; this is a
		// mistyped address, not a domain.
		return "", "", fmt.Errorf("carrier entry %q: %w: not a valid address, and not a domain (numeric top-level label)", raw, ErrInvalid)
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", "", fmt.Errorf("carrier entry %q: %w: bad domain label %q", raw, ErrInvalid, label)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", "", fmt.Errorf("carrier entry %q: %w: bad character %q", raw, ErrInvalid, c)
			}
		}
	}
	return CarrierDomain, d, nil
}

// AddCarrierEntries adds prefixes and/or domains to a named carrier set.
func (s *Store) AddCarrierEntries(ctx context.Context, actor, name string, entries []string) error {
	if err := CheckPoolName(name); err != nil {
		return fmt.Errorf("carrier: %w", err)
	}
	type ent struct{ kind, entry string }
	var es []ent
	for _, raw := range entries {
		k, e, err := ParseCarrierEntry(raw)
		if err != nil {
			return err
		}
		es = append(es, ent{k, e})
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, e := range es {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM edge_carriers WHERE name = ? AND entry = ?`), name, e.entry).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO edge_carriers (name, entry, kind, created_at) VALUES (?, ?, ?, ?)`), name, e.entry, e.kind, s.now().Unix()); err != nil {
				return err
			}
			if err := s.auditTx(ctx, tx, actor, "edge.carrier.add", name, e.entry); err != nil {
				return err
			}
		}
		return s.bumpEdgeTx(ctx, tx)
	})
}

// Carriers lists every carrier entry, by carrier name.
func (s *Store) Carriers(ctx context.Context) ([]CarrierEntry, error) {
	rows, err := s.query(ctx, `SELECT name, kind, entry FROM edge_carriers ORDER BY name, kind, entry`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CarrierEntry
	for rows.Next() {
		var c CarrierEntry
		if err := rows.Scan(&c.Name, &c.Kind, &c.Entry); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RemoveCarrier removes a carrier set, or only the given entries of it.
func (s *Store) RemoveCarrier(ctx context.Context, actor, name string, entries []string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if len(entries) == 0 {
			if err := s.execFoundTx(ctx, tx, "carrier "+name, `DELETE FROM edge_carriers WHERE name = ?`, name); err != nil {
				return err
			}
			if err := s.auditTx(ctx, tx, actor, "edge.carrier.remove", name, ""); err != nil {
				return err
			}
			return s.bumpEdgeTx(ctx, tx)
		}
		for _, raw := range entries {
			_, e, err := ParseCarrierEntry(raw)
			if err != nil {
				return err
			}
			if err := s.execFoundTx(ctx, tx, fmt.Sprintf("carrier %s entry %s", name, e), `DELETE FROM edge_carriers WHERE name = ? AND entry = ?`, name, e); err != nil {
				return err
			}
			if err := s.auditTx(ctx, tx, actor, "edge.carrier.remove", name, e); err != nil {
				return err
			}
		}
		return s.bumpEdgeTx(ctx, tx)
	})
}

// SetScope schedules scope from the given time on (zero: now). A change
// at the same instant replaces the earlier one.
func (s *Store) SetScope(ctx context.Context, actor, scope string, from time.Time) error {
	if scope != ScopeAll && scope != ScopeCarriers {
		return fmt.Errorf("scope %q: %w: want all or carriers", scope, ErrInvalid)
	}
	if from.IsZero() {
		from = s.now()
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// A change dated before the one in force now would never be in
		// force: "scope all --from 2020-01-01" after a later "carriers"
		// was "scope all (phase 2) from ..." and changed nothing.
		var laterAt int64
		var laterScope string
		err := tx.QueryRowContext(ctx, s.q(`SELECT from_at, scope FROM edge_schedule WHERE from_at > ? AND from_at <= ? ORDER BY from_at DESC LIMIT 1`),
			from.Unix(), s.now().Unix()).Scan(&laterAt, &laterScope)
		if err == nil {
			return fmt.Errorf("scope %s from %s: %w: the change to %s from %s is in force and later, so this one would never be; leave --from out to change the scope now",
				scope, from.UTC().Format(time.RFC3339), ErrInvalid, laterScope, time.Unix(laterAt, 0).UTC().Format(time.RFC3339))
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM edge_schedule WHERE from_at = ?`), from.Unix()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO edge_schedule (from_at, scope, created_at) VALUES (?, ?, ?)`), from.Unix(), scope, s.now().Unix()); err != nil {
			return err
		}
		if err := s.auditTx(ctx, tx, actor, "edge.scope", scope, "from "+from.UTC().Format(time.RFC3339)); err != nil {
			return err
		}
		return s.bumpEdgeTx(ctx, tx)
	})
}

// Schedule lists scope changes, oldest first.
func (s *Store) Schedule(ctx context.Context) ([]ScopeChange, error) {
	rows, err := s.query(ctx, `SELECT from_at, scope FROM edge_schedule ORDER BY from_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ScopeChange
	for rows.Next() {
		var c ScopeChange
		var from int64
		if err := rows.Scan(&from, &c.Scope); err != nil {
			return nil, err
		}
		c.From = time.Unix(from, 0)
		out = append(out, c)
	}
	return out, rows.Err()
}

// RemoveScopeChange removes the scheduled change at from.
func (s *Store) RemoveScopeChange(ctx context.Context, actor string, from time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		at := from.UTC().Format(time.RFC3339)
		if err := s.execFoundTx(ctx, tx, "scope change at "+at, `DELETE FROM edge_schedule WHERE from_at = ?`, from.Unix()); err != nil {
			return err
		}
		if err := s.auditTx(ctx, tx, actor, "edge.scope.remove", at, ""); err != nil {
			return err
		}
		return s.bumpEdgeTx(ctx, tx)
	})
}

// SetAction sets what happens to a blocked attempt.
func (s *Store) SetAction(ctx context.Context, actor, action string) error {
	if action != ActionReset && action != ActionDrop && action != ActionICMP {
		return fmt.Errorf("action %q: %w: want reset, drop or icmp", action, ErrInvalid)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM edge_settings WHERE name = 'action'`)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO edge_settings (name, value, updated_at) VALUES ('action', ?, ?)`), action, s.now().Unix()); err != nil {
			return err
		}
		if err := s.auditTx(ctx, tx, actor, "edge.action", action, ""); err != nil {
			return err
		}
		return s.bumpEdgeTx(ctx, tx)
	})
}

// Action returns the configured action, reset by default.
func (s *Store) Action(ctx context.Context) (string, error) {
	var v string
	err := s.queryRow(ctx, `SELECT value FROM edge_settings WHERE name = 'action'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return ActionReset, nil
	}
	return v, err
}

// EdgeSnapshot is the whole edge policy read at one moment.
type EdgeSnapshot struct {
	Version    int64
	Prefixes   []PoolPrefix
	Exemptions []Exemption
	Relays     []Relay
	Carriers   []CarrierEntry
	Schedule   []ScopeChange
	Action     string
}

// EdgeSnapshot reads the policy. The reads are not one transaction; the
// version read first tells a poller to look again if a change raced it.
func (s *Store) EdgeSnapshot(ctx context.Context) (*EdgeSnapshot, error) {
	var snap EdgeSnapshot
	var err error
	if snap.Version, err = s.EdgeVersion(ctx); err != nil {
		return nil, err
	}
	if snap.Prefixes, err = s.allPoolPrefixes(ctx); err != nil {
		return nil, err
	}
	if snap.Exemptions, err = s.Exemptions(ctx); err != nil {
		return nil, err
	}
	if snap.Relays, err = s.Relays(ctx); err != nil {
		return nil, err
	}
	if snap.Carriers, err = s.Carriers(ctx); err != nil {
		return nil, err
	}
	if snap.Schedule, err = s.Schedule(ctx); err != nil {
		return nil, err
	}
	if snap.Action, err = s.Action(ctx); err != nil {
		return nil, err
	}
	return &snap, nil
}

// allPoolPrefixes is PoolPrefixes("") without the join and the sort, for
// the snapshot: the edge compiles 100k prefixes in any order.
func (s *Store) allPoolPrefixes(ctx context.Context) ([]PoolPrefix, error) {
	kinds, err := scanPairs(s.query(ctx, `SELECT name, kind FROM edge_pools`))
	if err != nil {
		return nil, err
	}
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM edge_pool_prefixes`).Scan(&total); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT pool, prefix, added_at FROM edge_pool_prefixes`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]PoolPrefix, 0, total)
	names := map[string]string{} // one string per pool name, not per row
	var pool, pfx string
	var added int64
	for rows.Next() {
		if err := rows.Scan(&pool, &pfx, &added); err != nil {
			return nil, err
		}
		name, ok := names[pool]
		if !ok {
			name = pool
			names[pool] = pool
		}
		p, err := netip.ParsePrefix(pfx)
		if err != nil {
			return nil, fmt.Errorf("stored prefix %q of pool %s: %w", pfx, pool, err)
		}
		out = append(out, PoolPrefix{Pool: name, Kind: kinds[name], Prefix: p, Added: time.Unix(added, 0)})
	}
	return out, rows.Err()
}
