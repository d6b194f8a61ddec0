package loadgen

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
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
	clientConf := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	var (
		mu       sync.Mutex
		res      Result
		wg       sync.WaitGroup
		deadline = time.Now().Add(d)
		start    = time.Now()
	)
	for i := 0; i < max(clients, 1); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				c, err := net.DialTimeout("tcp", l.Addr().String(), 10*time.Second)
				if err == nil {
					tc := tls.Client(c, clientConf)
					tc.SetDeadline(time.Now().Add(10 * time.Second))
					err = tc.Handshake()
					tc.Close()
				}
				lat := time.Since(t0)
				mu.Lock()
				if err != nil {
					res.Failed++
					if res.FirstErr == nil {
						res.FirstErr = err
					}
				} else {
					res.Sent++
					res.Latencies = append(res.Latencies, lat)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return &res, nil
}
