package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"mailgate/internal/address"
)

// Who held an address when: the BNG's RADIUS accounting (RFC 2866) maps
// each subscriber session to the addresses it was given, so a blocked
// port-25 attempt or an abusive connection names a subscriber, not just an
// address that has since gone to someone else.

func init() {
	register(migration{Version: 201, Name: "subscriber sessions", SQL: `
CREATE TABLE subscriber_sessions (
	id {{serial}},
	nas TEXT NOT NULL,
	session_id TEXT NOT NULL,
	username TEXT NOT NULL,
	class TEXT NOT NULL DEFAULT '',
	ipv4 TEXT NOT NULL DEFAULT '',
	ipv6_prefix TEXT NOT NULL DEFAULT '',
	delegated_prefix TEXT NOT NULL DEFAULT '',
	start_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	stop_at BIGINT
);
CREATE INDEX subscriber_sessions_nas ON subscriber_sessions(nas, session_id);
CREATE INDEX subscriber_sessions_ipv4 ON subscriber_sessions(ipv4, start_at);
CREATE INDEX subscriber_sessions_open ON subscriber_sessions(nas, stop_at);
CREATE TABLE subscriber_accounts (
	username TEXT PRIMARY KEY,
	account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE
)`})
}

// SubscriberSession is one access session of a subscriber line.
type SubscriberSession struct {
	NAS       string       // the BNG: NAS-Identifier, NAS-IP-Address or its source address
	SessionID string       // Acct-Session-Id
	Username  string       // User-Name
	Class     string       // Class, as the BNG sent it (often the plan)
	IPv4      netip.Addr   // Framed-IP-Address
	IPv6      netip.Prefix // Framed-IPv6-Prefix
	Delegated netip.Prefix // Delegated-IPv6-Prefix (RFC 4818)
	Start     time.Time
	Updated   time.Time
	Stop      time.Time // zero while the session is open
	Account   string    // the mail account linked to Username, if any
}

// Holds reports whether the session's addresses include ip.
func (s *SubscriberSession) Holds(ip netip.Addr) bool {
	ip = ip.Unmap()
	return s.IPv4.IsValid() && s.IPv4 == ip ||
		s.IPv6.IsValid() && s.IPv6.Contains(ip) ||
		s.Delegated.IsValid() && s.Delegated.Contains(ip)
}

