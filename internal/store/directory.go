package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailgate/internal/address"
)

func init() {
	register(migration{Version: 1, Name: "directory", SQL: `
CREATE TABLE domains (
	name TEXT PRIMARY KEY,
	created_at BIGINT NOT NULL
);
CREATE TABLE accounts (
	address TEXT PRIMARY KEY,
	domain TEXT NOT NULL REFERENCES domains(name),
	password_hash TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'active',
	created_at BIGINT NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain);
CREATE TABLE aliases (
	address TEXT PRIMARY KEY,
	domain TEXT NOT NULL REFERENCES domains(name),
	account TEXT NOT NULL REFERENCES accounts(address),
	created_at BIGINT NOT NULL
);
CREATE INDEX aliases_account ON aliases(account);
CREATE TABLE audit (
	id {{serial}},
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	subject TEXT NOT NULL,
	detail TEXT NOT NULL
);
`})
}

// Account status values.
const (
	StatusActive          = "active"
	StatusSuspended       = "suspended"        // may neither log in nor send
	StatusSendingDisabled = "sending-disabled" // may read mail, may not submit
)

// Account is a subscriber's login: an address with a password.
type Account struct {
	Address      string
	Domain       string
	PasswordHash string
	Status       string
	Created      time.Time
}

// Alias is an extra address delivering to, and sendable by, an account.
type Alias struct {
	Address string
	Account string
	Created time.Time
}

// Domain is one of the mail domains we host.
type Domain struct {
	Name     string
	Created  time.Time
	Accounts int
}

// AddDomain adds a hosted domain.
func (s *Store) AddDomain(ctx context.Context, actor, name string) error {
	_, err := s.AddDomains(ctx, actor, []string{name})
	return err
}

// AddDomains adds hosted domains, all or none: an invalid name, one already
// hosted, or one given twice (in any spelling: "Bücher.example" and
// "xn--bcher-kva.example" are one domain) adds nothing. It returns the names
// as stored, in canonical form (address.CanonicalDomain).
func (s *Store) AddDomains(ctx context.Context, actor string, names []string) ([]string, error) {
	canon := make([]string, len(names))
	seen := map[string]bool{}
	for i, raw := range names {
		d, err := address.CanonicalDomain(raw)
		if err != nil {
			return nil, fmt.Errorf("domain %q: %w: %v%s", raw, ErrInvalid, err, nothingAdded(len(names)))
		}
		if seen[d] {
			return nil, fmt.Errorf("domain %s: %w%s", d, ErrExists, nothingAdded(len(names)))
		}
		seen[d], canon[i] = true, d
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, d := range canon {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO domains (name, created_at) VALUES (?, ?)`), d, s.now().Unix()); err != nil {
				if isUniqueViolation(err) {
					return fmt.Errorf("domain %s: %w%s", d, ErrExists, nothingAdded(len(names)))
				}
				return err
			}
			if err := s.auditTx(ctx, tx, actor, "domain.add", d, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return canon, nil
}

// nothingAdded tells, when several domains were given, that none was added.
func nothingAdded(n int) string {
	if n > 1 {
		return "; nothing added"
	}
	return ""
}

// Domains lists hosted domains with their account counts.
func (s *Store) Domains(ctx context.Context) ([]Domain, error) {
	rows, err := s.query(ctx, `SELECT d.name, d.created_at, (SELECT COUNT(*) FROM accounts a WHERE a.domain = d.name) FROM domains d ORDER BY d.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Domain
	for rows.Next() {
		var d Domain
		var created int64
		if err := rows.Scan(&d.Name, &created, &d.Accounts); err != nil {
			return nil, err
		}
		d.Created = time.Unix(created, 0)
		out = append(out, d)
	}
	return out, rows.Err()
}

// HasDomain reports whether name, in either IDNA form, is one of ours.
func (s *Store) HasDomain(ctx context.Context, name string) (bool, error) {
	name, err := address.CanonicalDomain(name)
	if err != nil {
		return false, nil // never stored: AddDomains takes only valid names
	}
	if v, _, ok := s.lookups.get("d:" + name); ok {
		return v != "", nil
	}
	ok, err := s.domainStored(ctx, name)
	if err != nil {
		return false, err
	}
	if ok {
		s.lookups.put("d:"+name, "1", nil)
	} else {
		s.lookups.put("d:"+name, "", nil)
	}
	return ok, nil
}

// domainStored reads from the database, past HasDomain's cache, whether
// the canonical name is one of ours.
func (s *Store) domainStored(ctx context.Context, name string) (bool, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM domains WHERE name = ?`, name).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// RemoveDomain removes a domain that no longer has accounts or aliases.
func (s *Store) RemoveDomain(ctx context.Context, actor, name string) error {
	if d, err := address.CanonicalDomain(name); err == nil {
		name = d
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT (SELECT COUNT(*) FROM accounts WHERE domain = ?) + (SELECT COUNT(*) FROM aliases WHERE domain = ?)`), name, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("domain %s has %d accounts or aliases: %w; remove them first", name, n, ErrInUse)
		}
		if err := s.execFoundTx(ctx, tx, "domain "+name, `DELETE FROM domains WHERE name = ?`, name); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "domain.remove", name, "")
	})
}

