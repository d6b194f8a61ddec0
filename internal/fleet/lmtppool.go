package fleet

import (
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// lmtpPool keeps LMTP connections to home nodes open between hand-offs: a
// TLS handshake with certificates both ways costs more than the hand-off
// of a small message. Connections idle longer than poolIdleFor are closed
// (the home node's own timeout is 10 minutes).
type lmtpPool struct {
	mu   sync.Mutex
	idle map[string][]pooled
}

type pooled struct {
	c     *smtp.Client
	since time.Time
}

const (
	poolIdleFor  = 30 * time.Second
	poolMaxIdle  = 8 // per home node
	poolRSETWait = 5 * time.Second
)

// get returns an idle connection to key that still answers RSET, or nil.
func (p *lmtpPool) get(key string) *smtp.Client {
	for {
		p.mu.Lock()
		list := p.idle[key]
		if len(list) == 0 {
			p.mu.Unlock()
			return nil
		}
		e := list[len(list)-1]
		p.idle[key] = list[:len(list)-1]
		p.mu.Unlock()
		if time.Since(e.since) > poolIdleFor {
			e.c.Close()
			continue
		}
		e.c.CommandTimeout = poolRSETWait
		err := e.c.Reset()
		if err == nil {
			return e.c
		}
		e.c.Close() // the home node restarted, or timed us out
	}
}

// put offers c back for reuse after a clean transaction.
func (p *lmtpPool) put(key string, c *smtp.Client) {
	p.mu.Lock()
	if p.idle == nil {
		p.idle = map[string][]pooled{}
	}
	if len(p.idle[key]) < poolMaxIdle {
		p.idle[key] = append(p.idle[key], pooled{c, time.Now()})
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.Quit()
	}
}

// closeAll ends every idle connection.
func (p *lmtpPool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, list := range idle {
		for _, e := range list {
			e.c.Quit()
		}
	}
}
