package loadgen

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"time"
)

// Handshakes measures bare TLS handshakes per second against a loopback
// TLS server using serverConf (the node's own TLS settings and certificate
// type), with clients concurrent connections each doing connect +
// handshake + close in a loop. Every submission on 587/465 pays for one,
// so this bounds the one-message-per-connection rate.
func Handshakes(ctx context.Context, serverConf *tls.Config, clients int, d time.Duration) (*Result, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, serverConf)
				tc.SetDeadline(time.Now().Add(10 * time.Second))
				if tc.Handshake() == nil {
					// The client closes after its handshake; wait for it
					// so the server side's work is counted in full.
					io.Copy(io.Discard, tc)
				}
			}()
		}
	}()
	return HandshakesTo(ctx, l.Addr().String(), clients, d)
}

// HandshakesTo measures TLS handshakes per second against the server at
// addr, which speaks TLS from the first byte (an implicit-TLS port such as
// another MTA's 465): clients concurrent connections each doing connect +
// handshake + close in a loop. Only the client side runs here; the
// server's CPU is the caller's to count.
func HandshakesTo(ctx context.Context, addr string, clients int, d time.Duration) (*Result, error) {
	clientConf := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	// A failed handshake on loopback is a broken setup, not a data point:
	// Repeat stops at the first error.
	return Repeat(ctx, clients, d, func() error {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return err
		}
		tc := tls.Client(c, clientConf)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		err = tc.Handshake()
		tc.Close()
		return err
	})
}