// RecordSessionStart records a Start, or an Interim-Update (which also
// stands for a Start the server never saw): the session is created, or
// its addresses and last update refreshed.
func (s *Store) RecordSessionStart(ctx context.Context, ss SubscriberSession) error {
	if ss.NAS == "" || ss.SessionID == "" || ss.Username == "" {
		return fmt.Errorf("accounting record without NAS, Acct-Session-Id or User-Name: %w", ErrInvalid)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM subscriber_sessions WHERE nas = ? AND session_id = ? AND stop_at IS NULL`), ss.NAS, ss.SessionID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO subscriber_sessions (nas, session_id, username, class, ipv4, ipv6_prefix, delegated_prefix, start_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				ss.NAS, ss.SessionID, ss.Username, ss.Class, addrText(ss.IPv4), prefixText(ss.IPv6), prefixText(ss.Delegated), ss.Start.Unix(), ss.Updated.Unix())
			return err
		}
		if err != nil {
			return err
		}
		// An interim update may bring an address the Start did not have
		// (IPv6 delegated after IPv4); it never takes one away.
		_, err = tx.ExecContext(ctx, s.q(`UPDATE subscriber_sessions SET updated_at = ?,
			ipv4 = CASE WHEN ? <> '' THEN ? ELSE ipv4 END,
			ipv6_prefix = CASE WHEN ? <> '' THEN ? ELSE ipv6_prefix END,
			delegated_prefix = CASE WHEN ? <> '' THEN ? ELSE delegated_prefix END WHERE id = ?`),
			ss.Updated.Unix(), addrText(ss.IPv4), addrText(ss.IPv4), prefixText(ss.IPv6), prefixText(ss.IPv6),
			prefixText(ss.Delegated), prefixText(ss.Delegated), id)
		return err
	})
}

// RecordSessionStop closes a session; a Stop for a session never started
// is recorded whole, start unknown (its Start is taken as at - duration).
func (s *Store) RecordSessionStop(ctx context.Context, ss SubscriberSession) error {
	if err := s.RecordSessionStart(ctx, ss); err != nil {
		return err
	}
	_, err := s.exec(ctx, `UPDATE subscriber_sessions SET stop_at = ?, updated_at = ? WHERE nas = ? AND session_id = ? AND stop_at IS NULL`,
		ss.Stop.Unix(), ss.Stop.Unix(), ss.NAS, ss.SessionID)
	return err
}

// CloseNASSessions closes every open session of a NAS: Accounting-On and
// Accounting-Off (RFC 2866 §5.1) say it rebooted or is going down, so none
// of its sessions lives on.
func (s *Store) CloseNASSessions(ctx context.Context, nas string, at time.Time) (int64, error) {
	res, err := s.exec(ctx, `UPDATE subscriber_sessions SET stop_at = ?, updated_at = ? WHERE nas = ? AND stop_at IS NULL`, at.Unix(), at.Unix(), nas)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SubscriberLabel names who held ip at the moment at, for reports: the
// subscriber (and linked account), or "-".
func (s *Store) SubscriberLabel(ctx context.Context, ip netip.Addr, at time.Time) string {
	ss, err := s.SubscriberAt(ctx, ip, at)
	if err != nil {
		return "-"
	}
	if ss.Account != "" {
		return ss.Username + " (" + ss.Account + ")"
	}
	return ss.Username
}

// SubscriberAt returns the session that held ip at the moment at, or
// ErrNotFound. The newest session wins where records overlap.
func (s *Store) SubscriberAt(ctx context.Context, ip netip.Addr, at time.Time) (*SubscriberSession, error) {
	ip = ip.Unmap()
	var rows *sql.Rows
	var err error
	const cols = `SELECT s.nas, s.session_id, s.username, s.class, s.ipv4, s.ipv6_prefix, s.delegated_prefix, s.start_at, s.updated_at, s.stop_at, COALESCE(a.account, '')
		FROM subscriber_sessions s LEFT JOIN subscriber_accounts a ON a.username = s.username `
	if ip.Is4() {
		rows, err = s.query(ctx, cols+`WHERE s.ipv4 = ? AND s.start_at <= ? AND (s.stop_at IS NULL OR s.stop_at > ?) ORDER BY s.start_at DESC`, ip.String(), at.Unix(), at.Unix())
	} else {
		rows, err = s.query(ctx, cols+`WHERE (s.ipv6_prefix <> '' OR s.delegated_prefix <> '') AND s.start_at <= ? AND (s.stop_at IS NULL OR s.stop_at > ?) ORDER BY s.start_at DESC`, at.Unix(), at.Unix())
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		if ss.Holds(ip) {
			return ss, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no subscriber session held %s at %s: %w", ip, at.UTC().Format(time.RFC3339), ErrNotFound)
}

func scanSession(rows *sql.Rows) (*SubscriberSession, error) {
	var ss SubscriberSession
	var v4, v6, del string
	var start, updated int64
	var stop sql.NullInt64
	if err := rows.Scan(&ss.NAS, &ss.SessionID, &ss.Username, &ss.Class, &v4, &v6, &del, &start, &updated, &stop, &ss.Account); err != nil {
		return nil, err
	}
	ss.IPv4, _ = netip.ParseAddr(v4)
	ss.IPv6, _ = netip.ParsePrefix(v6)
	ss.Delegated, _ = netip.ParsePrefix(del)
	ss.Start, ss.Updated = time.Unix(start, 0), time.Unix(updated, 0)
	if stop.Valid {
		ss.Stop = time.Unix(stop.Int64, 0)
	}
	return &ss, nil
}

// LinkSubscriber links a subscriber (the RADIUS User-Name) to a mail
// account, so reports and notices reach the account's mailbox.
func (s *Store) LinkSubscriber(ctx context.Context, actor, username, account string) error {
	norm, err := address.Normalize(account)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	if username == "" {
		return fmt.Errorf("empty subscriber name: %w", ErrInvalid)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.accountExistsTx(ctx, tx, norm); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM subscriber_accounts WHERE username = ?`), username); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO subscriber_accounts (username, account) VALUES (?, ?)`), username, norm); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "subscriber.link", username, norm)
	})
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().String()
}

func prefixText(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.Masked().String()
}
