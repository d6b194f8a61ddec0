// Package delivery takes messages from the spool and delivers them: local
// recipients into their Maildir, the rest to remote hosts. It meets the
// receiving side only at the spool (Postfix's separation).
package delivery

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"mailgate/internal/spool"
	"mailgate/internal/srs"
)

// Schedule is the retry policy of the queue.
type Schedule struct {
	// RetryInitial is the wait after the first failed attempt; each
	// further wait doubles up to RetryMax (5m, 10m, 20m, 40m ...).
	RetryInitial time.Duration
	RetryMax     time.Duration
	// Lifetime: a message still undelivered this long after arrival
	// bounces (RFC 5321 §4.5.4.1: give up after 4-5 days).
	Lifetime time.Duration
	// DelayWarning: after this long the sender gets one "delayed" DSN;
	// 0 disables it.
	DelayWarning time.Duration
}

// DefaultSchedule is Postfix-like: 5m doubling to 4h, 5 days, warn at 4h.
var DefaultSchedule = Schedule{RetryInitial: 5 * time.Minute, RetryMax: 4 * time.Hour, Lifetime: 5 * 24 * time.Hour, DelayWarning: 4 * time.Hour}

// Backoff is the wait before attempt n+1 after n failed attempts.
func (s Schedule) Backoff(n int) time.Duration {
	d := s.RetryInitial
	for i := 1; i < n && d < s.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.RetryMax)
}

// Agent runs deliveries from the spool with a fixed number of workers.
type Agent struct {
	Spool  *spool.Spool
	Local  *Local
	Remote *Remote // nil: remote recipients wait in the queue
	Signer *Signer // nil: no DKIM signing
	// Hostname names us in DSNs.
	Hostname string
	Schedule Schedule
	Workers  int
	// ScanEvery is how often the whole queue is scanned for due messages,
	// besides the IDs announced by Spool.Arrivals and retry timers.
	ScanEvery time.Duration
	Log       *slog.Logger
	// OnRemoteResults, when set, hears how many remote recipients of a
	// message were delivered and how many a receiving server refused for
	// good in one attempt (the compromised-account response counts them).
	OnRemoteResults func(env *spool.Envelope, delivered, refused int)
	// Senders, when set, gives the status of the account that submitted
	// a message: mail of an account whose sending is stopped is held
	// here, on whichever node it waits (the compromise response, or an
	// operator's suspension, reach every node through the store).
	Senders Senders
	// SRS rewrites the sender of forwarded mail (srs.go); nil: kept.
	SRS *srs.Rewriter
	// Forward signs and seals forwarded copies (forward.go, [arc]); nil:
	// they go out as they came.
	Forward *ForwardSigner

	mu       sync.Mutex
	inFlight map[string]bool
	retry    chan string
	seen     map[string]scanEntry // by the Run goroutine only
}

// Run delivers until ctx is done; then it waits for deliveries in progress
// to finish their current step, so none is left half-recorded.
func (a *Agent) Run(ctx context.Context) {
	if a.Workers <= 0 {
		a.Workers = 8
	}
	if a.ScanEvery <= 0 {
		a.ScanEvery = 30 * time.Second
	}
	if a.Schedule.RetryInitial <= 0 {
		a.Schedule = DefaultSchedule
	}
	a.inFlight = map[string]bool{}
	a.retry = make(chan string, 1024)
	work := make(chan string, 4*a.Workers)
	var wg sync.WaitGroup
	for i := 0; i < a.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				a.process(ctx, id)
				a.mu.Lock()
				delete(a.inFlight, id)
				a.mu.Unlock()
			}
		}()
	}
	offer := func(id string) bool {
		a.mu.Lock()
		if a.inFlight[id] {
			a.mu.Unlock()
			return true
		}
		a.inFlight[id] = true
		a.mu.Unlock()
		select {
		case work <- id:
			return true
		case <-ctx.Done():
			return false
		}
	}
	tick := time.NewTicker(a.ScanEvery)
	defer tick.Stop()
	a.scan(ctx, offer)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case id := <-a.Spool.Arrivals():
			if !offer(id) {
				break loop
			}
		case id := <-a.retry:
			if !offer(id) {
				break loop
			}
		case <-tick.C:
			a.scan(ctx, offer)
		}
	}
	close(work)
	wg.Wait()
	if a.Remote != nil {
		a.Remote.Close()
	}
}

// scan offers every queued message whose next attempt is due. A state
// file unchanged since the last scan is not read again: its due time and
// hold flag are remembered (a large queue is scanned with stat calls).
func (a *Agent) scan(ctx context.Context, offer func(string) bool) {
	ids, err := a.Spool.IDs()
	if err != nil {
		a.Log.Error("queue scan failed", "err", err)
		return
	}
	now := time.Now()
	seen := make(map[string]scanEntry, len(ids))
	defer func() { a.seen = seen }()
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		mod, size, ok := a.Spool.StateStamp(id)
		e, hit := a.seen[id]
		if !ok || !hit || !e.mod.Equal(mod) || e.size != size {
			m, err := a.Spool.Open(id)
			if err != nil {
				continue
			}
			st, err := a.Spool.State(&m.Envelope)
			m.Close()
			if err != nil {
				continue
			}
			e = scanEntry{mod: mod, size: size, due: st.NextAttempt, held: st.Held}
		}
		if ok {
			seen[id] = e
		}
		if e.held || e.due.After(now) {
			continue
		}
		if !offer(id) {
			return
		}
	}
}

// scanEntry is what a scan learnt from one state file.
type scanEntry struct {
	mod  time.Time
	size int64
	due  time.Time
	held bool
}

// later offers id again when its next attempt is due (the periodic scan
// would find it too, this is only sooner).
func (a *Agent) later(id string, at time.Time) {
	time.AfterFunc(time.Until(at), func() {
		select {
		case a.retry <- id:
		default:
		}
	})
}
