package abuse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/netip"
	"strings"
	"sync"
	"time"

	"mailgate/internal/message"
	"mailgate/internal/scan"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// The compromised-account response (issue 11 §3): a stolen password or an
// infected PC shows in an account's own traffic before anyone complains.
// Each signal is one method of Monitor, called where the fact is known
// (submission, remote delivery, login); a signal that fires suspends the
// account's sending, holds its queued outgoing mail, and tells the
// subscriber and the operator, all audited. A password change lifts the
// suspension (store.SetPassword); the operator releases or removes the
// held mail.

// Compromise modes.
const (
	CompromiseEnforce = "enforce"
	CompromiseReport  = "report"
	CompromiseOff     = "off"
)

// CompromisePolicy is [abuse.compromise], with the node's identity.
type CompromisePolicy struct {
	Mode           string
	BaselineFactor float64
	BaselineDays   int
	BaselineMin    int
	RefusedShare   float64
	RefusedMin     int
	Virus          bool
	SpamScore      float64
	LoginSources   int
	LoginWindow    time.Duration
	Operator       string // the operator's copy; "" is postmaster@Hostname
	From           string // the notices' sender; "" is postmaster@Hostname
	Hostname       string
}

// CompromiseStore is what the response needs from the store.
type CompromiseStore interface {
	SendUsage(ctx context.Context, addr string) (recipients, messages int, err error)
	RecordAccountEvent(ctx context.Context, account, kind string, n int, detail string) error
	AccountEvents(ctx context.Context, account, kind string, from, to time.Time) (int, error)
	AccountEventDetails(ctx context.Context, account, kind string, since time.Time) (int, error)
	PruneAccountEvents(ctx context.Context, keep time.Duration) error
	SuspendCompromised(ctx context.Context, actor, account, signal, detail string) (bool, error)
	Resolve(ctx context.Context, addr string) (string, error)
	Audit(ctx context.Context, actor, action, subject, detail string) error
}

// Monitor watches accounts for the signals and responds.
type Monitor struct {
	Store  CompromiseStore
	Spool  *spool.Spool
	Policy CompromisePolicy
	Log    *slog.Logger

	pending sync.WaitGroup // the checks running in the background

	mu       sync.Mutex
	seen     map[string]time.Time // account + network -> when its login was last recorded
	reported map[string]time.Time // account + signal -> last report-only entry
	pruned   time.Time
}

// background runs a check off the caller's path (a session must not wait
// for the store), counted so Wait can see the responses finished.
func (m *Monitor) background(check func(ctx context.Context)) {
	m.pending.Add(1)
	go func() {
		defer m.pending.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		check(ctx)
	}()
}

// Wait returns once every check started so far has finished, its
// response (suspension, held queue, notices in the spool) included.
func (m *Monitor) Wait() { m.pending.Wait() }

// actor names the response in the audit log.
const actor = "abuse:compromise"

// Signal names.
const (
	SignalBaseline = "baseline"
	SignalRefused  = "refused"
	SignalVirus    = "virus"
	SignalSpam     = "spam"
	SignalLogins   = "logins"
)

// Submitted is called for every submission that reached the end of DATA:
// remote is its count of recipients outside our domains, accepted whether
// it was queued, notes the verdict's notes (a virus found leaves
// scan.NoteVirus).
func (m *Monitor) Submitted(account string, remote int, accepted bool, notes map[string]any) {
	if m == nil || account == "" {
		return
	}
	found, virus := notes[scan.NoteVirus].(*scan.VirusFound)
	spam, scored := notes[scan.NoteSpam].(*scan.Spam)
	m.background(func(ctx context.Context) {
		if virus && m.Policy.Virus {
			m.respond(ctx, account, SignalVirus, fmt.Sprintf("virus %s found by %s in its outgoing mail", found.Name, found.Engine))
			return
		}
		if scored && m.Policy.SpamScore > 0 && spam.Score >= m.Policy.SpamScore {
			m.respond(ctx, account, SignalSpam, fmt.Sprintf("outgoing message scored %.1f as spam (limit %.1f)", spam.Score, m.Policy.SpamScore))
			return
		}
		if !accepted || remote == 0 {
			return
		}
		if err := m.Store.RecordAccountEvent(ctx, account, store.EventSent, remote, ""); err != nil {
			m.Log.Error("compromise: recording a submission", "account", account, "err", err)
			return
		}
		m.checkBaseline(ctx, account)
		m.prune(ctx)
	})
}

// checkBaseline compares the last 24 hours' remote recipients with the
// account's own daily average over the days before.
func (m *Monitor) checkBaseline(ctx context.Context, account string) {
	p := m.Policy
	if p.BaselineFactor <= 0 {
		return
	}
	now := time.Now()
	current, _, err := m.Store.SendUsage(ctx, account)
	if err != nil {
		m.Log.Error("compromise: reading send usage", "account", account, "err", err)
		return
	}
	if current < p.BaselineMin {
		return
	}
	dayAgo := now.Add(-store.SendWindow)
	before, err := m.Store.AccountEvents(ctx, account, store.EventSent, dayAgo.Add(-time.Duration(p.BaselineDays)*store.SendWindow), dayAgo)
	if err != nil {
		m.Log.Error("compromise: reading the baseline", "account", account, "err", err)
		return
	}
	avg := float64(before) / float64(p.BaselineDays)
	if float64(current) > p.BaselineFactor*avg {
		m.respond(ctx, account, SignalBaseline, fmt.Sprintf("%d remote recipients in 24 hours, against a daily average of %.1f over the %d days before (limit %gx, at least %d)",
			current, avg, p.BaselineDays, p.BaselineFactor, p.BaselineMin))
	}
}

