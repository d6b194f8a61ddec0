package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/edge"
	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

func TestClassifyByPool(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	st.AddPoolPrefixes(ctx, "test", "ftth-dyn", "dynamic", []string{"203.0.113.0/24"})
	st.AddPoolPrefixes(ctx, "test", "biz-fixed", "static", []string{"203.0.113.128/28"})
	if err := st.AddExemption(ctx, "test", "203.0.113.7/32", "own server", time.Time{}, store.ExemptLimit{MinBits4: 24, MinBits6: 48}); err != nil {
		t.Fatal(err)
	}
	p, _, err := edge.Load(ctx, st, nil, nil, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ addr, kind, pool string }{
		{"203.0.113.5", kindDynamic, "ftth-dyn"},
		{"203.0.113.130", kindFixed, "biz-fixed"},
		{"203.0.113.7", kindExempted, "ftth-dyn"},
		{"198.51.100.1", kindOutside, ""},
		{"::ffff:203.0.113.5", kindDynamic, "ftth-dyn"},
	} {
		got := classify(p, netip.MustParseAddr(tc.addr))
		if got.Kind != tc.kind || got.Pool != tc.pool || len(got.Reasons) == 0 {
			t.Errorf("%s: %+v, want %s in %q", tc.addr, got, tc.kind, tc.pool)
		}
	}
}

func TestAdviceFlowchart(t *testing.T) {
	for _, tc := range []struct {
		kind, server, port string
		affected, ok       bool
		first              string
	}{
		{kindDynamic, serverOther, "25", true, false, "adv.affected"},
		{kindDynamic, serverOwn, "25", true, false, "adv.affected"},
		{kindDynamic, serverOther, "587", false, true, "adv.ok"},
		{kindDynamic, serverOther, "465", false, true, "adv.ok"},
		{kindDynamic, serverOurs, "25", false, true, "adv.port25_ours"},
		{kindDynamic, serverUnknown, "25", false, false, "adv.find_settings"},
		{kindDynamic, serverOther, "unknown", false, false, "adv.find_settings"},
		{kindFixed, serverOther, "25", false, false, "adv.not_affected"},
		{kindExempted, serverOwn, "25", false, false, "adv.not_affected"},
		{kindOutside, serverOther, "25", false, false, "adv.not_affected"},
	} {
		a := advise(tc.kind, tc.server, tc.port)
		if a.Affected != tc.affected || a.OK != tc.ok || a.Lines[0] != tc.first {
			t.Errorf("%s/%s/%s: %+v", tc.kind, tc.server, tc.port, a)
		}
		for _, l := range a.Lines {
			if _, ok := catalog[l]; !ok {
				t.Errorf("advice line %q is not in the catalog", l)
			}
		}
	}
}

// The visitor of an httptest server is 127.0.0.1: a pool holding it makes
// the page say "dynamic" and walk to the plain-words answer.
func TestSelfCheckPage(t *testing.T) {
	s := newSite(t, nil)
	s.st.AddPoolPrefixes(context.Background(), "test", "lo-dyn", "dynamic", []string{"127.0.0.0/8"})
	resp, body := s.do(s.client(s.plain), "GET", s.plain.URL+"/check?server=other&port=25", nil, nil)
	for _, want := range []string{`data-kind="dynamic"`, "Your IP address: 127.0.0.1", "dynamic pool (lo-dyn)", `data-affected="true"`,
		"Change the outgoing server to <code>gw.example.jp</code>, port <code>587</code>"} {
		if !strings.Contains(body, want) {
			t.Errorf("self-check page lacks %q (status %d)", want, resp.StatusCode)
		}
	}
}

