package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailgate/internal/address"
)

// Versions 600-699: the web server (internal/web): login sessions and the
// carriers' feed tokens. Both hold only a SHA-256 of the secret, so a copy
// of the database lets nobody in.
func init() {
	register(migration{Version: 600, Name: "web sessions", SQL: `
CREATE TABLE web_sessions (
	token_hash TEXT PRIMARY KEY,
	account TEXT NOT NULL,
	source TEXT NOT NULL,
	created BIGINT NOT NULL,
	last_seen BIGINT NOT NULL,
	expires BIGINT NOT NULL
);
CREATE INDEX web_sessions_account ON web_sessions (account);
CREATE INDEX web_sessions_expires ON web_sessions (expires);
`}, migration{Version: 601, Name: "feed tokens", SQL: `
CREATE TABLE feed_tokens (
	carrier TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	actor TEXT NOT NULL,
	created BIGINT NOT NULL
);
`})
}

// WebSession is a logged-in browser.
type WebSession struct {
	Account  string
	Source   string // the client address at login
	Created  time.Time
	LastSeen time.Time
	Expires  time.Time
}

// newSecret returns a random token (256 bits, URL-safe) and its hash.
func newSecret() (token, hash string) {
	var b [32]byte
	rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashSecret(token)
}

func hashSecret(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// StartWebSession records a login of account from source lasting idle
// without use, and returns the cookie value. Logins are audited.
func (s *Store) StartWebSession(ctx context.Context, account, source string, idle time.Duration) (string, error) {
	norm, err := address.Normalize(account)
	if err != nil {
		return "", fmt.Errorf("account: %w", err)
	}
	token, hash := newSecret()
	now := s.now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO web_sessions (token_hash, account, source, created, last_seen, expires) VALUES (?, ?, ?, ?, ?, ?)`),
			hash, norm, source, now.Unix(), now.Unix(), now.Add(idle).Unix()); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, "web:"+norm, "web.login", norm, "from "+source)
	})
	return token, err
}

// WebSession returns the live session of a cookie value and extends it by
// idle (at most once a minute, to spare the database a write per page).
// An unknown or expired token is ErrNotFound, and so is the session of an
// account that is suspended (it may not log in, so it may not stay
// logged in: the compromised-account response and an operator's
// suspension end its sessions on every node at once), removed, or
// removed and made again since the login (a new subscriber given the
// address must not find the previous one's browser in its mailbox).
func (s *Store) WebSession(ctx context.Context, token string, idle time.Duration) (*WebSession, error) {
	if token == "" || len(token) > 100 {
		return nil, fmt.Errorf("web session: %w", ErrNotFound)
	}
	hash := hashSecret(token)
	var ws WebSession
	var created, seen, expires int64
	err := s.queryRow(ctx, `SELECT w.account, w.source, w.created, w.last_seen, w.expires FROM web_sessions w
		JOIN accounts a ON a.address = w.account AND a.status <> ? AND a.created_at <= w.created
		WHERE w.token_hash = ?`, StatusSuspended, hash).
		Scan(&ws.Account, &ws.Source, &created, &seen, &expires)
	now := s.now()
	if errors.Is(err, sql.ErrNoRows) || err == nil && expires <= now.Unix() {
		return nil, fmt.Errorf("web session: %w", ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	ws.Created, ws.LastSeen, ws.Expires = time.Unix(created, 0), time.Unix(seen, 0), time.Unix(expires, 0)
	if now.Unix()-seen >= 60 {
		ws.LastSeen, ws.Expires = now, now.Add(idle)
		if _, err := s.exec(ctx, `UPDATE web_sessions SET last_seen = ?, expires = ? WHERE token_hash = ?`, now.Unix(), ws.Expires.Unix(), hash); err != nil {
			return nil, err
		}
	}
	return &ws, nil
}

// EndWebSession logs a session out; an unknown token is not an error.
func (s *Store) EndWebSession(ctx context.Context, token string) error {
	_, err := s.exec(ctx, `DELETE FROM web_sessions WHERE token_hash = ?`, hashSecret(token))
	return err
}

// endWebSessionsTx logs norm out of every browser, in the transaction of
// the change that calls for it (a new password, a suspension, removal).
func (s *Store) endWebSessionsTx(ctx context.Context, tx *sql.Tx, norm string) error {
	_, err := tx.ExecContext(ctx, s.q(`DELETE FROM web_sessions WHERE account = ?`), norm)
	return err
}

// EndOtherWebSessions logs account out everywhere but the session keep
// (after a password change: whoever knew the old one is out).
func (s *Store) EndOtherWebSessions(ctx context.Context, account, keep string) (int64, error) {
	norm, err := address.Normalize(account)
	if err != nil {
		return 0, fmt.Errorf("account: %w", err)
	}
	res, err := s.exec(ctx, `DELETE FROM web_sessions WHERE account = ? AND token_hash <> ?`, norm, hashSecret(keep))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// PruneWebSessions deletes expired sessions.
func (s *Store) PruneWebSessions(ctx context.Context) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM web_sessions WHERE expires <= ?`, s.now().Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// FeedToken is a carrier's access to the dynamic-prefix feed.
type FeedToken struct {
	Carrier string
	Actor   string
	Created time.Time
}

// CheckCarrierName says whether name can name a feed token.
func CheckCarrierName(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) {
		return fmt.Errorf("carrier name %q: %w (lower-case letters, digits, '-', '_', '.'; at most 64)", name, ErrInvalid)
	}
	return nil
}

// AddFeedToken creates carrier's feed token and returns it; it is shown
// once and stored only hashed. Audited.
func (s *Store) AddFeedToken(ctx context.Context, actor, carrier string) (string, error) {
	if err := CheckCarrierName(carrier); err != nil {
		return "", err
	}
	token, hash := newSecret()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO feed_tokens (carrier, token_hash, actor, created) VALUES (?, ?, ?, ?)`),
			carrier, hash, actor, s.now().Unix()); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("feed token for %s: %w (remove it first to issue a new one)", carrier, ErrExists)
			}
			return err
		}
		return s.auditTx(ctx, tx, actor, "feed.token.add", carrier, "")
	})
	return token, err
}

// FeedTokens lists the carriers holding a token.
func (s *Store) FeedTokens(ctx context.Context) ([]FeedToken, error) {
	return queryList(ctx, s, func(rows *sql.Rows) (FeedToken, error) {
		var f FeedToken
		var created int64
		err := rows.Scan(&f.Carrier, &f.Actor, &created)
		f.Created = time.Unix(created, 0)
		return f, err
	}, `SELECT carrier, actor, created FROM feed_tokens ORDER BY carrier`)
}

// RemoveFeedToken revokes carrier's token. Audited.
func (s *Store) RemoveFeedToken(ctx context.Context, actor, carrier string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.execFoundTx(ctx, tx, "feed token for "+carrier, `DELETE FROM feed_tokens WHERE carrier = ?`, carrier); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "feed.token.remove", carrier, "")
	})
}

// FeedCarrier returns the carrier a feed token belongs to, or ErrNotFound.
func (s *Store) FeedCarrier(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > 100 {
		return "", fmt.Errorf("feed token: %w", ErrNotFound)
	}
	var carrier string
	err := s.queryRow(ctx, `SELECT carrier FROM feed_tokens WHERE token_hash = ?`, hashSecret(token)).Scan(&carrier)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("feed token: %w", ErrNotFound)
	}
	return carrier, err
}

// WebLogin is one past web login of an account (from the audit log).
type WebLogin struct {
	At     time.Time
	Source string
}

// WebLogins returns account's latest web logins, newest first.
func (s *Store) WebLogins(ctx context.Context, account string, limit int) ([]WebLogin, error) {
	norm, err := address.Normalize(account)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	rows, err := s.query(ctx, `SELECT at, detail FROM audit WHERE action = 'web.login' AND subject = ? ORDER BY id DESC LIMIT ?`, norm, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []WebLogin
	for rows.Next() {
		var l WebLogin
		var at int64
		if err := rows.Scan(&at, &l.Source); err != nil {
			return nil, err
		}
		l.At, l.Source = time.Unix(at, 0), strings.TrimPrefix(l.Source, "from ")
		out = append(out, l)
	}
	return out, rows.Err()
}
