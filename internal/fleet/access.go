package fleet

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Access proxies IMAP and POP3 sessions to the account's home node, as
// Dovecot's proxy does: the node the client reached checks the password,
// then opens a session on the home node over the fleet's mutual TLS, logs
// in there with the same credentials, answers the client's login with the
// home's answer and from then on copies bytes both ways. Only the home
// node opens the Maildir, so the POP3 lock and the IMAP index stay local
// to it.
//
// The client's real address travels first on the internal connection, in
// a line only a fleet node can send (its certificate is checked):
//
//	CLIENT <ip>:<port>\r\n
//
// and the home node's session sees it as its remote address, for its logs
// and its login throttles.
type Access struct {
	Homes *Homes
	Certs *Certs
	Log   *slog.Logger
}

// errHomeUnavailable is a login that succeeded here but cannot be carried
// to the home node now: the client should try again later.
var errHomeUnavailable = errors.New("home node unavailable")

// open dials account's home node for proto when the account is homed
// elsewhere; nil, "" when it is homed here.
func (a *Access) open(ctx context.Context, proto, account string, client net.Addr) (*tls.Conn, *bufio.Reader, string, error) {
	node, err := a.Homes.Away(ctx, account)
	if err != nil || node == "" {
		return nil, nil, "", err
	}
	n, err := a.Homes.Store.Node(ctx, node)
	if err != nil {
		return nil, nil, node, err
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: a.Certs.ClientConfig(node, proto)}
	c, err := d.DialContext(ctx, "tcp", n.Address)
	if err != nil {
		return nil, nil, node, err
	}
	tc := c.(*tls.Conn)
	if tc.ConnectionState().NegotiatedProtocol != proto {
		tc.Close()
		return nil, nil, node, fmt.Errorf("%s does not serve %s", n.Address, proto)
	}
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(tc, "CLIENT %s\r\n", clientAddr(client)); err != nil {
		tc.Close()
		return nil, nil, node, err
	}
	return tc, bufio.NewReader(tc), node, nil
}

func clientAddr(a net.Addr) string {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.String()
	}
	return "0.0.0.0:0"
}

// ProxyIMAP carries an IMAP session whose LOGIN or AUTHENTICATE (command
// tag) just succeeded here to account's home node, and serves it to the
// end. handled is false when the account is homed here. An error with
// handled true means nothing was written to the client: it should answer
// the login with a temporary failure.
func (a *Access) ProxyIMAP(account, pw, tag string, client net.Conn) (handled bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	home, br, node, err := a.open(ctx, ProtoIMAP, account, client.RemoteAddr())
	if home == nil {
		if err != nil {
			a.Log.Warn("imap proxy: home node unreachable", "account", account, "node", node, "err", err)
			return true, errHomeUnavailable
		}
		return false, nil
	}
	fail := func(err error) (bool, error) {
		home.Close()
		a.Log.Warn("imap proxy: login on home node failed", "account", account, "node", node, "err", err)
		return true, errHomeUnavailable
	}
	if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* OK") {
		return fail(fmt.Errorf("greeting %q: %v", l, err))
	}
	// RFC 4959 initial response; any bytes are safe in base64.
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + account + "\x00" + pw))
	if _, err := fmt.Fprintf(home, "P1 AUTHENTICATE PLAIN %s\r\n", ir); err != nil {
		return fail(err)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return fail(err)
		}
		if rest, ok := strings.CutPrefix(l, "P1 "); ok {
			if !strings.HasPrefix(rest, "OK") {
				return fail(fmt.Errorf("answer %q", strings.TrimSpace(l)))
			}
			home.SetDeadline(time.Time{})
			client.SetDeadline(time.Time{})
			if _, err := io.WriteString(client, tag+" "+rest); err != nil {
				home.Close()
				return true, nil // the client left: nothing to answer
			}
			break
		}
		// Untagged lines before the answer (a CAPABILITY) are the
		// home's, for us; the client gets the tagged answer's codes.
	}
	a.Log.Info("imap proxy", "account", account, "node", node, "client", clientAddr(client.RemoteAddr()))
	splice(client, home, br, nil)
	return true, nil
}

