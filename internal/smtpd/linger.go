package smtpd

import (
	"io"
	"net"
	"time"
)

// Lingering bounds: long enough for a client to finish a line far over the
// limit on any sane link, short and small enough that a client cannot hold
// the session open with it.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 1 << 20
)

// lingerBeforeClose is the lingering close of RFC 7230 §6.6 (as net/http
// and Apache do it) applied to SMTP: when the server closes a connection
// whose client still has unread bytes in flight, the kernel answers them
// with a reset, and the reset discards the server's last reply before the
// client reads it (a 100 KB AUTH line drew no visible reply at all). So:
// send FIN after the reply, and read and discard what the client is still
// sending, until it closes or a bound is reached. Only a client with
// pending input is waited for.
func lingerBeforeClose(c net.Conn) {
	tc := tracked(c)
	if tc == nil || !tc.pendingInput() {
		return
	}
	tcp, ok := tc.Conn.(*net.TCPConn)
	if !ok {
		return
	}
	tcp.CloseWrite()
	tcp.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, tcp, lingerBytes)
}