func TestProbeRefusesInternalTargetsByDefault(t *testing.T) {
	cfg := config.Default()
	cfg.Hostname = "mail.isp.example"
	cfg.Publish.OutboundIPs = []string{"198.51.100.25"}
	p, err := newProber(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p.resolve = func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "mail.isp.example":
			return []netip.Addr{netip.MustParseAddr("198.51.100.26")}, nil
		case "rebind.example": // one public, one private: refused
			return []netip.Addr{netip.MustParseAddr("198.51.100.99"), netip.MustParseAddr("10.0.0.1")}, nil
		case "smtp.example.com":
			return []netip.Addr{netip.MustParseAddr("198.51.100.99")}, nil
		}
		return nil, &netErr{}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		host string
		want refusal
	}{
		{"127.0.0.1", "probe.r.private"}, {"::1", "probe.r.private"}, {"[::1]", "probe.r.private"},
		{"10.1.2.3", "probe.r.private"}, {"172.16.0.1", "probe.r.private"}, {"192.168.1.1", "probe.r.private"},
		{"169.254.169.254", "probe.r.private"}, {"fe80::1", "probe.r.private"}, {"100.64.0.1", "probe.r.private"},
		{"fd00::1", "probe.r.private"}, {"0.0.0.0", "probe.r.private"}, {"224.0.0.1", "probe.r.private"},
		{"::ffff:127.0.0.1", "probe.r.private"}, {"64:ff9b::a00:1", "probe.r.private"},
		{"198.51.100.25", "probe.r.ours"}, {"mail.isp.example", "probe.r.ours"},
		{"rebind.example", "probe.r.private"}, {"nxdomain.example", "probe.r.resolve"},
		{"not a name", "probe.r.name"}, {"localhost", "probe.r.name"},
		{"smtp.example.com", ""},
	} {
		if _, got := p.target(ctx, tc.host); got != tc.want {
			t.Errorf("target(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
	cfg.Web.ProbeAllow = []string{"127.0.0.0/8"}
	p2, _ := newProber(cfg, slog.New(slog.DiscardHandler))
	if a, got := p2.target(ctx, "127.0.0.1"); got != "" || a != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("with probe_allow 127.0.0.0/8: %v %q, want allowed", a, got)
	}
}

type netErr struct{}

func (*netErr) Error() string { return "no such host" }

func TestProbeRateLimitedPerSource(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.Web.ProbePerHour = 2 })
	c := s.client(s.plain)
	_, page := s.do(c, "GET", s.plain.URL+"/check", nil, nil)
	tok := formToken(t, page)
	var codes []int
	for range 3 {
		resp, _ := s.do(c, "POST", s.plain.URL+"/check/probe", map[string][]string{"csrf": {tok}, "host": {"10.0.0.1"}}, nil)
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != http.StatusUnprocessableEntity || codes[1] != http.StatusUnprocessableEntity || codes[2] != http.StatusTooManyRequests {
		t.Fatalf("probe status codes %v, want 422 422 429", codes)
	}
}

// FuzzProbeTarget: whatever the visitor types and whatever the DNS
// answers, an address the probe accepts is public unicast and not ours.
func FuzzProbeTarget(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "smtp.example.com", "[::1]", "::ffff:10.0.0.1", "xn--p8j9a0d9c9a.example", "198.51.100.9", "0x7f.1"} {
		f.Add(s, "198.51.100.9")
		f.Add(s, "10.0.0.1")
	}
	cfg := config.Default()
	cfg.Publish.OutboundIPs = []string{"198.51.100.25"}
	f.Fuzz(func(t *testing.T, host, answer string) {
		p, _ := newProber(cfg, slog.New(slog.DiscardHandler))
		p.resolve = func(context.Context, string) ([]netip.Addr, error) {
			a, err := netip.ParseAddr(answer)
			if err != nil {
				return nil, err
			}
			return []netip.Addr{a}, nil
		}
		a, ref := p.target(context.Background(), host)
		if ref == "" && (!publicUnicast(a) || a == netip.MustParseAddr("198.51.100.25")) {
			t.Fatalf("target(%q) with DNS %q accepted %v", host, answer, a)
		}
	})
}

