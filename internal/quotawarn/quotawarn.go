// Package quotawarn tells a subscriber, by a notice in INBOX, that the
// mailbox passed one of [mailbox] quota_warnings (percentages of its
// quota), as Dovecot's quota_warning does. Dovecot runs it on any change
// that raises the usage, so every writer of a Maildir goes through here:
// delivery, IMAP APPEND and COPY, webmail's Drafts and Sent copies, and
// an operator's lowering of the quota (CLI, admin API, console).
//
// Nothing is remembered: a warning is due when the usage was under the
// threshold before the change and is at or over it after, so it comes
// once per crossing, and again only after usage went below and back over.
//
// The notice is stored straight into the Maildir, past the quota (Dovecot
// delivers its warnings with the quota not enforced): a mailbox at 95 % is
// about to refuse mail, and the notice saying so must not be refused.
// It is not queued: the node that made the change has the Maildir.
package quotawarn

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/keyed"
	"mailgate/internal/mailbox"
)

// Warner stores quota warnings. A nil Warner, or one without Percents,
// warns of nothing and only reserves.
type Warner struct {
	Percents []int  // [mailbox] quota_warnings, ascending
	From     string // the notices' sender; "": postmaster@Hostname
	Hostname string
	Log      *slog.Logger
}

// FromConfig is the node's Warner: [mailbox] quota_warnings and
// quota_warning_from.
func FromConfig(cfg *config.Config, log *slog.Logger) *Warner {
	return &Warner{Percents: cfg.Mailbox.QuotaWarnings, From: cfg.Mailbox.QuotaWarningFrom, Hostname: cfg.Hostname, Log: log}
}

func (w *Warner) on(limit int64) bool {
	return w != nil && len(w.Percents) > 0 && limit > 0
}

// locks holds one mutex per account Maildir: while quota warnings are on,
// one writer at a time (a delivery, an APPEND, a webmail save, a quota
// change) reads the usage and makes its change there, so each change's
// warning is judged on its own growth (two at once reading the same usage
// would each see both and warn twice). An account's is dropped when no
// writer holds or waits on it. One process shares it: the node's
// delivery, IMAP and webmail.
var locks keyed.Mutexes // by filepath.Clean(account Maildir)

// LocksHeld is how many accounts' warning locks exist (tests: none once
// every writer is done).
func LocksHeld() int { return locks.Len() }

func lock(dir string) (unlock func()) { return locks.Lock(filepath.Clean(dir)) }

// Reserve is mailbox.ReserveQuotaUsage for a change about to add octets
// to acct's Maildir dir under limit: the octets stay reserved until done,
// so that changes at once cannot all pass the check against the same
// usage. done, never nil, is called once the change is made (or failed)
// with what it added to the usage; with warnings on it stores the
// warning if one is due. On an error (mailbox.ErrOverQuota, or reading
// the usage) nothing is reserved and done does nothing.
//
// One reading of the usage serves both: the check's is the usage before
// the change, and the usage after it is that plus what was added (a
// delivery's copy already there from an attempt cut short adds nothing
// and warns of nothing). Changes to the account are serialized from the
// check to the warning, so the usage read is not moved by another's.
func (w *Warner) Reserve(acct, dir string, limit, adding int64) (done func(added mailbox.Usage), err error) {
	warn := w.on(limit)
	unlock := func() {}
	if warn {
		unlock = lock(dir)
	}
	before, release, err := mailbox.ReserveQuotaUsage(dir, limit, adding)
	if err != nil {
		unlock()
		return func(mailbox.Usage) {}, err
	}
	return func(added mailbox.Usage) {
		defer release()
		defer unlock()
		if warn {
			after := mailbox.Usage{Bytes: before.Bytes + added.Bytes, Messages: before.Messages + added.Messages}
			w.store(acct, dir, Crossed(w.Percents, limit, before.Bytes, limit, after.Bytes), after, limit, time.Now())
		}
	}, nil
}

