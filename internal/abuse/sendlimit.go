// Package abuse bounds what one account or one source can cost the ISP:
// daily send limits, the compromised-account response, the port-25
// notices to subscribers, and our pools as the MX sees them (AUTH on port
// 25). Login throttling is package login's (login.CheckFrom).
package abuse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/verdict"
)

// Usage is the store's send counter (store.Store).
type Usage interface {
	ReserveSend(ctx context.Context, account string, recipients, messages int, defaults store.SendLimits) (int64, error)
	ReleaseSend(ctx context.Context, ids ...int64) error
}

// SendLimiter applies the daily send limits to submissions: each remote
// recipient is reserved when it is accepted (RCPT), so a client learns at
// once, before sending the data, that the day's allowance is spent; the
// reservations of a transaction that does not end in an accepted message
// are given back.
type SendLimiter struct {
	Usage    Usage
	Defaults store.SendLimits
	// Defer answers 451 4.7.1 past a limit instead of 550 5.7.1.
	Defer bool
	Log   *slog.Logger
}

var errLimitTemp = &verdict.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Cannot check the sending limit now, try again later"}

// Reserve counts one recipient for account, and the message with it when
// first is set (the transaction's first counted recipient). It returns the
// reservation to release if the transaction is abandoned, or the reply
// that refuses the recipient.
func (l *SendLimiter) Reserve(ctx context.Context, account string, first bool) (int64, *verdict.Reply) {
	if l == nil {
		return 0, nil
	}
	messages := 0
	if first {
		messages = 1
	}
	id, err := l.Usage.ReserveSend(ctx, account, 1, messages, l.Defaults)
	var over *store.OverLimitError
	switch {
	case errors.As(err, &over):
		l.Log.Warn("daily send limit reached", "account", account, "limit", over.Limit, "max", over.Max, "frees_at", over.FreesAt)
		return 0, overLimitReply(over, l.Defer)
	case err != nil:
		l.Log.Error("send limit check failed", "account", account, "err", err)
		return 0, errLimitTemp
	}
	return id, nil
}

// overLimitReply names the limit and when it frees up, in words a mail
// client can show as they are (RFC 3463 X.7.1: delivery not authorized).
func overLimitReply(e *store.OverLimitError, deferred bool) *verdict.Reply {
	text := fmt.Sprintf("Daily sending limit reached: %d %s per 24 hours; more can be sent from %s",
		e.Max, e.Limit, e.FreesAt.UTC().Format("2006-01-02 15:04 MST"))
	if deferred {
		return &verdict.Reply{Code: 451, Enhanced: [3]int{4, 7, 1}, Text: text}
	}
	return &verdict.Reply{Code: 550, Enhanced: [3]int{5, 7, 1}, Text: text}
}

// Release gives back an abandoned transaction's reservations.
func (l *SendLimiter) Release(ids []int64) {
	if l == nil || len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Usage.ReleaseSend(ctx, ids...); err != nil {
		l.Log.Error("releasing send reservations failed", "ids", len(ids), "err", err)
	}
}
