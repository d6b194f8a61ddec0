package smtpd

import (
	"net"
	"sync"
	"time"
)

// mxListener admits MX connections: at most MaxConnsPerIP at once from one
// address, and none that talks before the greeting. Checks run in a
// goroutine per connection so one slow client never holds up Accept.
type mxListener struct {
	net.Listener
	maxPerIP   int
	greetPause time.Duration
	onReject   func(ip, why string)

	mu    sync.Mutex
	perIP map[string]int
	ready chan net.Conn
	errc  chan error
}

func newMXListener(l net.Listener, maxPerIP int, greetPause time.Duration, onReject func(ip, why string)) *mxListener {
	ml := &mxListener{Listener: l, maxPerIP: maxPerIP, greetPause: greetPause, onReject: onReject,
		perIP: map[string]int{}, ready: make(chan net.Conn), errc: make(chan error, 1)}
	go ml.acceptLoop()
	return ml
}

func (ml *mxListener) Accept() (net.Conn, error) {
	select {
	case c := <-ml.ready:
		return c, nil
	case err := <-ml.errc:
		ml.errc <- err
		return nil, err
	}
}

func (ml *mxListener) acceptLoop() {
	for {
		c, err := ml.Listener.Accept()
		if err != nil {
			ml.errc <- err
			return
		}
		go ml.admit(&trackedConn{Conn: c})
	}
}

func (ml *mxListener) admit(tc *trackedConn) {
	ip := remoteIP(tc)
	ml.mu.Lock()
	if ml.maxPerIP > 0 && ml.perIP[ip] >= ml.maxPerIP {
		ml.mu.Unlock()
		ml.onReject(ip, "too many connections")
		tc.Write([]byte("421 4.7.0 Too many connections from your address, try again later\r\n"))
		tc.Conn.Close()
		return
	}
	ml.perIP[ip]++
	ml.mu.Unlock()
	tc.release = func() {
		ml.mu.Lock()
		if ml.perIP[ip]--; ml.perIP[ip] <= 0 {
			delete(ml.perIP, ip)
		}
		ml.mu.Unlock()
	}
	// RFC 5321 §4.3.1: the client waits for the 220 greeting. One that
	// does not is a bot (postscreen's pregreet test).
	if ml.greetPause > 0 {
		time.Sleep(ml.greetPause)
	}
	if tc.pendingInput() {
		ml.onReject(ip, "talked before the greeting")
		tc.Write([]byte("554 5.5.0 Protocol error: talking before the greeting\r\n"))
		tc.Close()
		return
	}
	select {
	case ml.ready <- tc:
	case <-time.After(time.Minute):
		tc.Close()
	}
}