// Watch is Reserve's warning without its check, for a change whose
// octets were reserved (mailbox.ReserveQuota) before a part too slow to
// hold the account's lock through: an APPEND's literal, which a client
// sends at its own pace. Called once that part is done (the message
// staged), it locks the account and reads the usage; done, never nil,
// called once the change is made (or failed) with what it added, stores
// the warning if one is due and unlocks.
func (w *Warner) Watch(acct, dir string, limit int64) (done func(added mailbox.Usage)) {
	if !w.on(limit) {
		return func(mailbox.Usage) {}
	}
	unlock := lock(dir)
	before, err := mailbox.AccountUsage(dir)
	if err != nil {
		unlock()
		w.Log.Error("quota warning: reading the usage", "account", acct, "err", err)
		return func(mailbox.Usage) {}
	}
	return func(added mailbox.Usage) {
		defer unlock()
		after := mailbox.Usage{Bytes: before.Bytes + added.Bytes, Messages: before.Messages + added.Messages}
		w.store(acct, dir, Crossed(w.Percents, limit, before.Bytes, limit, after.Bytes), after, limit, time.Now())
	}
}

// QuotaChanged stores the warning due when acct's quota went from
// oldLimit to newLimit octets (0: unlimited) over a usage that did not
// change: usage at 90 % of a lowered quota with warnings at 80 and 95 %
// crossed 80 % by the change, as if mail had come. Raising the quota, or
// lifting it, warns of nothing. A Maildir not on this node (another
// node's, in a fleet; an account never written to) is left alone.
func (w *Warner) QuotaChanged(acct, dir string, oldLimit, newLimit int64) {
	if !w.on(newLimit) || oldLimit == newLimit {
		return
	}
	if !mailbox.FolderExists(dir, mailbox.Inbox) {
		return
	}
	defer lock(dir)()
	u, err := mailbox.AccountUsage(dir)
	if err != nil {
		w.Log.Error("quota warning: reading the usage", "account", acct, "err", err)
		return
	}
	w.store(acct, dir, Crossed(w.Percents, oldLimit, u.Bytes, newLimit, u.Bytes), u, newLimit, time.Now())
}

// store stores the warning for pct (0: none due) of a change that left
// acct's usage at after, of limit. Failures are logged: the change itself
// went through.
func (w *Warner) store(acct, dir string, pct int, after mailbox.Usage, limit int64, now time.Time) {
	if pct == 0 {
		return
	}
	from := w.From
	if from == "" {
		from = "postmaster@" + w.Hostname
	}
	body := Message(from, acct, w.Hostname, pct, after, limit, now)
	name := mailbox.DeliveryName(now, "quota-"+strconv.Itoa(pct), w.Hostname, int64(len(body)))
	if err := mailbox.DeliverNew(dir, name, bytes.NewReader(body)); err != nil {
		w.Log.Error("quota warning not stored", "account", acct, "percent", pct, "err", err)
		return
	}
	w.Log.Info("quota warning", "account", acct, "percent", pct, "used", after.Bytes, "quota", limit)
}

// threshold is the octets at which usage reaches pct percent of limit
// (rounded up), without overflowing for the largest quotas.
func threshold(limit int64, pct int) int64 {
	q, r := limit/100, limit%100
	return q*int64(pct) + (r*int64(pct)+99)/100
}

// Crossed is the highest of percents (ascending) that a change crossed:
// usage was under it before (before octets of oldLimit) and is at or over
// it after (after octets of newLimit); 0: none. A limit of 0 is
// unlimited: nothing is over it. A change of usage passes the same limit
// twice; a change of quota passes the same usage twice. When one change
// crosses several, only the highest is told, as Dovecot runs only the
// first matching warning.
func Crossed(percents []int, oldLimit, before, newLimit, after int64) int {
	if newLimit <= 0 {
		return 0
	}
	crossed := 0
	for _, pct := range percents {
		wasOver := oldLimit > 0 && before >= threshold(oldLimit, pct)
		if !wasOver && after >= threshold(newLimit, pct) {
			crossed = pct
		}
	}
	return crossed
}
