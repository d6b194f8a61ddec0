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
)

// Agent runs deliveries from the spool with a fixed number of workers.
type Agent struct {
	Spool   *spool.Spool
	Local   *Local
	Workers int
	// ScanEvery is how often the whole queue is scanned for due messages,
	// besides the IDs announced by Spool.Arrivals.
	ScanEvery time.Duration
	Log       *slog.Logger

	mu       sync.Mutex
	inFlight map[string]bool
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
	a.inFlight = map[string]bool{}
	work := make(chan string, 4*a.Workers)
	var wg sync.WaitGroup
	for i := 0; i < a.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				a.process(id)
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
		case <-tick.C:
			a.scan(ctx, offer)
		}
	}
	close(work)
	wg.Wait()
}

// scan offers every queued message whose next attempt is due.
func (a *Agent) scan(ctx context.Context, offer func(string) bool) {
	ids, err := a.Spool.IDs()
	if err != nil {
		a.Log.Error("queue scan failed", "err", err)
		return
	}
	now := time.Now()
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		m, err := a.Spool.Open(id)
		if err != nil {
			continue
		}
		st, err := a.Spool.State(&m.Envelope)
		m.Close()
		if err != nil || st.Held || st.NextAttempt.After(now) {
			continue
		}
		if !offer(id) {
			return
		}
	}
}

// process makes one delivery attempt for every pending recipient of a
// message, records the outcome durably, and removes the message when no
// recipient is left.
func (a *Agent) process(id string) {
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
	changed := a.Local.Deliver(m, st)
	if len(st.Pending()) == 0 {
		if err := a.Spool.Remove(id); err != nil {
			a.Log.Error("remove delivered message", "id", id, "err", err)
		}
		return
	}
	// Recipients left are remote: until remote delivery runs they wait,
	// listed by `mailgate queue list`, and are looked at again hourly.
	st.Attempts++
	st.NextAttempt = time.Now().Add(time.Hour)
	st.LastError = "remote delivery is not enabled on this node"
	if changed || st.Attempts == 1 {
		if err := a.Spool.SaveState(id, st); err != nil {
			a.Log.Error("save queue state", "id", id, "err", err)
		}
	}
}
