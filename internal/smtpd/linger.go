package smtpd

import (
	"io"
	"net"
	"time"
)

// Lingering bounds: long enough for a client to finish a line far over the
// limit on any sane link, short and small enough that no client holds
// anything with it; past maxLingering connections at once, closes are
// plain again.
const (
	lingerTime   = 2 * time.Second
	lingerBytes  = 1 << 20
	maxLingering = 256
)

var lingering = make(chan struct{}, maxLingering)

// lingerBeforeClose is the lingering close of RFC 9112 §9.6 (as net/http
// and Apache do it) applied to SMTP. When the server closes a connection
// whose client is still sending (a command line over the limit, which
// go-smtp answers with 500 and a close), the client's writes fail and it
// never reads that reply: Python's smtplib reported a 100 KB AUTH line as
// "Server not connected". So: FIN after the reply, and read and discard
// what the client still sends on a second descriptor of the socket, which
// keeps the socket open after go-smtp closes its own, until the client
// closes (at once, for one that said QUIT or hung up) or a bound is
// reached. Whether the client is still sending cannot be told from the
// socket (its buffer may be empty between two segments of the line), so
// every close lingers. Nothing waits for it: not the session, not a
// server shutting down.
func lingerBeforeClose(c net.Conn) {
	tc := tracked(c)
	if tc == nil {
		return
	}
	tcp, ok := tcpConn(tc.Conn)
	if !ok {
		return
	}
	select {
	case lingering <- struct{}{}:
	default:
		return
	}
	f, err := tcp.File() // a dup: closing tcp leaves the socket to f
	if err != nil {
		<-lingering
		return
	}
	tcp.CloseWrite()
	go func() {
		defer func() { <-lingering }()
		defer f.Close()
		if f.SetReadDeadline(time.Now().Add(lingerTime)) == nil { // a pollable descriptor
			io.CopyN(io.Discard, f, lingerBytes)
		}
	}()
}

// tcpConn finds the socket under the wrappers between it and the session
// (netlimit's slot keeper, anything with a NetConn method).
func tcpConn(c net.Conn) (*net.TCPConn, bool) {
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			return v, true
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil, false
		}
	}
}
