package delivery

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"mailgate/internal/address"
	"mailgate/internal/metrics"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// process makes one delivery attempt for every pending recipient of a
// message, records the outcome durably, sends the DSNs it calls for, and
// removes the message when no recipient is left. Order matters for crash
// safety: a DSN is spooled before the state saying it was sent, and the
// message is removed only after both.
func (a *Agent) process(ctx context.Context, id string) {
	m, err := a.Spool.Open(id)
	if err != nil {
		return // removed meanwhile
	}
	defer m.Close()
	st, err := a.Spool.State(&m.Envelope)
	if err != nil {
		a.Log.Error("read queue state", "id", id, "err", err)
		return
	}
	if st.Held || st.NextAttempt.After(time.Now()) {
		return
	}
	if a.holdForSender(ctx, m, st) {
		return
	}
	before := snapshot(st)
	a.Local.Deliver(m, st, a.Spool.TakeFresh(id) && !handedIn(&m.Envelope))
	a.deliverHome(ctx, m, st)
	delivered, refused := a.deliverRemote(ctx, m, st)
	// Told once the attempt's outcome is on disk (the state saved, or the
	// message removed): the compromise monitor it may set off holds the
	// account's queue, and must not find this message still pending.
	defer a.reportRemote(&m.Envelope, delivered, refused)
	countAttempts(before, st)
	now := time.Now()

	var failed []spool.RcptState
	for i, r := range st.Rcpts {
		if r.Status == spool.Failed && before[i] != spool.Failed {
			failed = append(failed, r)
		}
	}
	pending := st.Pending()
	age := now.Sub(m.Envelope.Received)
	if len(pending) > 0 && age >= a.Schedule.Lifetime {
		// RFC 5321 §4.5.4.1: give up, and tell the sender.
		for i, r := range st.Rcpts {
			if r.Status == spool.Pending {
				last := r.Error
				if last == "" {
					last = st.LastError
				}
				st.Rcpts[i].Status = spool.Failed
				st.Rcpts[i].Error = fmt.Sprintf("4.4.7 message expired after %s in the queue; last error: %s", a.Schedule.Lifetime, last)
				failed = append(failed, st.Rcpts[i])
			}
		}
		pending = nil
	}
	if len(failed) > 0 {
		if err := a.bounce(m, failed, ActionFailed, now); err != nil {
			// Never drop a failure silently: keep the recipients queued
			// until their DSN can be spooled.
			for _, f := range failed {
				st.Set(f.Addr, spool.Pending, f.Error)
			}
			pending = st.Pending()
		}
	}
	if len(pending) == 0 {
		if err := a.Spool.Remove(id); err != nil {
			a.Log.Error("remove delivered message", "id", id, "err", err)
		}
		return
	}
	if onlyBusy(st) {
		// Not an attempt: every recipient left waits for a connection
		// slot to its destination (concurrency_per_destination). Offer
		// the message again soon, without backoff, and write state only
		// if something else changed.
		if changed(before, st) {
			if err := a.Spool.SaveState(id, st); err != nil {
				a.Log.Error("save queue state", "id", id, "err", err)
			}
		}
		a.later(id, now.Add(busyRetry))
		return
	}
	if d := a.Schedule.DelayWarning; d > 0 && age >= d && !st.Warned {
		var delayed []spool.RcptState
		for _, r := range st.Rcpts {
			if r.Status == spool.Pending {
				delayed = append(delayed, r)
			}
		}
		st.Warned = a.bounce(m, delayed, ActionDelayed, now) == nil
	}
	st.Attempts++
	st.NextAttempt = now.Add(a.Schedule.Backoff(st.Attempts))
	if deadline := m.Envelope.Received.Add(a.Schedule.Lifetime); st.NextAttempt.After(deadline) {
		st.NextAttempt = deadline // the last attempt is the one that expires it
	}
	st.LastError = lastError(st)
	// A `queue hold` given while this attempt ran must survive it.
	if cur, err := a.Spool.State(&m.Envelope); err == nil && cur.Held {
		st.Held = true
	}
	if err := a.Spool.SaveState(id, st); err != nil {
		a.Log.Error("save queue state", "id", id, "err", err)
	}
	a.later(id, st.NextAttempt)
}