// RemoteResults is called after a remote delivery attempt of an
// account's message: recipients the receiving servers took, and those
// they refused for good.
func (m *Monitor) RemoteResults(env *spool.Envelope, delivered, refused int) {
	if m == nil || env.Auth == "" {
		return
	}
	account := env.Auth
	m.background(func(ctx context.Context) {
		for kind, n := range map[string]int{store.EventDelivered: delivered, store.EventRefused: refused} {
			if n == 0 {
				continue
			}
			if err := m.Store.RecordAccountEvent(ctx, account, kind, n, ""); err != nil {
				m.Log.Error("compromise: recording delivery results", "account", account, "err", err)
				return
			}
		}
		if refused > 0 {
			m.checkRefused(ctx, account)
		}
	})
}

func (m *Monitor) checkRefused(ctx context.Context, account string) {
	p := m.Policy
	if p.RefusedShare <= 0 {
		return
	}
	now := time.Now()
	since := now.Add(-store.SendWindow)
	refused, err := m.Store.AccountEvents(ctx, account, store.EventRefused, since, now.Add(time.Second))
	if err != nil || refused < p.RefusedMin {
		return
	}
	delivered, err := m.Store.AccountEvents(ctx, account, store.EventDelivered, since, now.Add(time.Second))
	if err != nil {
		return
	}
	if share := float64(refused) / float64(refused+delivered); share >= p.RefusedShare {
		m.respond(ctx, account, SignalRefused, fmt.Sprintf("%d of %d remote recipients in 24 hours refused by the receiving servers (limit %.0f%%, at least %d)",
			refused, refused+delivered, p.RefusedShare*100, p.RefusedMin))
	}
}

// LoggedIn is called for every successful login (login.Throttle's
// OnSuccess). Each network (IPv4 /24, IPv6 /48) an account logs in from
// is recorded once per window per node, so a client polling every minute
// costs no store write.
func (m *Monitor) LoggedIn(account string, client netip.Addr) {
	if m == nil || m.Policy.LoginSources <= 0 {
		return
	}
	p := m.Policy
	bits := 24
	if client.Is6() {
		bits = 48
	}
	network, _ := client.Prefix(bits)
	key := account + " " + network.String()
	now := time.Now()
	m.mu.Lock()
	if m.seen == nil || len(m.seen) > 100000 {
		m.seen = map[string]time.Time{}
	}
	fresh := now.Sub(m.seen[key]) >= p.LoginWindow/2
	if fresh {
		m.seen[key] = now
	}
	m.mu.Unlock()
	if !fresh {
		return
	}
	m.background(func(ctx context.Context) {
		if err := m.Store.RecordAccountEvent(ctx, account, store.EventLogin, 1, network.String()); err != nil {
			m.Log.Error("compromise: recording a login", "account", account, "err", err)
			return
		}
		n, err := m.Store.AccountEventDetails(ctx, account, store.EventLogin, now.Add(-p.LoginWindow))
		if err != nil || n < p.LoginSources {
			return
		}
		m.respond(ctx, account, SignalLogins, fmt.Sprintf("logged in from %d networks within %s (limit %d)", n, p.LoginWindow, p.LoginSources))
	})
}

// respond acts on a signal: in report mode it only logs and audits (once
// a day per account and signal); enforcing, it suspends sending, holds
// the queue and sends the notices, once per suspension.
func (m *Monitor) respond(ctx context.Context, account, signal, detail string) {
	switch m.Policy.Mode {
	case CompromiseOff:
		return
	case CompromiseReport:
		m.mu.Lock()
		if m.reported == nil {
			m.reported = map[string]time.Time{}
		}
		key := account + " " + signal
		again := time.Since(m.reported[key]) < 24*time.Hour
		if !again {
			m.reported[key] = time.Now()
		}
		m.mu.Unlock()
		if again {
			return
		}
		m.Log.Warn("compromised account suspected (report only: would suspend sending, hold its queue and notify)", "account", account, "signal", signal, "detail", detail)
		if err := m.Store.Audit(ctx, actor, "abuse.compromise.report", account, signal+": "+detail+" (report only: would suspend sending, hold its queued mail and notify)"); err != nil {
			m.Log.Error("compromise: audit", "account", account, "err", err)
		}
		return
	}
	made, err := m.Store.SuspendCompromised(ctx, actor, account, signal, detail)
	if err != nil {
		m.Log.Error("compromise: suspending sending failed", "account", account, "signal", signal, "err", err)
		return
	}
	if !made {
		return // not active: suspended already, by us or an operator
	}
	m.Log.Warn("compromised account: sending suspended", "account", account, "signal", signal, "detail", detail)
	held, err := m.holdQueue(account)
	if err != nil {
		m.Log.Error("compromise: holding queued mail", "account", account, "err", err)
	}
	m.audit(ctx, account, "abuse.compromise.hold", fmt.Sprintf("%d queued messages held", len(held)))
	m.notify(ctx, account, signal, detail, held)
}

