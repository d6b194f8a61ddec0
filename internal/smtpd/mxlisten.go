package smtpd

import (
	"net"
	"time"

	"github.com/emersion/go-smtp"
)

// mxListener admits MX connections: it judges each client by its address
// (judge: the connect stages, bounded by connect_wait) and refuses those
// that talk before the greeting. Both run in a goroutine per connection,
// side by side, so one slow client never holds up Accept. Connection caps
// are the netlimit listener's, under it.
type mxListener struct {
	net.Listener
	greetPause time.Duration
	judge      func(net.Conn) *smtp.SMTPError // nil: no refusal
	onReject   func(ip, why string)

	ready chan net.Conn
	errc  chan error
}

func newMXListener(l net.Listener, greetPause time.Duration, judge func(net.Conn) *smtp.SMTPError, onReject func(ip, why string)) *mxListener {
	ml := &mxListener{Listener: l, greetPause: greetPause, judge: judge, onReject: onReject,
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
	// The client is judged from the moment it is accepted, while the
	// greeting pause runs.
	judged := make(chan *smtp.SMTPError, 1)
	go func() { judged <- ml.judge(tc) }()
	// RFC 5321 §4.3.1: the client waits for the 220 greeting. One that
	// does not is a bot (postscreen's pregreet test).
	if ml.greetPause > 0 {
		time.Sleep(ml.greetPause)
	}
	// A refused client gets its refusal instead of the greeting (the
	// server's Greeting hook reads it), talker or not: the refusal says
	// more than the protocol error would.
	if tc.refusal = <-judged; tc.refusal == nil && tc.pendingInput() {
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
