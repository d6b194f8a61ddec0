package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"mailgate/internal/address"
	"mailgate/internal/mailbox"
	"mailgate/internal/quotawarn"
	"mailgate/internal/sieve"
	"mailgate/internal/spool"
	"mailgate/internal/store"
	"mailgate/internal/verdict"
)

// Directory is what local delivery needs from the store.
type Directory interface {
	HasDomain(ctx context.Context, name string) (bool, error)
	Resolve(ctx context.Context, addr string) (string, error)
}

// Local delivers to accounts in our domains, into Maildir.
type Local struct {
	Dir      Directory
	MailRoot string // <data_dir>/mail
	Hostname string
	Log      *slog.Logger
	// Scripts gives each account's active Sieve script; nil: no filtering.
	Scripts ScriptSource
	// SieveLimits bound a script's run (config [sieve] max_redirects);
	// zero fields take sieve.DefaultLimits.
	SieveLimits sieve.Limits
	// Vacations and Spool send Sieve vacation replies; nil: none are sent.
	Vacations VacationLog
	Spool     *spool.Spool
	// Sends counts Sieve redirects against the daily send limits, with
	// SendDefaults for accounts without their own; nil: no limits.
	Sends        SendUsage
	SendDefaults store.SendLimits
	// Homes, in a fleet, says which recipients are homed on other nodes.
	Homes Homes
	// Quotas gives accounts' mailbox quotas; nil: none are enforced.
	// QuotaFull ([mailbox] quota_full) says whether a full mailbox
	// defers (the default) or rejects a delivery.
	Quotas    Quotas
	QuotaFull string
	// QuotaWarner ([mailbox] quota_warnings, quotawarn.FromConfig, as
	// IMAP and webmail have it) puts a notice in INBOX when a delivery
	// takes usage past one; nil warns of nothing.
	QuotaWarner *quotawarn.Warner
}

// Deliver delivers every pending recipient of m that is in one of our
// domains and updates st; recipients in other domains stay pending. fresh
// says this is the first attempt of a message this process received
// (spool.TakeFresh), so no earlier copy can be in a mailbox.
func (l *Local) Deliver(m *spool.Message, st *spool.State, fresh bool) {
	l.deliverAll(context.Background(), m, st, spooledStore(m, fresh))
}

// deliverAll is Deliver with the way each copy is stored: the spooled
// path (Deliver) and delivery before the 250 (DeliverBeforeAck) share
// every rule but that one. It returns the Sieve rejection reasons of the
// recipients whose script rejected the message, by address.
func (l *Local) deliverAll(ctx context.Context, m *spool.Message, st *spool.State, put storeFunc) (refusals map[string]*verdict.Reply) {
	f := newFolder(st)
	// The accounts whose delivery stored no copy and redirected it on, in
	// this pass or an earlier attempt (recorded in the state, so that a
	// deferred recipient's redirect back still sees them): a redirect
	// back to one of them closes a loop.
	passedOn := map[string]bool{}
	for _, r := range st.Rcpts {
		if r.PassedOn && r.Mailbox != "" {
			passedOn[r.Mailbox] = true
		}
	}
	// By index: a Sieve redirect to one of our addresses appends a
	// recipient that this loop then delivers too.
	for i := 0; i < len(st.Rcpts); i++ {
		r := st.Rcpts[i]
		if r.Status != spool.Pending {
			continue
		}
		ours, err := l.Dir.HasDomain(ctx, address.Domain(r.Addr))
		if err != nil {
			st.Rcpts[i].Error = "directory unavailable: " + err.Error()
			continue
		}
		if !ours {
			continue
		}
		acct, o := l.account(ctx, m, r.Addr)
		if o == nil && l.homedElsewhere(ctx, &st.Rcpts[i], acct) {
			continue
		}
		if o == nil {
			if j, ok := f.first(acct, i); ok {
				o = folded(st, j, refusals)
				l.Log.Info("same mailbox as an earlier recipient: delivered once", "id", m.Envelope.ID, "rcpt", r.Addr, "as", st.Rcpts[j].Addr, "mailbox", acct, "status", o.status)
			} else {
				d := l.deliverOne(ctx, m, st, i, r.Addr, acct, put, passedOn)
				o = &d
				if d.passedOn {
					passedOn[acct] = true
					st.Rcpts[i].PassedOn = true
				}
			}
			st.Rcpts[i].Mailbox = acct
		}
		st.Rcpts[i].Status, st.Rcpts[i].Error = o.status, o.text
		if o.refusal != nil {
			if refusals == nil {
				refusals = map[string]*verdict.Reply{}
			}
			refusals[r.Addr] = o.refusal
		}
	}
	return refusals
}

