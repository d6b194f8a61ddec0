package delivery

import (
	"context"
	"sync"
	"time"
)

// idleTimeout is how long an unused connection to a remote host is kept
// for the next message to the same destination (Postfix keeps 2 s).
const idleTimeout = 5 * time.Second

// pool keeps idle SMTP sessions by destination key (host address and TLS
// mode), so several messages to one MX share a connection, and limits
// concurrent deliveries per destination domain.
type pool struct {
	mu    sync.Mutex
	idle  map[string][]*idleConn
	slots map[string]*slots
	limit int
	once  sync.Once
}

// slots bounds deliveries to one destination; it is dropped when no
// delivery holds or waits for one, so a destination mailed once leaves
// nothing behind.
type slots struct {
	ch    chan struct{}
	users int // holding or waiting, under pool.mu
}

type idleConn struct {
	s     *conn
	since time.Time
}

func (p *pool) init() {
	p.idle = map[string][]*idleConn{}
	p.slots = map[string]*slots{}
	go p.reap()
}

// acquire waits for one of limit delivery slots to destination (or for
// ctx to end); release gives it back.
func (p *pool) acquire(ctx context.Context, dest string, limit int) (release func(), err error) {
	p.once.Do(p.init)
	p.mu.Lock()
	if limit <= 0 {
		limit = 10
	}
	p.limit = limit
	sl := p.slots[dest]
	if sl == nil {
		sl = &slots{ch: make(chan struct{}, limit)}
		p.slots[dest] = sl
	}
	sl.users++
	p.mu.Unlock()
	leave := func() {
		p.mu.Lock()
		if sl.users--; sl.users == 0 {
			delete(p.slots, dest)
		}
		p.mu.Unlock()
	}
	select {
	case sl.ch <- struct{}{}:
		return func() { <-sl.ch; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

// get returns an idle session for key, or nil.
func (p *pool) get(key string) *conn {
	p.once.Do(p.init)
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[key]
	for len(list) > 0 {
		ic := list[len(list)-1]
		list = list[:len(list)-1]
		p.idle[key] = list
		if time.Since(ic.since) < idleTimeout {
			ic.s.reused++
			return ic.s
		}
		go ic.s.c.Close()
	}
	return nil
}

// put keeps a session that is ready for a new MAIL.
func (p *pool) put(key string, s *conn) {
	p.once.Do(p.init)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[key]) >= max(p.limit, 1) || s.dead.Load() {
		go quit(s)
		return
	}
	p.idle[key] = append(p.idle[key], &idleConn{s: s, since: time.Now()})
}

func quit(s *conn) {
	s.raw.SetDeadline(time.Now().Add(5 * time.Second))
	if err := s.c.Quit(); err != nil {
		s.c.Close()
	}
}

// reap closes sessions idle too long, with QUIT (RFC 5321 §4.1.1.10).
func (p *pool) reap() {
	for range time.Tick(time.Second) {
		var old []*conn
		p.mu.Lock()
		for k, list := range p.idle {
			keep := list[:0]
			for _, ic := range list {
				if time.Since(ic.since) >= idleTimeout {
					old = append(old, ic.s)
				} else {
					keep = append(keep, ic)
				}
			}
			if len(keep) == 0 {
				delete(p.idle, k)
			} else {
				p.idle[k] = keep
			}
		}
		p.mu.Unlock()
		for _, s := range old {
			quit(s)
		}
	}
}

// closeAll ends every idle session (at shutdown).
func (p *pool) closeAll() {
	p.once.Do(p.init)
	p.mu.Lock()
	var all []*conn
	for k, list := range p.idle {
		for _, ic := range list {
			all = append(all, ic.s)
		}
		delete(p.idle, k)
	}
	p.mu.Unlock()
	for _, s := range all {
		quit(s)
	}
}
