package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mailgate/internal/address"
)

// Daily send limits: what an account sent over the last 24 hours, counted
// in recipients and in messages, shared by every node of a fleet because
// it lives in the store. A stolen password or an infected PC then costs a
// bounded number of messages.

func init() {
	register(migration{Version: 200, Name: "send limits", SQL: `
CREATE TABLE send_usage (
	id {{serial}},
	account TEXT NOT NULL,
	at BIGINT NOT NULL,
	recipients INTEGER NOT NULL,
	messages INTEGER NOT NULL
);
CREATE INDEX send_usage_account_at ON send_usage(account, at);
CREATE TABLE account_limits (
	account TEXT PRIMARY KEY REFERENCES accounts(address) ON DELETE CASCADE,
	recipients_per_day INTEGER,
	messages_per_day INTEGER
)`})
}

// SendWindow is the period send limits count over: a rolling day.
const SendWindow = 24 * time.Hour

// SendLimits are an account's daily limits. Zero means no limit.
type SendLimits struct {
	RecipientsPerDay int
	MessagesPerDay   int
}

// LimitOverride is an account's own limits; nil fields take the defaults.
type LimitOverride struct {
	RecipientsPerDay *int
	MessagesPerDay   *int
}

// Apply returns the defaults with the override's fields in their place.
func (o LimitOverride) Apply(defaults SendLimits) SendLimits {
	if o.RecipientsPerDay != nil {
		defaults.RecipientsPerDay = *o.RecipientsPerDay
	}
	if o.MessagesPerDay != nil {
		defaults.MessagesPerDay = *o.MessagesPerDay
	}
	return defaults
}

// OverLimitError says which limit a send would pass and when enough of
// the window's usage has aged out for it to fit again.
type OverLimitError struct {
	Limit   string // "recipients" or "messages"
	Max     int
	FreesAt time.Time
}

func (e *OverLimitError) Error() string {
	return fmt.Sprintf("daily %s limit of %d reached; frees up at %s", e.Limit, e.Max, e.FreesAt.UTC().Format(time.RFC3339))
}

// SetLimitOverride sets an account's own limits (nil fields: the default)
// and audits it.
func (s *Store) SetLimitOverride(ctx context.Context, actor, addr string, o LimitOverride) error {
	norm, err := address.Normalize(addr)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	for _, v := range []*int{o.RecipientsPerDay, o.MessagesPerDay} {
		if v != nil && *v < 0 {
			return fmt.Errorf("limit %d: %w (want 0 for unlimited, or a positive count)", *v, ErrInvalid)
		}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.accountExistsTx(ctx, tx, norm); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM account_limits WHERE account = ?`), norm); err != nil {
			return err
		}
		if o.RecipientsPerDay != nil || o.MessagesPerDay != nil {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO account_limits (account, recipients_per_day, messages_per_day) VALUES (?, ?, ?)`),
				norm, nullInt(o.RecipientsPerDay), nullInt(o.MessagesPerDay)); err != nil {
				return err
			}
		}
		return s.auditTx(ctx, tx, actor, "user.limits", norm, o.String())
	})
}

func (o LimitOverride) String() string {
	f := func(v *int) string {
		if v == nil {
			return "default"
		}
		return fmt.Sprint(*v)
	}
	return "recipients/day " + f(o.RecipientsPerDay) + ", messages/day " + f(o.MessagesPerDay)
}

func nullInt(v *int) sql.NullInt64 {
	if v == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*v), Valid: true}
}

// LimitOverride returns an account's own limits (none set: both nil).
func (s *Store) LimitOverride(ctx context.Context, addr string) (LimitOverride, error) {
	return scanOverride(s.queryRow(ctx, `SELECT recipients_per_day, messages_per_day FROM account_limits WHERE account = ?`, addr))
}

// scanOverride reads recipients_per_day, messages_per_day; no row is no
// override.
func scanOverride(row interface{ Scan(...any) error }) (LimitOverride, error) {
	var r, m sql.NullInt64
	var o LimitOverride
	err := row.Scan(&r, &m)
	if errors.Is(err, sql.ErrNoRows) {
		return o, nil
	}
	if err != nil {
		return o, err
	}
	o.RecipientsPerDay, o.MessagesPerDay = intPtr(r), intPtr(m)
	return o, nil
}