// account resolves a local recipient to the account whose mailbox takes
// its mail, or returns the outcome that settles it without one.
func (l *Local) account(ctx context.Context, m *spool.Message, rcpt string) (string, *outcome) {
	acct, err := l.Dir.Resolve(ctx, rcpt)
	if errors.Is(err, store.ErrNotFound) {
		// Sessions refuse unknown local users at RCPT, so this is an
		// account removed while the message was queued.
		l.Log.Warn("local recipient unknown", "id", m.Envelope.ID, "rcpt", rcpt)
		return "", &outcome{status: spool.Failed, text: "550 5.1.1 no such user here"}
	}
	if err != nil {
		return "", &outcome{status: spool.Pending, text: "directory unavailable: " + err.Error()}
	}
	return acct, nil
}

// storeFunc stores one delivery's copy in the Maildir dir as name, with
// the flag letters (RFC 5232) a Sieve script set, if any, and says what it
// added to the account's usage (nothing when the copy was there already).
type storeFunc func(dir, name, letters string) (mailbox.Usage, error)

// spooledStore stores a spooled message, one file per copy. A fresh
// message (its first attempt in this process) cannot be there already;
// any other may be, from an attempt cut short by a crash.
func spooledStore(m *spool.Message, fresh bool) storeFunc {
	return func(dir, name, letters string) (mailbox.Usage, error) {
		return mailbox.DeliverCounted(dir, name, letters, m.Body(), fresh)
	}
}

// outcome is one local recipient's delivery: its new status and error
// text, and, when its Sieve script rejected the message or its mailbox is
// full, the reply that refuses it at the protocol level when it is a
// message's only recipient (DeliverBeforeAck).
type outcome struct {
	status, text string
	refusal      *verdict.Reply
	// passedOn: the script redirected the message and no copy was
	// stored here.
	passedOn bool
}

