package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Version 602: the admin API's tokens (see web.go for 600-601).
func init() {
	register(migration{Version: 602, Name: "api tokens", SQL: `
CREATE TABLE api_tokens (
	name TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	scopes TEXT NOT NULL,
	actor TEXT NOT NULL,
	created BIGINT NOT NULL
);
`})
}

// APIScopes are what a token may be allowed: read (every GET), directory
// (domains, accounts, aliases, suspensions), queue (retry, hold, release,
// remove), edge (pools, exemptions, relays, carriers, scope, action), dkim
// (generate, activate, retire signing keys).
var APIScopes = []string{"read", "directory", "queue", "edge", "dkim"}

// APIToken is an admin API credential.
type APIToken struct {
	Name    string
	Scopes  []string
	Actor   string
	Created time.Time
}

// Has reports whether the token carries scope.
func (t *APIToken) Has(scope string) bool { return slices.Contains(t.Scopes, scope) }

// CheckAPIScopes says what is wrong with a scope list, if anything.
func CheckAPIScopes(scopes []string) error {
	if len(scopes) == 0 {
		return fmt.Errorf("api token scopes: %w (give at least one of %s)", ErrInvalid, strings.Join(APIScopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(APIScopes, s) {
			return fmt.Errorf("api token scope %q: %w (want %s)", s, ErrInvalid, strings.Join(APIScopes, ", "))
		}
	}
	return nil
}

// AddAPIToken creates a token named name with scopes and returns it; it is
// shown once and stored only hashed. Audited.
func (s *Store) AddAPIToken(ctx context.Context, actor, name string, scopes []string) (string, error) {
	if err := CheckCarrierName(name); err != nil {
		return "", fmt.Errorf("api token name: %w", err)
	}
	if err := CheckAPIScopes(scopes); err != nil {
		return "", err
	}
	scopes = slices.Compact(slices.Sorted(slices.Values(scopes)))
	token, hash := newSecret()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO api_tokens (name, token_hash, scopes, actor, created) VALUES (?, ?, ?, ?, ?)`),
			name, hash, strings.Join(scopes, ","), actor, s.now().Unix()); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("api token %s: %w", name, ErrExists)
			}
			return err
		}
		return s.auditTx(ctx, tx, actor, "api.token.add", name, "scopes="+strings.Join(scopes, ","))
	})
	return token, err
}

// APITokens lists the tokens (never their secrets).
func (s *Store) APITokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.query(ctx, `SELECT name, scopes, actor, created FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var t APIToken
		var scopes string
		var created int64
		if err := rows.Scan(&t.Name, &scopes, &t.Actor, &created); err != nil {
			return nil, err
		}
		t.Scopes, t.Created = strings.Split(scopes, ","), time.Unix(created, 0)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RemoveAPIToken revokes a token. Audited.
func (s *Store) RemoveAPIToken(ctx context.Context, actor, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.execFoundTx(ctx, tx, "api token "+name, `DELETE FROM api_tokens WHERE name = ?`, name); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "api.token.remove", name, "")
	})
}

// APITokenFor returns the token whose secret is token, or ErrNotFound.
func (s *Store) APITokenFor(ctx context.Context, token string) (*APIToken, error) {
	if token == "" || len(token) > 100 {
		return nil, fmt.Errorf("api token: %w", ErrNotFound)
	}
	var t APIToken
	var scopes string
	var created int64
	err := s.queryRow(ctx, `SELECT name, scopes, actor, created FROM api_tokens WHERE token_hash = ?`, hashSecret(token)).
		Scan(&t.Name, &scopes, &t.Actor, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("api token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	t.Scopes, t.Created = strings.Split(scopes, ","), time.Unix(created, 0)
	return &t, nil
}