func (m *Monitor) audit(ctx context.Context, account, action, detail string) {
	if err := m.Store.Audit(ctx, actor, action, account, detail); err != nil {
		m.Log.Error("compromise: audit", "account", account, "action", action, "err", err)
	}
}

// holdQueue holds every queued message the account submitted; the
// delivery agent keeps a hold given while an attempt runs.
func (m *Monitor) holdQueue(account string) ([]string, error) {
	if m.Spool == nil {
		return nil, nil
	}
	ids, err := m.Spool.IDs()
	if err != nil {
		return nil, err
	}
	var held []string
	var errs []error
	for _, id := range ids {
		msg, err := m.Spool.Open(id)
		if err != nil {
			continue // delivered meanwhile
		}
		env := msg.Envelope
		msg.Close()
		if !strings.EqualFold(env.Auth, account) {
			continue
		}
		st, err := m.Spool.State(&env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Held || len(st.Pending()) == 0 {
			continue
		}
		st.Held = true
		if err := m.Spool.SaveState(id, st); err != nil {
			errs = append(errs, err)
			continue
		}
		held = append(held, id)
	}
	return held, errors.Join(errs...)
}

// notify puts a notice in the subscriber's mailbox and sends the operator
// one: into the operator's mailbox when the address is ours, else through
// the queue.
func (m *Monitor) notify(ctx context.Context, account, signal, detail string, held []string) {
	p := m.Policy
	from := p.From
	if from == "" {
		from = "postmaster@" + p.Hostname
	}
	operator := p.Operator
	if operator == "" {
		operator = "postmaster@" + p.Hostname
	}
	now := time.Now()
	sub := composeNotice(from, account, now, p.Hostname,
		"【重要】アカウントの送信を停止しました / Sending from your account has been suspended",
		fmt.Sprintf(subscriberText, account, detail))
	if err := queueNotice(m.Spool, account, sub, now); err != nil {
		m.Log.Error("compromise: notice to the subscriber", "account", account, "err", err)
	} else {
		m.audit(ctx, account, "abuse.compromise.notice", "notice delivered to "+account)
	}
	op := composeNotice(from, operator, now, p.Hostname, "Compromised account suspended: "+account,
		fmt.Sprintf(operatorText, account, signal, detail, len(held), strings.Join(held, " ")))
	if err := queueNotice(m.Spool, operator, op, now); err != nil {
		m.Log.Error("compromise: notice to the operator", "operator", operator, "err", err)
		return
	}
	m.audit(ctx, account, "abuse.compromise.notice", "notice sent to "+operator)
}

// composeNotice is a UTF-8 text message with Auto-Submitted (RFC 3834 §5).
func composeNotice(from, to string, now time.Time, hostname, subject, text string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", from, to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.BEncoding.Encode("UTF-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	b.WriteString(message.MessageIDField(hostname, now) + "\r\n")
	b.WriteString("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}

const subscriberText = `%[1]s 様

お客様のメールアカウントから、不正利用が疑われる送信を検知したため、
メールの送信を一時的に停止しました（受信は引き続きご利用いただけます）。
検知内容: %[2]s

パスワードが第三者に知られたか、パソコンがウイルスに感染している可能性が
あります。ウイルス対策ソフトでパソコンを検査し、パスワードを変更してください。
パスワードを変更すると送信は再開されます。送信待ちのメールは保留しており、
当社で確認のうえ送信または削除いたします。

--
Dear %[1]s,

We have suspended sending from your mail account because of signs that it is
being misused (you can still receive and read mail).
What we saw: %[2]s

Your password may be known to someone else, or your computer may be infected.
Please scan your computer with antivirus software and change your password;
changing it restores sending. Mail waiting to be sent is held; we will check it
and send or remove it.
`

const operatorText = `Account: %s
Signal: %s
Detail: %s

Sending is suspended (status sending-disabled); a password change restores it.
%d queued messages were held: %s
Release them with: mailgate queue release ID...
Remove them with:  mailgate queue remove ID...
`

// prune drops events older than any signal reads, at most hourly.
func (m *Monitor) prune(ctx context.Context) {
	m.mu.Lock()
	due := time.Since(m.pruned) > time.Hour
	if due {
		m.pruned = time.Now()
	}
	m.mu.Unlock()
	if !due {
		return
	}
	keep := time.Duration(m.Policy.BaselineDays+1)*store.SendWindow + m.Policy.LoginWindow
	if err := m.Store.PruneAccountEvents(ctx, keep); err != nil {
		m.Log.Error("compromise: pruning old events", "err", err)
	}
}
