package testpeer

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// FreePort returns a loopback TCP port for a server a test is about to
// start. It is free now and was never handed out before in this process.
//
// It comes from below the kernel's ephemeral range when there is room
// there: a port taken from :0 lies inside that range, and between our
// choosing it and the server binding it any outgoing connection (a client,
// Postfix, a resolver) may be given the same number as its local port, and
// then the server's bind fails with EADDRINUSE. Below the range only other
// listeners can collide, and those are checked for.
func FreePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	lo := ephemeralLow()
	if lo > 12000 {
		for range 200 {
			p := 10000 + rand.IntN(lo-10000)
			if portGiven[p] || !bindable(p) {
				continue
			}
			portGiven[p] = true
			return p, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("no free loopback port: %w", err)
	}
	defer l.Close()
	p := l.Addr().(*net.TCPAddr).Port
	portGiven[p] = true
	return p, nil
}

var (
	portMu    sync.Mutex
	portGiven = map[int]bool{}
)

func bindable(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// ephemeralLow is the bottom of net.ipv4.ip_local_port_range, 0 when unknown.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	lo, _ := strconv.Atoi(f[0])
	return lo
}
