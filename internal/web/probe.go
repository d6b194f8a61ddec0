package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/smtp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/idna"

	"mailgate/internal/config"
)

// The probe connects, from this node, to a server a visitor names. It
// must not become a way to scan what the visitor cannot reach: it refuses
// addresses that are not public unicast (loopback, RFC 1918 and ULA,
// link-local, CGNAT, multicast, reserved) and our own hosts, checks the
// address actually dialled (not a second DNS answer: no rebinding), and
// counts probes per visitor and in all, over the fleet (probe_rate.go).

// blocked lists special-purpose ranges netip's predicates miss (RFC 6890
// and its IANA registry).
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT, RFC 6598
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking, RFC 2544
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64: reaches IPv4 inside (RFC 6052)
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001::/32"), // Teredo
	netip.MustParsePrefix("2002::/16"), // 6to4: embeds IPv4
}

// publicUnicast reports whether a is an address the probe may reach.
func publicUnicast(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

type prober struct {
	cfg   *config.Config
	allow []netip.Prefix
	slots chan struct{} // probes in flight, node-wide
	log   *slog.Logger
	// resolve and checkPort are replaceable in tests; checkPort is smtp.
	resolve   func(ctx context.Context, host string) ([]netip.Addr, error)
	checkPort func(ctx context.Context, host string, addr netip.Addr, r *portResult) error
}

func newProber(cfg *config.Config, log *slog.Logger) (*prober, error) {
	p := &prober{cfg: cfg, slots: make(chan struct{}, 16), log: log,
		resolve: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}}
	p.checkPort = p.smtp
	for _, s := range cfg.Web.ProbeAllow {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("web.probe_allow: %w", err)
		}
		p.allow = append(p.allow, pfx.Masked())
	}
	return p, nil
}

func (p *prober) allowed(a netip.Addr) bool {
	for _, pfx := range p.allow {
		if pfx.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// ours lists our own addresses: this machine's interfaces, the listen
// addresses, the published outbound addresses, our host names' addresses.
func (p *prober) ours(ctx context.Context) []netip.Prefix {
	var out []netip.Prefix
	add := func(a netip.Addr) {
		if a.IsValid() && !a.IsUnspecified() {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, ia := range addrs {
			if n, ok := ia.(*net.IPNet); ok {
				if a, ok := netip.AddrFromSlice(n.IP); ok {
					add(a)
				}
			}
		}
	}
	l := p.cfg.Listen
	for _, hp := range []string{l.MX, l.Submission, l.Submissions, l.POP3, l.POP3S, l.IMAP, l.IMAPS, l.HTTP, l.HTTPS} {
		if h, _, err := net.SplitHostPort(hp); err == nil {
			if a, err := netip.ParseAddr(h); err == nil {
				add(a)
			}
		}
	}
	for _, s := range p.cfg.Publish.OutboundIPs {
		if pfx, err := netip.ParsePrefix(s); err == nil {
			out = append(out, pfx.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			add(a)
		}
	}
	for _, h := range append([]string{p.cfg.Hostname}, p.cfg.Publish.MXHosts...) {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		as, _ := p.resolve(rctx, h)
		cancel()
		for _, a := range as {
			add(a)
		}
	}
	return out
}

// refusal is why a target may not be probed: a catalog key.
type refusal string

// target resolves host and picks the address to probe, or says why not.
// Every address the name has must pass: a name pointing at us or inside
// a private network is refused even if it also has a public address.
func (p *prober) target(ctx context.Context, host string) (netip.Addr, refusal) {
	host = strings.TrimSuffix(strings.TrimSpace(host), ".")
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ascii, err := idna.Lookup.ToASCII(host)
		if err != nil || ascii == "" || len(ascii) > 253 || !strings.Contains(ascii, ".") {
			return netip.Addr{}, "probe.r.name"
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err = p.resolve(rctx, ascii)
		cancel()
		if err != nil || len(addrs) == 0 {
			return netip.Addr{}, "probe.r.resolve"
		}
	}
	ours := p.ours(ctx)
	for _, a := range addrs {
		a = a.Unmap()
		if p.allowed(a) {
			continue
		}
		if !publicUnicast(a) {
			return netip.Addr{}, "probe.r.private"
		}
		for _, o := range ours {
			if o.Contains(a) {
				return netip.Addr{}, "probe.r.ours"
			}
		}
	}
	return addrs[0].Unmap(), ""
}

// dialer connects only to an address target accepted: Control sees the
// address really dialled.
func (p *prober) dialer(want netip.Addr) *net.Dialer {
	return &net.Dialer{Timeout: p.cfg.Web.ProbeTimeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || ap.Addr().Unmap() != want {
			return errors.New("probe: unexpected address")
		}
		return nil
	}}
}

// portResult is what one port answered.
type portResult struct {
	Port      int
	Kind      string // "submission", "submissions", "mx"
	Answered  bool
	StartTLS  bool
	TLS       bool // a TLS session came up (implicit, or after STARTTLS)
	CertValid bool // the certificate is valid for the name asked
	Auth      bool // AUTH offered (after TLS where there is TLS)
	Failed    bool // the check itself failed (it panicked): nothing is known
	Err       string
}

type probeReport struct {
	Host    string
	Addr    netip.Addr
	Refused refusal
	Ports   []portResult
	Advice  string // catalog key
}

// run probes addr's three ports at once.
func (p *prober) run(ctx context.Context, host string, addr netip.Addr) []portResult {
	pp := p.cfg.Web.ProbePorts
	res := []portResult{{Port: pp.Submission, Kind: "submission"}, {Port: pp.Submissions, Kind: "submissions"}, {Port: pp.MX, Kind: "mx"}}
	var wg sync.WaitGroup
	for i := range res {
		wg.Add(1)
		go func(r *portResult) {
			defer wg.Done()
			if err := p.check(ctx, host, addr, r); err != nil {
				r.Err = shortErr(err)
			}
		}(&res[i])
	}
	wg.Wait()
	return res
}

// errCheckFailed is a port's result when its check panicked.
var errCheckFailed = errors.New("check failed (an internal error, logged)")

// check runs one port's check. A panic in it (a bug of ours, or of a
// library meeting a hostile server's answers) would end the whole node,
// as nothing recovers a goroutine's panic but the goroutine itself: it
// becomes that port's "check failed", with nothing of its half-made
// findings kept, and an error log with the stack.
func (p *prober) check(ctx context.Context, host string, addr netip.Addr, r *portResult) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("web probe: a port's check panicked", "host", host, "addr", addr, "port", r.Port,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			*r = portResult{Port: r.Port, Kind: r.Kind, Failed: true}
			err = errCheckFailed
		}
	}()
	return p.checkPort(ctx, host, addr, r)
}

// smtp speaks just enough SMTP to see what the port offers: greeting,
// EHLO, STARTTLS (RFC 3207) where offered, EHLO again, AUTH (RFC 4954),
// QUIT. Nothing is sent.
func (p *prober) smtp(ctx context.Context, host string, addr netip.Addr, r *portResult) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Web.ProbeTimeout)
	defer cancel()
	d := p.dialer(addr)
	target := net.JoinHostPort(addr.String(), strconv.Itoa(r.Port))
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	conn = &cappedConn{Conn: conn, left: probeReadMax}
	tlsConf := &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12,
		// Verified here, not by the handshake, so an invalid certificate
		// is reported instead of ending the probe.
		VerifyConnection: func(cs tls.ConnectionState) error {
			r.CertValid = verifyCert(cs, host)
			return nil
		}}
	if r.Kind == "submissions" {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		r.TLS = true
		conn = tc
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	r.Answered = true
	if err := c.Hello(p.cfg.Hostname); err != nil {
		return err
	}
	if r.Kind != "submissions" {
		if r.StartTLS, _ = c.Extension("STARTTLS"); r.StartTLS {
			if err := c.StartTLS(tlsConf); err != nil {
				return err
			}
			r.TLS = true
		}
	}
	r.Auth, _ = c.Extension("AUTH")
	c.Quit()
	return nil
}

