package scan

import (
	"fmt"
	"net"
	"strings"
)

// Endpoint is where a scanner listens: "host:port" for TCP, or an absolute
// path for a unix socket (clamd's LocalSocket, rspamd's bind_socket
// "/path mode=0660").
type Endpoint struct{ Network, Address string }

// ParseEndpoint reads a host:port or an absolute socket path.
func ParseEndpoint(s string) (Endpoint, error) {
	if strings.HasPrefix(s, "/") {
		return Endpoint{"unix", s}, nil
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return Endpoint{}, fmt.Errorf("%q is neither host:port nor an absolute unix socket path", s)
	}
	return Endpoint{"tcp", s}, nil
}

func (e Endpoint) String() string {
	if e.Network == "unix" {
		return "unix:" + e.Address
	}
	return e.Address
}