func snapshot(st *spool.State) []string {
	out := make([]string, len(st.Rcpts))
	for i, r := range st.Rcpts {
		out[i] = r.Status
	}
	return out
}

// busyRetry is how soon a message waiting for a connection slot is
// offered again.
const busyRetry = 500 * time.Millisecond

func onlyBusy(st *spool.State) bool {
	n := 0
	for _, r := range st.Rcpts {
		if r.Status == spool.Pending {
			if r.Error != busyText {
				return false
			}
			n++
		}
	}
	return n > 0
}

func changed(before []string, st *spool.State) bool {
	for i, r := range st.Rcpts {
		if r.Status != before[i] {
			return true
		}
	}
	return false
}

func lastError(st *spool.State) string {
	for _, r := range st.Rcpts {
		if r.Status == spool.Pending && r.Error != "" {
			return r.Error
		}
	}
	return st.LastError
}

// deliverRemote tries every pending recipient outside our domains, one
// SMTP transaction per recipient domain, reverse-path and forwarding
// domain (forwarded recipients may go out with an SRS sender, srs.go, and
// signed and sealed by the domain that forwards them, forward.go).
func (a *Agent) deliverRemote(ctx context.Context, m *spool.Message, st *spool.State) (delivered, refused int) {
	type dest struct{ domain, from, forwarder string }
	byDomain := map[dest][]string{}
	var order []dest
	// The SRS sender is the same for every forwarded recipient: one
	// store lookup and one rewrite per message, when one is forwarded.
	forwarded := sync.OnceValue(func() string { return a.forwardPath(ctx, m) })
	for _, r := range st.Rcpts {
		if r.Status != spool.Pending {
			continue
		}
		d := strings.ToLower(address.Domain(r.Addr))
		ours, err := a.Local.Dir.HasDomain(ctx, d)
		if err != nil || ours {
			continue // local (or unknown for now): Local.Deliver's
		}
		from, forwarder := m.Envelope.From, ""
		if r.Forwarded {
			from = forwarded()
			if a.Forward != nil {
				forwarder = a.Forward.domainFor(r.Via)
			}
		}
		k := dest{d, from, forwarder}
		if byDomain[k] == nil {
			order = append(order, k)
		}
		byDomain[k] = append(byDomain[k], r.Addr)
	}
	if len(order) == 0 {
		return
	}
	if a.Remote == nil {
		for _, d := range order {
			for _, rc := range byDomain[d] {
				st.Set(rc, spool.Pending, "451 4.3.2 remote delivery is not enabled on this node")
			}
		}
		return
	}
	// Sign once, and only when a connection slot was had: a message
	// waiting for a busy destination costs no signature.
	var sig string
	var sigErr error
	signed := false
	sign := func() (string, error) {
		if !signed && a.Signer != nil {
			signed = true
			if sig, sigErr = a.Signer.Sign(ctx, m); sigErr != nil {
				// Unsigned mail from a domain publishing DKIM may fail
				// DMARC: better late than unsigned.
				a.Log.Error("DKIM signing failed; will retry", "id", m.Envelope.ID, "err", sigErr)
			}
		}
		return sig, sigErr
	}
	// A forwarded copy gets its forwarder's signature and ARC set on top,
	// made once per forwarding domain and attempt, when a slot was had.
	forwardPrefix := map[string]string{}
	signFor := func(forwarder string) func() (string, error) {
		if forwarder == "" {
			return sign
		}
		return func() (string, error) {
			if p, ok := forwardPrefix[forwarder]; ok {
				return p, nil
			}
			base, err := sign()
			if err != nil {
				return "", err
			}
			p, err := a.Forward.Prefix(ctx, m, forwarder, base)
			if err != nil {
				a.Log.Error("signing a forwarded copy failed; will retry", "id", m.Envelope.ID, "domain", forwarder, "err", err)
				return "", err
			}
			forwardPrefix[forwarder] = p
			return p, nil
		}
	}

	for _, d := range order {
		res := a.Remote.Deliver(ctx, withSender(m, d.from), d.domain, byDomain[d], signFor(d.forwarder))
		for rc, o := range res {
			for i := range st.Rcpts {
				if st.Rcpts[i].Addr == rc {
					st.Rcpts[i].Status, st.Rcpts[i].Error, st.Rcpts[i].Remote = o.Status, o.Text, o.Remote
				}
			}
			switch {
			case o.Status == spool.Delivered:
				delivered++
			case o.Status == spool.Failed && o.Remote != "": // a receiving server's 5xx
				refused++
			}
		}
	}
	return delivered, refused
}