// ProxyPOP3 is ProxyIMAP for POP3 (RFC 1939): on success the client gets
// the home's +OK to its PASS or AUTH. buffered is what the client sent
// after its login command (passed on first).
func (a *Access) ProxyPOP3(account, pw string, client net.Conn, buffered []byte) (handled bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	home, br, node, err := a.open(ctx, ProtoPOP3, account, client.RemoteAddr())
	if home == nil {
		if err != nil {
			a.Log.Warn("pop3 proxy: home node unreachable", "account", account, "node", node, "err", err)
			return true, errHomeUnavailable
		}
		return false, nil
	}
	fail := func(err error) (bool, error) {
		home.Close()
		a.Log.Warn("pop3 proxy: login on home node failed", "account", account, "node", node, "err", err)
		return true, errHomeUnavailable
	}
	if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+OK") {
		return fail(fmt.Errorf("greeting %q: %v", l, err))
	}
	// RFC 5034 AUTH PLAIN with an initial response: any bytes are safe.
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + account + "\x00" + pw))
	if _, err := fmt.Fprintf(home, "AUTH PLAIN %s\r\n", ir); err != nil {
		return fail(err)
	}
	l, err := br.ReadString('\n')
	if err != nil {
		return fail(err)
	}
	if !strings.HasPrefix(l, "+OK") {
		return fail(fmt.Errorf("answer %q", strings.TrimSpace(l)))
	}
	home.SetDeadline(time.Time{})
	client.SetDeadline(time.Time{})
	if _, err := io.WriteString(client, l); err != nil {
		home.Close()
		return true, nil
	}
	a.Log.Info("pop3 proxy", "account", account, "node", node, "client", clientAddr(client.RemoteAddr()))
	splice(client, home, br, buffered)
	return true, nil
}

// splice copies both ways until either side ends, then closes the home
// connection (the client's is its server's to close). fromHome holds
// what was read from home past the login answer; toHome what the client
// sent past its login command.
func splice(client net.Conn, home *tls.Conn, fromHome *bufio.Reader, toHome []byte) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(client, fromHome)
		// The home ended the session (LOGOUT, QUIT, a timeout): so
		// does the client's connection.
		client.SetReadDeadline(time.Now())
	}()
	if len(toHome) == 0 || writeAll(home, toHome) == nil {
		io.Copy(home, client)
	}
	home.CloseWrite()
	home.SetReadDeadline(time.Now().Add(5 * time.Second)) // let its last words through
	wg.Wait()
	home.Close()
}

func writeAll(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}

// readPreface reads the CLIENT line an internal access connection starts
// with, a byte at a time so that nothing of the session after it is
// consumed.
func readPreface(c net.Conn) (netip.AddrPort, error) {
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var line []byte
	b := make([]byte, 1)
	for len(line) < 128 {
		if _, err := c.Read(b); err != nil {
			return netip.AddrPort{}, err
		}
		if b[0] == '\n' {
			return ParsePreface(string(line))
		}
		line = append(line, b[0])
	}
	return netip.AddrPort{}, errors.New("CLIENT line too long")
}

// ParsePreface parses "CLIENT <ip>:<port>" (the CR included or not).
func ParsePreface(line string) (netip.AddrPort, error) {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r"), "CLIENT ")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("want CLIENT <ip>:<port>, got %q", line)
	}
	ap, err := netip.ParseAddrPort(rest)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("CLIENT address %q: %v", rest, err)
	}
	return ap, nil
}

// proxiedConn is an internal connection presented as the client's: its
// RemoteAddr is the address the front node passed on.
type proxiedConn struct {
	*tls.Conn
	client net.Addr
}

func (c *proxiedConn) RemoteAddr() net.Addr { return c.client }