// AddAccount creates an account in a hosted domain. passwordHash is an
// encoded argon2id hash (package password); the store never sees a password.
func (s *Store) AddAccount(ctx context.Context, actor, addr, passwordHash string) error {
	norm, err := address.NormalizeNew(addr)
	if err != nil {
		return invalidAddress("account", err)
	}
	dom := norm[strings.LastIndexByte(norm, '@')+1:]
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkFree(ctx, tx, norm, dom); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO accounts (address, domain, password_hash, status, created_at) VALUES (?, ?, ?, ?, ?)`),
			norm, dom, passwordHash, StatusActive, s.now().Unix()); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("account %s: %w", norm, ErrExists)
			}
			return err
		}
		return s.auditTx(ctx, tx, actor, "user.add", norm, "")
	})
}

// CheckNewAccount reports the error AddAccount would give for addr's name
// (invalid, unknown domain, taken), so a command can refuse it before
// asking for a password.
func (s *Store) CheckNewAccount(ctx context.Context, addr string) error {
	norm, err := address.NormalizeNew(addr)
	if err != nil {
		return invalidAddress("account", err)
	}
	if _, err := s.Account(ctx, norm); err == nil {
		return fmt.Errorf("account %s: %w", norm, ErrExists)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return s.checkFree(ctx, tx, norm, norm[strings.LastIndexByte(norm, '@')+1:])
	})
}

// invalidAddress is the error for an address the address package refused:
// its message, and errors.Is finds both address.ErrInvalid and ErrInvalid.
func invalidAddress(what string, err error) error {
	return addressError{what, err}
}

type addressError struct {
	what string
	err  error
}

func (e addressError) Error() string   { return e.what + ": " + e.err.Error() }
func (e addressError) Unwrap() []error { return []error{e.err, ErrInvalid} }

// unhostedDomain refuses what needs a domain we host (an account, an
// alias, a DKIM key) for one we do not, saying how to add it.
func unhostedDomain(dom string) error {
	return fmt.Errorf("domain %s: %w; add it first with `mailgate domain add %s`", dom, ErrNotFound, dom)
}

// checkFree verifies the domain is ours and the address is neither an
// account nor an alias yet.
func (s *Store) checkFree(ctx context.Context, tx *sql.Tx, addr, dom string) error {
	var domains, taken int
	err := tx.QueryRowContext(ctx, s.q(`SELECT (SELECT COUNT(*) FROM domains WHERE name = ?), (SELECT COUNT(*) FROM accounts WHERE address = ?) + (SELECT COUNT(*) FROM aliases WHERE address = ?)`),
		dom, addr, addr).Scan(&domains, &taken)
	if err != nil {
		return err
	}
	if domains == 0 {
		return unhostedDomain(dom)
	}
	if taken > 0 {
		return fmt.Errorf("address %s: %w as an account or alias", addr, ErrExists)
	}
	return nil
}

// Account returns one account by its address.
func (s *Store) Account(ctx context.Context, addr string) (*Account, error) {
	norm, err := address.Normalize(addr)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	var a Account
	var created int64
	err = s.queryRow(ctx, `SELECT address, domain, password_hash, status, created_at FROM accounts WHERE address = ?`, norm).
		Scan(&a.Address, &a.Domain, &a.PasswordHash, &a.Status, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account %s: %w", norm, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	a.Created = time.Unix(created, 0)
	return &a, nil
}

// Accounts lists accounts, of one domain or all when domain is "". A
// domain we do not host is ErrNotFound, not an empty list that reads as
// "no accounts yet" (a typo in --domain).
func (s *Store) Accounts(ctx context.Context, domain string) ([]Account, error) {
	if d, err := address.CanonicalDomain(domain); err == nil {
		domain = d
	}
	if domain != "" {
		// Not HasDomain: its cache may hold a "no" from before another
		// process added the domain.
		ok, err := s.domainStored(ctx, domain)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("domain %s: %w (see `mailgate domain list`)", domain, ErrNotFound)
		}
	}
	rows, err := s.query(ctx, `SELECT address, domain, status, created_at FROM accounts WHERE ? = '' OR domain = ? ORDER BY address`, domain, domain)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		var created int64
		if err := rows.Scan(&a.Address, &a.Domain, &a.Status, &created); err != nil {
			return nil, err
		}
		a.Created = time.Unix(created, 0)
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetPassword replaces an account's password hash and ends its web
// sessions. It lifts a sending suspension the compromised-account
// response set (issue 11 §3).
func (s *Store) SetPassword(ctx context.Context, actor, addr, passwordHash string) error {
	return s.updateAccount(ctx, actor, addr, "user.passwd", "", `UPDATE accounts SET password_hash = ? WHERE address = ?`, passwordHash,
		func(tx *sql.Tx, norm string) error {
			// Whoever knew the old password is logged out of the web too.
			if err := s.endWebSessionsTx(ctx, tx, norm); err != nil {
				return err
			}
			return s.endCompromiseTx(ctx, tx, actor, norm, "password change", true)
		})
}

// SetStatus sets active, suspended or sending-disabled, with a reason for
// the audit log.
func (s *Store) SetStatus(ctx context.Context, actor, addr, status, reason string) error {
	switch status {
	case StatusActive, StatusSuspended, StatusSendingDisabled:
	default:
		return fmt.Errorf("status %q: %w (want active, suspended or sending-disabled)", status, ErrInvalid)
	}
	// The operator's status replaces the compromised-account response's.
	return s.updateAccount(ctx, actor, addr, "user.status", status+": "+reason, `UPDATE accounts SET status = ? WHERE address = ?`, status,
		func(tx *sql.Tx, norm string) error {
			if status == StatusSuspended {
				// It may not log in; a resumption does not bring back
				// the sessions (a thief's among them) it had.
				if err := s.endWebSessionsTx(ctx, tx, norm); err != nil {
					return err
				}
			}
			return s.endCompromiseTx(ctx, tx, actor, norm, "operator status "+status, false)
		})
}

func (s *Store) updateAccount(ctx context.Context, actor, addr, action, detail, stmt string, value any, after ...func(tx *sql.Tx, norm string) error) error {
	norm, err := address.Normalize(addr)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.execFoundTx(ctx, tx, "account "+norm, stmt, value, norm); err != nil {
			return err
		}
		for _, f := range after {
			if err := f(tx, norm); err != nil {
				return err
			}
		}
		return s.auditTx(ctx, tx, actor, action, norm, detail)
	})
}

// RemoveAccount removes an account and its aliases. Its mailbox files stay
// on disk for the operator to archive or delete.
func (s *Store) RemoveAccount(ctx context.Context, actor, addr string) error {
	norm, err := address.Normalize(addr)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM aliases WHERE account = ?`), norm); err != nil {
			return err
		}
		if err := s.execFoundTx(ctx, tx, "account "+norm, `DELETE FROM accounts WHERE address = ?`, norm); err != nil {
			return err
		}
		if err := s.endWebSessionsTx(ctx, tx, norm); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "user.remove", norm, "")
	})
}

