package web

import (
	"net/http"
	"sync"
)

// maxMailRequests is how many webmail requests of one account may run at
// once on its home node. A page needs a few (the page, its frame, a
// download); a client opening hundreds at once (an HTTP/2 connection
// carries maxStreams each, max_connections_per_ip connections) would have
// as many messages of up to max_message_bytes read, decoded and copied in
// memory, or as many uploads of that size, and run the node out of it.
const maxMailRequests = 8

// accountSlots counts the requests each account has running.
type accountSlots struct {
	mu      sync.Mutex
	running map[string]int
}

// take reserves one of account's slots; false when all are in use.
func (a *accountSlots) take(account string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running[account] >= maxMailRequests {
		return false
	}
	if a.running == nil {
		a.running = map[string]int{}
	}
	a.running[account]++
	return true
}

func (a *accountSlots) give(account string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running[account]--; a.running[account] <= 0 {
		delete(a.running, account)
	}
}

// inUse is how many of account's slots are taken.
func (a *accountSlots) inUse(account string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.running[account]
}

// mailSlot runs next in one of the session account's slots, or answers
// 429 Too Many Requests (RFC 6585 §4) when they are all in use.
func (s *Server) mailSlot(w http.ResponseWriter, r *http.Request, next http.HandlerFunc) {
	acct := s.session(r).Account
	if !s.mailSlots.take(acct) {
		w.Header().Set("Retry-After", "2")
		s.fail(w, r, http.StatusTooManyRequests, "mail.err.busy")
		return
	}
	defer s.mailSlots.give(acct)
	next(w, r)
}