// probeReadMax is the most a probed server may send: a greeting, two
// EHLO answers and a TLS handshake fit in a few KiB. net/smtp reads a
// reply line however long it is, so a server answering with an endless
// line would otherwise fill our memory until the probe's timeout.
const probeReadMax = 256 << 10

var errProbeTooMuch = errors.New("the server sent more than 256 KiB")

// cappedConn fails reads once left bytes have been read.
type cappedConn struct {
	net.Conn
	left int
}

func (c *cappedConn) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errProbeTooMuch
	}
	n, err := c.Conn.Read(b[:min(len(b), c.left)])
	c.left -= n
	return n, err
}

func verifyCert(cs tls.ConnectionState, host string) bool {
	if len(cs.PeerCertificates) == 0 {
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Intermediates: inter})
	return err == nil
}

func shortErr(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// verdict turns the ports' answers into the advice line.
func (rep *probeReport) verdict() {
	var sub, subs portResult
	for _, r := range rep.Ports {
		switch r.Kind {
		case "submission":
			sub = r
		case "submissions":
			subs = r
		}
	}
	switch {
	case sub.StartTLS && sub.TLS && sub.Auth:
		rep.Advice = "probe.adv587"
	case subs.TLS && subs.Auth:
		rep.Advice = "probe.adv465"
	default:
		rep.Advice = "probe.advnone"
	}
}

// probeServer is the form's POST: rate limit, SSRF guard, probe, page.
func (s *Server) probeServer(w http.ResponseWriter, r *http.Request) {
	d, err := s.checkData(r)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	host := r.PostFormValue("host")
	if len(host) > 300 {
		host = host[:300]
	}
	rep := &probeReport{Host: host}
	d.Probe, d.ProbeHost = rep, host
	status := http.StatusOK
	switch limit := s.probeLimit(r.Context(), clientAddr(r)); {
	case limit != "":
		rep.Refused, status = limit, http.StatusTooManyRequests
	default:
		select {
		case s.probe.slots <- struct{}{}:
			defer func() { <-s.probe.slots }()
		case <-r.Context().Done():
			return
		}
		rep.Addr, rep.Refused = s.probe.target(r.Context(), host)
		if rep.Refused != "" {
			status = http.StatusUnprocessableEntity
			break
		}
		rep.Ports = s.probe.run(r.Context(), strings.TrimSuffix(strings.TrimSpace(host), "."), rep.Addr)
		rep.verdict()
	}
	s.metrics.probes.WithLabelValues(probeOutcome(rep)).Inc()
	s.log.Info("web probe", "client", r.RemoteAddr, "host", host, "addr", rep.Addr, "refused", string(rep.Refused), "advice", rep.Advice)
	s.render(w, r, status, "check", d)
}

func probeOutcome(rep *probeReport) string {
	if rep.Refused != "" {
		return strings.TrimPrefix(string(rep.Refused), "probe.r.")
	}
	return strings.TrimPrefix(rep.Advice, "probe.")
}