// deliverOne delivers to one local recipient, whose mailbox is acct's,
// and returns its new status.
// The Maildir name comes from the spool ID and recipient index, so a
// delivery repeated after a crash is recognised and not duplicated.
func (l *Local) deliverOne(ctx context.Context, m *spool.Message, st *spool.State, idx int, rcpt, acct string, put storeFunc, passedOn map[string]bool) outcome {
	env := &m.Envelope
	name := mailbox.DeliveryName(env.Received, env.ID+"."+strconv.Itoa(idx), l.Hostname, env.Size)
	dir, err := mailbox.Dir(l.MailRoot, acct)
	if err != nil {
		// The same account gives the same answer at every retry.
		l.Log.Error("no mailbox path for recipient", "id", m.Envelope.ID, "rcpt", rcpt, "err", err)
		return outcome{status: spool.Failed, text: "550 5.2.0 mailbox unavailable"}
	}
	plan, err := l.filter(ctx, m, rcpt, acct, dir)
	if err != nil {
		return outcome{status: spool.Pending, text: "sieve script unavailable: " + err.Error()}
	}
	if plan.reject != "" {
		if env.Junk || env.Unverified {
			// No backscatter: a rejection of mail judged spam, or whose
			// sender failed SPF or DMARC, would go to a forged sender. It
			// is kept instead (in Junk when judged spam).
			l.Log.Info("sieve reject not sent: the sender is not verified; kept", "id", env.ID, "rcpt", rcpt)
			plan = keepPlan(env.Junk)
		} else {
			// RFC 5429 §2.2: after the 250 a rejection is a bounce; the
			// agent sends the DSN (never to the null sender).
			l.Log.Info("rejected by sieve", "id", env.ID, "rcpt", rcpt)
			return outcome{status: spool.Failed, text: "550 5.7.1 rejected by the recipient's filter: " + oneLine(plan.reject),
				refusal: &verdict.Reply{Code: 550, Enhanced: [3]int{5, 7, 1}, Text: sieveRejectReply(plan.reject)}}
		}
	}
	added, refused, err := l.addRedirects(ctx, st, acct, plan.redirects, passedOn, l.Log.With("id", env.ID, "rcpt", rcpt))
	if err != nil {
		return outcome{status: spool.Pending, text: "sieve redirect: " + err.Error()}
	}
	if len(added) > 0 {
		l.Log.Info("sieve redirect", "id", env.ID, "rcpt", rcpt, "to", added)
	}
	plan.keepRefused(refused)
	// Every copy counts (fileinto and keep store it twice), as Dovecot
	// counts them; the whole delivery fits or none of it is stored.
	// Reserved until stored: deliveries to this mailbox at once see it.
	// Nothing to store (Sieve discard, every copy redirected): no quota
	// lookup and no read of the usage file.
	var stored mailbox.Usage // by this delivery's copies, for the quota warning
	if len(plan.folders) > 0 {
		done, o := l.reserveQuota(ctx, acct, dir, env.Size*int64(len(plan.folders)))
		if o != nil {
			l.Log.Info("not delivered: mailbox full", "id", env.ID, "rcpt", rcpt, "mailbox", acct, "reply", o.text)
			return *o
		}
		defer func() { done(stored) }()
	}
	for _, tg := range plan.folders {
		folder, fdir := tg.folder, dir
		if folder != "" {
			if folder == mailbox.Junk {
				// The verdict's Junk folder, created on first use (an
				// account that never logged in has none yet).
				if err := mailbox.CreateFolder(dir, mailbox.Junk); err != nil && !errors.Is(err, mailbox.ErrFolderExists) {
					return outcome{status: spool.Pending, text: fmt.Sprintf("maildir: %v", err)}
				}
			}
			if fdir, err = mailbox.FolderDir(dir, folder); err != nil {
				fdir = dir
			}
		}
		letters, dropped := mailbox.FlagLetters(tg.flags)
		if len(dropped) > 0 {
			l.Log.Warn("sieve flags a Maildir cannot keep were dropped", "id", env.ID, "rcpt", rcpt, "flags", dropped)
		}
		d, err := put(fdir, name, letters)
		stored.Bytes, stored.Messages = stored.Bytes+d.Bytes, stored.Messages+d.Messages
		if err != nil {
			l.Log.Error("maildir delivery failed", "id", env.ID, "rcpt", rcpt, "err", err)
			return outcome{status: spool.Pending, text: fmt.Sprintf("maildir: %v", err)}
		}
		l.Log.Info("delivered", "id", env.ID, "rcpt", rcpt, "mailbox", acct, "folder", folderName(folder), "size", env.Size)
	}
	if len(plan.folders) == 0 {
		l.Log.Info("not stored, as the recipient's sieve script said", "id", env.ID, "rcpt", rcpt)
	}
	l.sendVacation(ctx, m, rcpt, acct, plan)
	return outcome{status: spool.Delivered, passedOn: len(plan.folders) == 0 && len(plan.redirects) > 0}
}

func folderName(f string) string {
	if f == "" {
		return mailbox.Inbox
	}
	return f
}