func intPtr(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	i := int(v.Int64)
	return &i
}

// SendUsage is what an account sent in the window ending now.
func (s *Store) SendUsage(ctx context.Context, addr string) (recipients, messages int, err error) {
	err = s.queryRow(ctx, `SELECT COALESCE(SUM(recipients), 0), COALESCE(SUM(messages), 0) FROM send_usage WHERE account = ? AND at > ?`,
		addr, s.now().Add(-SendWindow).Unix()).Scan(&recipients, &messages)
	return recipients, messages, err
}

// ReserveSend counts recipients and messages against an account's limits
// (its override applied over defaults) and records them, atomically: two
// nodes or twenty sessions reserving at once never pass a limit together.
// It returns the reservation's ID, for ReleaseSend when the transaction is
// abandoned before the message is accepted, or an *OverLimitError.
//
// On SQLite, reservations made at the same time share one transaction
// (reserveBatches): SQLite has one writer at a time and synchronous=FULL
// makes each commit an fsync, which bounded every submission with a
// remote recipient to one fsync each, one after the other.
func (s *Store) ReserveSend(ctx context.Context, account string, recipients, messages int, defaults SendLimits) (int64, error) {
	if s.dialect == SQLite {
		return s.reserveBatched(ctx, reserveRequest{account: account, recipients: recipients, messages: messages, defaults: defaults})
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	// One account's reservations queue behind each other; other
	// accounts' go on (the lock is per account, per transaction).
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7026, hashtext($1))`, account); err != nil {
		return 0, err
	}
	id, err := s.reserveIn(ctx, tx, s.now(), account, recipients, messages, defaults)
	if err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

// reserveIn checks one reservation against the window as tx sees it and
// records it there.
func (s *Store) reserveIn(ctx context.Context, tx *sql.Tx, now time.Time, account string, recipients, messages int, defaults SendLimits) (int64, error) {
	since := now.Add(-SendWindow).Unix()
	o, err := scanOverride(tx.QueryRowContext(ctx, s.q(`SELECT recipients_per_day, messages_per_day FROM account_limits WHERE account = ?`), account))
	if err != nil {
		return 0, err
	}
	lim := o.Apply(defaults)
	// What aged out of the window is gone for good.
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM send_usage WHERE account = ? AND at <= ?`), account, since); err != nil {
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT at, recipients, messages FROM send_usage WHERE account = ? ORDER BY at, id`), account)
	if err != nil {
		return 0, err
	}
	type use struct{ at, r, m int64 }
	var uses []use
	var usedR, usedM int64
	for rows.Next() {
		var u use
		if err := rows.Scan(&u.at, &u.r, &u.m); err != nil {
			rows.Close()
			return 0, err
		}
		uses = append(uses, u)
		usedR += u.r
		usedM += u.m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	// freesAt is when enough of the oldest usage leaves the window for
	// want more to fit under max.
	freesAt := func(used, want, max int64, of func(use) int64) time.Time {
		for _, u := range uses {
			used -= of(u)
			if used+want <= max {
				return time.Unix(u.at, 0).Add(SendWindow)
			}
		}
		return now.Add(SendWindow)
	}
	if max := int64(lim.RecipientsPerDay); max > 0 && recipients > 0 && usedR+int64(recipients) > max {
		return 0, &OverLimitError{Limit: "recipients", Max: int(max), FreesAt: freesAt(usedR, int64(recipients), max, func(u use) int64 { return u.r })}
	}
	if max := int64(lim.MessagesPerDay); max > 0 && messages > 0 && usedM+int64(messages) > max {
		return 0, &OverLimitError{Limit: "messages", Max: int(max), FreesAt: freesAt(usedM, int64(messages), max, func(u use) int64 { return u.m })}
	}
	var id int64
	if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO send_usage (account, at, recipients, messages) VALUES (?, ?, ?, ?) RETURNING id`),
		account, now.Unix(), recipients, messages).Scan(&id); err != nil {
		return 0, err
	}
	return id, nil
}

