package smtpd

import (
	"net"
	"time"
)

// mxListener admits MX connections that do not talk before the greeting.
// The check runs in a goroutine per connection so one slow client never
// holds up Accept. Connection caps are the netlimit listener's, under it.
type mxListener struct {
	net.Listener
	greetPause time.Duration
	onReject   func(ip, why string)

	ready chan net.Conn
	errc  chan error
}

func newMXListener(l net.Listener, greetPause time.Duration, onReject func(ip, why string)) *mxListener {
	ml := &mxListener{Listener: l, greetPause: greetPause, onReject: onReject,
		ready: make(chan net.Conn), errc: make(chan error, 1)}
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
	// RFC 5321 §4.3.1: the client waits for the 220 greeting. One that
	// does not is a bot (postscreen's pregreet test).
	if ml.greetPause > 0 {
		time.Sleep(ml.greetPause)
	}
	if tc.pendingInput() {
		ml.onReject(remoteIP(tc), "talked before the greeting")
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
