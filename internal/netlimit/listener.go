package netlimit

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// Listener admits connections for a Limiter. Accept returns only
// admitted connections, as *Conn; it retries temporary accept errors
// itself and returns only errors that end the listener (net.ErrClosed).
type Listener struct {
	net.Listener
	lim  *Limiter
	tls  *tls.Config
	errs *periodicLog

	closeOnce sync.Once
	done      chan struct{}
}

// Backoff after a temporary accept error, as net/http's Server: 5 ms,
// doubling, at most 1 s between attempts.
const (
	firstDelay = 5 * time.Millisecond
	maxDelay   = time.Second
)

// Accept waits for the next admitted connection.
func (l *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			if !temporary(err) {
				return nil, err
			}
			delay = min(max(2*delay, firstDelay), maxDelay)
			if n, ok := l.errs.note(); ok {
				l.lim.log.Warn("accept failed, retrying (raise the open-file limit or lower the connection limits if this is EMFILE)",
					"service", l.lim.service, "err", err, "failures", n, "retry_in", delay)
			}
			select {
			case <-time.After(delay):
			case <-l.done:
				return nil, net.ErrClosed
			}
			continue
		}
		delay = 0
		c := newConn(raw, l.lim)
		if reply := l.lim.admit(c); reply != "" {
			l.refuse(raw, reply)
			continue
		}
		return c, nil
	}
}

// Close stops Accept, including one waiting out a backoff.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// refuse writes the protocol's refusal and closes. On a plaintext port the
// write lands in an empty socket buffer and never blocks. On an implicit-
// TLS port it needs a handshake first, done in a goroutine with a
// deadline; beyond maxRefusalsInFlight such connections are just closed.
func (l *Listener) refuse(raw net.Conn, reply string) {
	lim := l.lim
	if n, ok := lim.refused.note(); ok {
		lim.log.Warn("connections refused over the connection limits", "service", lim.service,
			"client", raw.RemoteAddr().String(), "reply", reply[:len(reply)-2], "refused", n)
	}
	if l.tls == nil {
		raw.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(raw, reply)
		raw.Close()
		return
	}
	select {
	case lim.refusing <- struct{}{}:
	default:
		raw.Close()
		return
	}
	go func() {
		defer func() { <-lim.refusing }()
		tc := tls.Server(raw, l.tls)
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(tc, reply)
		tc.Close()
	}()
}

// temporary reports whether an accept error says nothing about the
// listener itself: the process or system is out of file descriptors or
// buffers, or the pending connection failed before we took it (accept(2):
// "treat them like EAGAIN by retrying").
func temporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
			syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN,
			syscall.EPERM, // a firewall rule refused it (Linux accept(2))
			syscall.EPROTO, syscall.ENOPROTOOPT, syscall.ENETDOWN, syscall.ENETUNREACH,
			syscall.EHOSTDOWN, syscall.EHOSTUNREACH, syscall.ENONET, syscall.EOPNOTSUPP,
			syscall.ETIMEDOUT:
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// periodicLog lets a repeating event be logged once per period with the
// number of times it happened, instead of once per occurrence (a flood of
// refused connections or failing accepts must not flood the log).
type periodicLog struct {
	mu     sync.Mutex
	every  time.Duration
	last   time.Time
	counts int
}

func newPeriodicLog(every time.Duration) *periodicLog { return &periodicLog{every: every} }

// note counts one event; ok says to log it now, n how many events the
// line stands for (this one and those not logged since the last line).
func (p *periodicLog) note() (n int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts++
	now := time.Now()
	if !p.last.IsZero() && now.Sub(p.last) < p.every {
		return 0, false
	}
	p.last = now
	n, p.counts = p.counts, 0
	return n, true
}
