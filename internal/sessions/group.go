// Package sessions runs the accept loop and the shutdown of mailgate's own
// line-protocol servers (POP3, ManageSieve): it tracks their listeners and
// live sessions, so that Shutdown can stop accepting, let each session end
// its current command, and close whatever is left when the grace runs out.
package sessions

import (
	"context"
	"errors"
	"net"
	"sync"
)

// Session is one client connection being served.
type Session interface {
	// Run serves the connection until it ends, and closes it.
	Run()
	// Shutdown asks the session to end after its current command.
	Shutdown()
	// Close ends the connection at once.
	Close()
}

// Group is one server's listeners and sessions. The zero value is ready.
type Group struct {
	mu        sync.Mutex
	listeners map[net.Listener]bool
	live      map[Session]bool
	closing   bool
	wg        sync.WaitGroup
}

// Serve accepts on l until it is closed, serving each connection with the
// session start makes of it. Temporary accept errors never reach here:
// the node's listeners retry them (internal/netlimit); any other error of
// a listener not being shut down is returned.
func (g *Group) Serve(l net.Listener, start func(net.Conn) Session) error {
	g.mu.Lock()
	if g.closing {
		g.mu.Unlock()
		return nil
	}
	if g.listeners == nil {
		g.listeners = map[net.Listener]bool{}
		g.live = map[Session]bool{}
	}
	g.listeners[l] = true
	g.mu.Unlock()
	for {
		c, err := l.Accept()
		if err != nil {
			g.mu.Lock()
			closing := g.closing
			delete(g.listeners, l)
			g.mu.Unlock()
			if closing || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		sess := start(c)
		g.mu.Lock()
		if g.closing {
			g.mu.Unlock()
			c.Close()
			continue
		}
		g.live[sess] = true
		g.wg.Add(1)
		g.mu.Unlock()
		go func() {
			defer g.wg.Done()
			sess.Run()
			g.mu.Lock()
			delete(g.live, sess)
			g.mu.Unlock()
		}()
	}
}

// Shutdown stops accepting and asks every session to end after its
// command; when ctx ends first, the rest are closed.
func (g *Group) Shutdown(ctx context.Context) {
	g.mu.Lock()
	g.closing = true
	for l := range g.listeners {
		l.Close()
	}
	for s := range g.live {
		s.Shutdown()
	}
	g.mu.Unlock()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		g.Close()
		<-done
	}
}

// Close closes listeners and connections at once.
func (g *Group) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closing = true
	for l := range g.listeners {
		l.Close()
	}
	for s := range g.live {
		s.Close()
	}
	return nil
}