// AddAlias makes alias deliver to, and be sendable by, account. An alias
// of the form "@domain" is the domain's catch-all (Postfix's
// virtual_alias_maps "@domain user@domain", virtual(5)): it receives what
// no account or alias of the domain does, and sends as nothing (see Owns).
func (s *Store) AddAlias(ctx context.Context, actor, alias, account string) error {
	norm, dom, err := normalizeNewAlias(alias)
	if err != nil {
		return err
	}
	acct, err := address.Normalize(account)
	if err != nil {
		return fmt.Errorf("alias target: %w", err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkFree(ctx, tx, norm, dom); err != nil {
			return err
		}
		if err := s.accountExistsTx(ctx, tx, acct); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO aliases (address, domain, account, created_at) VALUES (?, ?, ?, ?)`), norm, dom, acct, s.now().Unix()); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "alias.add", norm, "-> "+acct)
	})
}

// catchAllPrefix starts a catch-all's address in the aliases table: no
// address.Normalize result starts with '@', so it cannot clash with an
// alias or an account.
const catchAllPrefix = "@"

// CatchAll reports whether the alias is its domain's catch-all.
func (a Alias) CatchAll() bool { return strings.HasPrefix(a.Address, catchAllPrefix) }

// NormalizeAlias returns an alias as the store keeps it: an address as
// address.Normalize makes it, or "@" and the canonical domain for a
// catch-all.
func NormalizeAlias(alias string) (string, error) {
	if d, ok := strings.CutPrefix(alias, catchAllPrefix); ok {
		dom, err := address.CanonicalDomain(d)
		if err != nil {
			return "", invalidAddress("catch-all", fmt.Errorf("%w: %q: %v", address.ErrInvalid, alias, err))
		}
		return catchAllPrefix + dom, nil
	}
	norm, err := address.Normalize(alias)
	if err != nil {
		return "", fmt.Errorf("alias: %w", err)
	}
	return norm, nil
}

// normalizeNewAlias is NormalizeAlias for an alias about to be created,
// with address.NormalizeNew's mailbox-name rule for an address, and its
// domain.
func normalizeNewAlias(alias string) (norm, dom string, err error) {
	if strings.HasPrefix(alias, catchAllPrefix) {
		norm, err = NormalizeAlias(alias)
		return norm, strings.TrimPrefix(norm, catchAllPrefix), err
	}
	norm, err = address.NormalizeNew(alias)
	if err != nil {
		return "", "", invalidAddress("alias", err)
	}
	return norm, norm[strings.LastIndexByte(norm, '@')+1:], nil
}

// Aliases lists aliases, of one account or all when account is "". An
// account that does not exist is ErrNotFound, not an empty list.
func (s *Store) Aliases(ctx context.Context, account string) ([]Alias, error) {
	if account != "" {
		a, err := s.Account(ctx, account)
		if err != nil {
			return nil, err
		}
		account = a.Address
	}
	return queryList(ctx, s, func(rows *sql.Rows) (Alias, error) {
		var a Alias
		var created int64
		err := rows.Scan(&a.Address, &a.Account, &created)
		a.Created = time.Unix(created, 0)
		return a, err
	}, `SELECT address, account, created_at FROM aliases WHERE ? = '' OR account = ? ORDER BY address`, account, account)
}

// RemoveAlias removes one alias, or a domain's catch-all ("@domain").
func (s *Store) RemoveAlias(ctx context.Context, actor, alias string) error {
	norm, err := NormalizeAlias(alias)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.execFoundTx(ctx, tx, "alias "+norm, `DELETE FROM aliases WHERE address = ?`, norm); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "alias.remove", norm, "")
	})
}

// Resolve maps a recipient address in one of our domains to the account
// whose mailbox receives it: the account itself, an alias's owner, the
// same for the address without its detail ("bob+news@" is bob's, RFC
// 5233, as Dovecot's and Postfix's recipient_delimiter "+"), or else the
// target of the domain's catch-all, in virtual(5)'s order, so an exact
// account or alias always wins over the address without its detail, and
// both over the catch-all. It returns ErrNotFound for an address none of
// them holds.
func (s *Store) Resolve(ctx context.Context, addr string) (string, error) {
	norm, err := address.Normalize(addr)
	if err != nil {
		return "", err
	}
	if acct, err, ok := s.lookups.get("r:" + norm); ok {
		return acct, err
	}
	// One round trip for all; an address is at most one of account and
	// alias (checkFree), the rank says which row wins.
	catchAll := catchAllPrefix + norm[strings.LastIndexByte(norm, '@')+1:]
	base, _ := address.WithoutDetail(norm)
	var acct string
	var rank int
	err = s.queryRow(ctx, `SELECT address, 0 FROM accounts WHERE address = ?
UNION ALL SELECT account, 1 FROM aliases WHERE address = ?
UNION ALL SELECT address, 2 FROM accounts WHERE address = ?
UNION ALL SELECT account, 3 FROM aliases WHERE address = ?
UNION ALL SELECT account, 4 FROM aliases WHERE address = ?
ORDER BY 2 LIMIT 1`, norm, norm, base, base, catchAll).Scan(&acct, &rank)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("recipient %s: %w", norm, ErrNotFound)
		s.lookups.put("r:"+norm, "", err)
		return "", err
	}
	if err == nil {
		s.lookups.put("r:"+norm, acct, nil)
	}
	return acct, err
}

// Owns reports whether account may use addr as a sender: its own address
// or one of its aliases (RFC 6409 §6.1), with or without a detail
// ("bob+news@", RFC 5233: mail to it reaches bob, and Postfix's
// smtpd_sender_login_maps looks the address up without its extension
// too). A catch-all is not one: that
// the domain's stray mail reaches the account does not make it the
// domain's every sender (as Postfix's smtpd_sender_login_maps, which needs
// an entry of its own); norm never starts with '@', so the catch-all's
// row never matches.
func (s *Store) Owns(ctx context.Context, account, addr string) (bool, error) {
	norm, err := address.Normalize(addr)
	if err != nil {
		return false, nil
	}
	if norm == account {
		return true, nil
	}
	base, detail := address.WithoutDetail(norm)
	if !detail {
		var n int
		err = s.queryRow(ctx, `SELECT COUNT(*) FROM aliases WHERE address = ? AND account = ?`, norm, account).Scan(&n)
		return n > 0, err
	}
	// One round trip for a sender with a detail, as Resolve makes one:
	// the address's own alias of account; whether the address with its
	// detail is an account or alias of its own ("bob+x@" someone else's,
	// then only that one's owner has it); the base's alias of account.
	var own, taken, baseAlias int
	err = s.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM aliases WHERE address = ? AND account = ?),
(SELECT COUNT(*) FROM accounts WHERE address = ?) + (SELECT COUNT(*) FROM aliases WHERE address = ?),
(SELECT COUNT(*) FROM aliases WHERE address = ? AND account = ?)`,
		norm, account, norm, norm, base, account).Scan(&own, &taken, &baseAlias)
	switch {
	case err != nil:
		return false, err
	case own > 0:
		return true, nil
	case taken > 0:
		return false, nil
	}
	return base == account || baseAlias > 0, nil
}

// AuditEntry is one recorded change: who did what to which object.
type AuditEntry struct {
	At      time.Time
	Actor   string
	Action  string
	Subject string
	Detail  string
}

// Audit records a change made outside a transaction of ours.
func (s *Store) Audit(ctx context.Context, actor, action, subject, detail string) error {
	_, err := s.exec(ctx, `INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)`, s.now().Unix(), actor, action, subject, detail)
	return err
}

// accountExistsTx is ErrNotFound, naming addr, unless the account exists.
func (s *Store) accountExistsTx(ctx context.Context, tx *sql.Tx, addr string) error {
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM accounts WHERE address = ?`), addr).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("account %s: %w", addr, ErrNotFound)
	}
	return nil
}

func (s *Store) auditTx(ctx context.Context, tx *sql.Tx, actor, action, subject, detail string) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)`), s.now().Unix(), actor, action, subject, detail)
	return err
}

// AuditLog returns the newest entries first, at most limit of them.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := s.query(ctx, `SELECT at, actor, action, subject, detail FROM audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, err
		}
		e.At = time.Unix(at, 0)
		out = append(out, e)
	}
	return out, rows.Err()
}
