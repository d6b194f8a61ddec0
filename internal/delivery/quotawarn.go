package delivery

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"mailgate/internal/keyed"
	"mailgate/internal/mailbox"
	"mailgate/internal/message"
)

// Quota warnings, as Dovecot's quota_warning: when a delivery takes a
// mailbox's usage past one of [mailbox] quota_warnings (percentages of
// its quota), the subscriber finds a notice in INBOX saying how full it
// is and how to make room. Nothing is remembered: a warning is due when
// the usage before the delivery was under the threshold and after it is
// at or over it, so it comes once per crossing, and again only after
// usage went below and back over.
//
// The notice is stored straight into the Maildir, past the quota (Dovecot
// delivers its warnings with the quota not enforced): a mailbox at 95 % is
// about to refuse mail, and the notice saying so must not be refused.
// It is not queued: the home node, which runs this delivery, has the
// Maildir.

// warnThreshold is the octets at which usage reaches pct percent of
// limit (rounded up), without overflowing for the largest quotas.
func warnThreshold(limit int64, pct int) int64 {
	q, r := limit/100, limit%100
	return q*int64(pct) + (r*int64(pct)+99)/100
}

// crossedWarning is the highest of warnings (percentages, ascending) that
// usage crossed going from before to after octets of limit; 0: none.
// When one delivery crosses several, only the highest is told, as
// Dovecot runs only the first matching warning.
func crossedWarning(warnings []int, limit, before, after int64) int {
	if limit <= 0 {
		return 0
	}
	crossed := 0
	for _, pct := range warnings {
		t := warnThreshold(limit, pct)
		if before < t && after >= t {
			crossed = pct
		}
	}
	return crossed
}

// warnLocks holds one mutex per account Maildir: while quota warnings
// are on, one delivery at a time checks the quota and stores its copies
// there, so each delivery's warning is judged on its own growth (two at
// once reading the same usage would each see both and warn twice).
// An account's is dropped when no delivery holds or waits on it.
var warnLocks keyed.Mutexes // by account Maildir

// reserveQuota is checkQuota for a delivery about to be stored: the
// octets stay reserved (mailbox.ReserveQuota) until done, so that
// deliveries to the same mailbox at once cannot all pass the check
// against the same usage. done, never nil, is called once the
// delivery's copies are stored (or it failed) with what they added to the
// usage; with quota warnings on it stores the warning if one is due.
//
// One reading of the usage serves both: the check's is the usage before
// the delivery, and the usage after it is that plus what the copies added
// (a copy already there from an attempt cut short adds nothing and warns
// of nothing). Deliveries to the account are serialized from the check to
// the warning, so the usage read is not moved by another's copies.
func (l *Local) reserveQuota(ctx context.Context, acct, dir string, adding int64) (done func(added mailbox.Usage), o *outcome) {
	nothing := func(mailbox.Usage) {}
	if l.Quotas == nil {
		return nothing, nil
	}
	limit, err := l.Quotas.MailboxQuota(ctx, acct)
	if err != nil {
		return nothing, l.quotaOutcome(acct, err)
	}
	warn := len(l.QuotaWarnings) > 0 && limit > 0
	unlock := func() {}
	if warn {
		unlock = warnLocks.Lock(dir)
	}
	before, release, err := mailbox.ReserveQuotaUsage(dir, limit, adding)
	if o := l.quotaOutcome(acct, err); o != nil {
		unlock()
		return nothing, o
	}
	return func(added mailbox.Usage) {
		defer release()
		defer unlock()
		if warn {
			after := mailbox.Usage{Bytes: before.Bytes + added.Bytes, Messages: before.Messages + added.Messages}
			l.quotaWarn(acct, dir, limit, before.Bytes, after, time.Now())
		}
	}, nil
}

// quotaWarn stores the warning, if one is due, for a delivery that took
// acct's usage from before octets to after, of limit. Failures are
// logged: the delivery itself went through.
func (l *Local) quotaWarn(acct, dir string, limit, before int64, after mailbox.Usage, now time.Time) {
	pct := crossedWarning(l.QuotaWarnings, limit, before, after.Bytes)
	if pct == 0 {
		return
	}
	from := l.QuotaWarningFrom
	if from == "" {
		from = "postmaster@" + l.Hostname
	}
	body := QuotaWarningMessage(from, acct, l.Hostname, pct, after, limit, now)
	name := mailbox.DeliveryName(now, "quota-"+strconv.Itoa(pct), l.Hostname, int64(len(body)))
	if err := mailbox.DeliverNew(dir, name, bytes.NewReader(body)); err != nil {
		l.Log.Error("quota warning not stored", "account", acct, "percent", pct, "err", err)
		return
	}
	l.Log.Info("quota warning", "account", acct, "percent", pct, "used", after.Bytes, "quota", limit)
}

// QuotaWarningMessage is the notice: Japanese first, as the subscribers
// read it, then English, in UTF-8 (RFC 6532 body, RFC 2047 subject), with
// Auto-Submitted (RFC 3834 §5) so no vacation reply answers it; built as
// the abuse notices are (internal/abuse).
func QuotaWarningMessage(from, to, hostname string, pct int, u mailbox.Usage, limit int64, now time.Time) []byte {
	used, quota := sizeMB(u.Bytes), sizeMB(limit)
	subject := fmt.Sprintf("メールボックスの容量が %d%% を超えました / Your mailbox is over %d%% full", pct, pct)
	text := fmt.Sprintf(`%s 様

メールボックスの使用量が容量制限の %d%% を超えました。
使用量: %s / %s（%d 通）

容量がいっぱいになると、新しいメールを受け取れなくなります（送信者に
エラーが返ります）。不要なメールを削除し、「ごみ箱」を空にしてください。
大きな添付ファイルのあるメールは、保存してから削除すると効果があります。

--
Dear %s,

Your mailbox is over %d%% of its storage limit.
Used: %s of %s (%d messages)

Once it is full, new mail cannot be delivered to you (the senders get an
error). Please delete mail you no longer need and empty the Trash; saving
large attachments elsewhere and deleting their messages helps most.
`, to, pct, used, quota, u.Messages, to, pct, used, quota, u.Messages)
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.BEncoding.Encode("UTF-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	b.WriteString(message.MessageIDField(hostname, now) + "\r\n")
	b.WriteString("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
	return []byte(b.String())
}

// sizeMB is a size for the notice, in binary units as config sizes are:
// 512 B, 9.8 KB, 1.5 MB, 2.0 GB.
func sizeMB(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
}