// reserveRequest is one ReserveSend waiting for its batch.
type reserveRequest struct {
	account              string
	recipients, messages int
	defaults             SendLimits
	done                 chan reserveResult
}

type reserveResult struct {
	id  int64
	err error
}

// maxReserveBatch bounds one transaction's reservations.
const maxReserveBatch = 128

var errStoreClosed = errors.New("store: closed")

// startReserving starts reserveBatches once (and never after Close).
func (s *Store) startReserving() {
	s.reserveOnce.Do(func() {
		s.reserveQ = make(chan reserveRequest, maxReserveBatch)
		go s.reserveBatches()
	})
}

// reserveBatched hands r to the batching goroutine and waits for its
// result. A caller that gives up (ctx) leaves a goroutine to release the
// reservation should it be made after all.
func (s *Store) reserveBatched(ctx context.Context, r reserveRequest) (int64, error) {
	s.startReserving()
	r.done = make(chan reserveResult, 1)
	select {
	case s.reserveQ <- r:
	case <-s.closed:
		return 0, errStoreClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.id, res.err
	case <-ctx.Done():
		go func() {
			if res := <-r.done; res.err == nil {
				s.ReleaseSend(context.Background(), res.id)
			}
		}()
		return 0, ctx.Err()
	}
}

// reserveBatches makes the waiting reservations in one transaction, in
// the order they came, each checked against the window with the earlier
// ones of its batch in it: the same answers as one transaction each, one
// commit (one fsync) for all. A database error fails the whole batch;
// a refusal (*OverLimitError) is only its own request's.
func (s *Store) reserveBatches() {
	for {
		var first reserveRequest
		select {
		case first = <-s.reserveQ:
		case <-s.closed:
			return
		}
		batch := []reserveRequest{first}
	gather:
		for len(batch) < maxReserveBatch {
			select {
			case r := <-s.reserveQ:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		results := make([]reserveResult, len(batch))
		err := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the one writer
			if err != nil {
				return err
			}
			defer tx.Rollback()
			now := s.now()
			for i, r := range batch {
				id, err := s.reserveIn(ctx, tx, now, r.account, r.recipients, r.messages, r.defaults)
				var over *OverLimitError
				if err != nil && !errors.As(err, &over) {
					return err
				}
				results[i] = reserveResult{id, err}
			}
			return tx.Commit()
		}()
		for i, r := range batch {
			if err != nil {
				results[i] = reserveResult{err: err}
			}
			r.done <- results[i]
		}
	}
}

// ReleaseSend gives back reservations of a transaction that was abandoned
// (RSET, QUIT, a refused DATA): only accepted messages count.
func (s *Store) ReleaseSend(ctx context.Context, ids ...int64) error {
	for _, id := range ids {
		if _, err := s.exec(ctx, `DELETE FROM send_usage WHERE id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// SendStanding is one account's limits and what it sent in the window.
type SendStanding struct {
	Override             LimitOverride
	Recipients, Messages int
}

// SendStandings returns, for every account with an override or usage in
// the window, its standing: two queries for `user list`, not two an account.
func (s *Store) SendStandings(ctx context.Context) (map[string]*SendStanding, error) {
	out := map[string]*SendStanding{}
	get := func(a string) *SendStanding {
		if out[a] == nil {
			out[a] = &SendStanding{}
		}
		return out[a]
	}
	rows, err := s.query(ctx, `SELECT account, recipients_per_day, messages_per_day FROM account_limits`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var a string
		var r, m sql.NullInt64
		if err := rows.Scan(&a, &r, &m); err != nil {
			rows.Close()
			return nil, err
		}
		get(a).Override = LimitOverride{RecipientsPerDay: intPtr(r), MessagesPerDay: intPtr(m)}
	}
	rows.Close()
	rows, err = s.query(ctx, `SELECT account, SUM(recipients), SUM(messages) FROM send_usage WHERE at > ? GROUP BY account`, s.now().Add(-SendWindow).Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		var r, m int
		if err := rows.Scan(&a, &r, &m); err != nil {
			return nil, err
		}
		st := get(a)
		st.Recipients, st.Messages = r, m
	}
	return out, rows.Err()
}