// TestProbeStopsReadingAnEndlessReply: a probed server that answers with
// one endless line (net/smtp would read it whole) is cut off at
// probeReadMax instead of filling memory until the probe's timeout.
func TestProbeStopsReadingAnEndlessReply(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				// 16 MiB of one reply line (bounded, so that a probe
				// without the cap runs into its timeout, not out of
				// memory), then nothing until the probe hangs up.
				chunk := bytes.Repeat([]byte("a"), 64<<10)
				c.Write([]byte("220-"))
				for range 256 {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
				io.Copy(io.Discard, c)
			}()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	cfg := config.Default()
	cfg.Hostname = "mail.isp.example"
	cfg.Web.ProbeAllow = []string{"127.0.0.0/8"}
	cfg.Web.ProbeTimeout = 3 * time.Second
	cfg.Web.ProbePorts = config.ProbePorts{Submission: port, Submissions: port, MX: port}
	p, err := newProber(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.run(context.Background(), "127.0.0.1", netip.MustParseAddr("127.0.0.1")) {
		if r.Kind == "submissions" {
			continue // a TLS handshake: not SMTP, refused at once
		}
		if r.Err != errProbeTooMuch.Error() {
			t.Errorf("%s: error %q, want %q", r.Kind, r.Err, errProbeTooMuch)
		}
	}
}

// TestProbePanicIsACheckFailed: a port's check that panics is that port's
// "check failed" (its half-made findings dropped) and an error log with
// the panic, while the other ports report as usual; the node goes on.
func TestProbePanicIsACheckFailed(t *testing.T) {
	cfg := config.Default()
	cfg.Hostname = "mail.isp.example"
	var logged bytes.Buffer
	p, err := newProber(cfg, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p.checkPort = func(ctx context.Context, host string, addr netip.Addr, r *portResult) error {
		r.Answered, r.TLS, r.Auth = true, true, true
		if r.Kind == "mx" {
			var m map[string]int
			m["boom"]++ // assignment to entry in nil map
		}
		return nil
	}
	res := p.run(context.Background(), "mx.customer.example", netip.MustParseAddr("192.0.2.25"))
	for _, r := range res {
		switch r.Kind {
		case "mx":
			if want := (portResult{Port: r.Port, Kind: "mx", Failed: true, Err: errCheckFailed.Error()}); r != want {
				t.Errorf("mx: %+v, want %+v", r, want)
			}
		default:
			if !r.Answered || !r.Auth || r.Err != "" {
				t.Errorf("%s: %+v, want its own findings", r.Kind, r)
			}
		}
	}
	log := logged.String()
	for _, want := range []string{"level=ERROR", "a port's check panicked", "port=25", "nil map", "host=mx.customer.example"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestProbePageShowsACheckFailed: on the page, the port whose check
// panicked reads "check failed", the others their answers.
func TestProbePageShowsACheckFailed(t *testing.T) {
	s := newSite(t, nil)
	s.srv.probe.resolve = func(context.Context, string) ([]netip.Addr, error) { return nil, &netErr{} }
	s.srv.probe.checkPort = func(ctx context.Context, host string, addr netip.Addr, r *portResult) error {
		if r.Kind == "mx" {
			panic("probe bug")
		}
		r.Answered = true
		return nil
	}
	c := s.client(s.plain)
	en := map[string]string{"Accept-Language": "en"}
	_, page := s.do(c, "GET", s.plain.URL+"/check", nil, en)
	resp, body := s.do(c, "POST", s.plain.URL+"/check/probe", map[string][]string{"csrf": {formToken(t, page)}, "host": {"192.0.2.25"}}, en)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200:\n%s", resp.StatusCode, body)
	}
	if n := strings.Count(body, "check failed (an internal error, logged)"); n != 1 {
		t.Errorf("%d ports read \"check failed\", want 1:\n%s", n, body)
	}
	if n := strings.Count(body, "<td>"+catalog["probe.answered"][1]); n != 2 {
		t.Errorf("%d ports answered, want 2:\n%s", n, body)
	}
}