// reportRemote tells OnRemoteResults how many remote recipients an
// attempt delivered and how many the receiving servers refused.
func (a *Agent) reportRemote(env *spool.Envelope, delivered, refused int) {
	if a.OnRemoteResults != nil && (delivered > 0 || refused > 0) {
		a.OnRemoteResults(env, delivered, refused)
	}
}

// bounce spools a DSN about rcpts to m's sender; never to the null
// sender (RFC 5321 §4.5.5: no bounce of a bounce).
func (a *Agent) bounce(m *spool.Message, rcpts []spool.RcptState, action string, now time.Time) error {
	if m.Envelope.From == "" || len(rcpts) == 0 {
		if action == ActionFailed {
			a.Log.Warn("undeliverable message with null sender dropped", "id", m.Envelope.ID, "rcpts", len(rcpts))
		}
		return nil
	}
	env, body := BuildDSN(a.Hostname, m, rcpts, action, now, m.Envelope.Received.Add(a.Schedule.Lifetime))
	if err := a.Spool.Put(env, body); err != nil {
		a.Log.Error("spool DSN failed", "id", m.Envelope.ID, "err", err)
		return err
	}
	a.Log.Info("DSN queued", "id", m.Envelope.ID, "dsn", env.ID, "action", action, "to", m.Envelope.From, "rcpts", len(rcpts))
	return nil
}

// countAttempts counts this attempt's outcome for every recipient that was
// pending before it (metrics.Deliveries).
func countAttempts(before []string, st *spool.State) {
	for i, r := range st.Rcpts {
		if i >= len(before) || before[i] != spool.Pending {
			continue // a redirect added now, or settled before
		}
		switch r.Status {
		case spool.Delivered:
			metrics.Deliveries.WithLabelValues("delivered").Inc()
		case spool.Failed:
			metrics.Deliveries.WithLabelValues("failed").Inc()
		default:
			metrics.Deliveries.WithLabelValues("deferred").Inc()
		}
	}
}

// Senders is the store's account lookup (store.Store).
type Senders interface {
	Account(ctx context.Context, addr string) (*store.Account, error)
}

// holdForSender holds a submitted message whose account may no longer
// send (sending-disabled or suspended), and reports whether it did. The
// account's status is in the store, so every node of a fleet holds its
// share of that account's queue, not only the node that suspended it.
// A lookup that fails holds nothing: the attempt goes on as before.
func (a *Agent) holdForSender(ctx context.Context, m *spool.Message, st *spool.State) bool {
	if a.Senders == nil || m.Envelope.Auth == "" {
		return false
	}
	acct, err := a.Senders.Account(ctx, m.Envelope.Auth)
	if err != nil || acct.Status == store.StatusActive {
		return false
	}
	st.Held = true
	if err := a.Spool.SaveState(m.Envelope.ID, st); err != nil {
		a.Log.Error("save queue state", "id", m.Envelope.ID, "err", err)
		return true
	}
	a.Log.Warn("held: the sender's account may not send", "id", m.Envelope.ID, "account", m.Envelope.Auth, "status", acct.Status)
	return true
}
