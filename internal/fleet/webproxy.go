package fleet

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"time"
)

// ProxyHTTP serves a webmail request on node, the home of the mailbox it
// is about: the request goes over the fleet's mutual TLS (ALPN ProtoWeb)
// after the CLIENT line, as an IMAP session does, and the home node's
// web server answers it as its own. The home checks the session cookie
// against the shared store itself, and the CSRF token and Origin (the
// Host header is kept), so this node vouches for nothing. One connection
// per request: the CLIENT line belongs to one visitor.
func (a *Access) ProxyHTTP(w http.ResponseWriter, r *http.Request, node string) {
	client, _ := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			n, err := a.Homes.Store.Node(ctx, node)
			if err != nil {
				return nil, err
			}
			return a.dialWeb(ctx, node, n.Address, client)
		},
		ResponseHeaderTimeout: 60 * time.Second,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "https", node
			pr.Out.Host = pr.In.Host
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			a.Log.Warn("web proxy: home node unreachable", "node", node, "err", err)
			http.Error(w, "Your mailbox's server cannot be reached; try again later.", http.StatusBadGateway)
		},
	}
	a.Log.Info("web proxy", "node", node, "path", r.URL.Path, "client", r.RemoteAddr)
	rp.ServeHTTP(w, r)
}

// dialWeb opens a ProtoWeb connection to node at addr and sends the
// CLIENT line.
func (a *Access) dialWeb(ctx context.Context, node, addr string, client net.Addr) (net.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: a.Certs.ClientConfig(node, ProtoWeb)}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := c.(*tls.Conn)
	if tc.ConnectionState().NegotiatedProtocol != ProtoWeb {
		tc.Close()
		return nil, fmt.Errorf("%s does not serve %s", addr, ProtoWeb)
	}
	if client == nil {
		client = &net.TCPAddr{IP: net.IPv4zero}
	}
	if _, err := fmt.Fprintf(tc, "CLIENT %s\r\n", clientAddr(client)); err != nil {
		tc.Close()
		return nil, err
	}
	return tc, nil
}
