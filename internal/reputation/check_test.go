package reputation

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/dns"
	"mailgate/internal/edge"
	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
	"mailgate/internal/verdict"
)

// fakeDNS answers from maps; a name in hang blocks until the context
// ends, as a list server that never answers does.
type fakeDNS struct {
	a    map[string][]netip.Addr
	ptr  map[netip.Addr][]string
	hang map[string]bool
}

func (f *fakeDNS) LookupMX(context.Context, string) ([]*net.MX, error) { return nil, dns.ErrNotFound }
func (f *fakeDNS) LookupTXT(context.Context, string) ([]string, error) { return nil, dns.ErrNotFound }
func (f *fakeDNS) LookupIPv4(ctx context.Context, name string) ([]netip.Addr, error) {
	for suffix := range f.hang {
		if strings.HasSuffix(name, suffix) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
	}
	if as, ok := f.a[name]; ok {
		return as, nil
	}
	return nil, fmt.Errorf("%w: %s", dns.ErrNotFound, name)
}
func (f *fakeDNS) LookupIP(ctx context.Context, name string) ([]net.IP, error) {
	as, err := f.LookupIPv4(ctx, name)
	var out []net.IP
	for _, a := range as {
		out = append(out, a.AsSlice())
	}
	return out, err
}
func (f *fakeDNS) LookupPTR(_ context.Context, ip netip.Addr) ([]string, error) {
	if n, ok := f.ptr[ip]; ok {
		return n, nil
	}
	return nil, dns.ErrNotFound
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestQueryNameIsWhatTheEdgeDNSBLParses(t *testing.T) {
	for _, c := range []struct{ ip, want string }{
		{"192.0.2.99", "99.2.0.192.zen.example"},
		{"::ffff:192.0.2.99", "99.2.0.192.zen.example"},
		// RFC 5782 §2.4's example
		{"2001:db8:1:2:3:4:567:89ab", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.zen.example"},
	} {
		ip := netip.MustParseAddr(c.ip)
		got := QueryName(ip, "zen.example.")
		if got != c.want {
			t.Errorf("QueryName(%s) = %s, want %s", c.ip, got, c.want)
		}
		back, ok := edge.ParseQueryName(got, "zen.example.")
		if !ok || back != ip.Unmap() {
			t.Errorf("edge.ParseQueryName(%s) = %v, %v; want %s", got, back, ok, ip.Unmap())
		}
	}
}

func TestErrorCodesNeverList(t *testing.T) {
	for _, c := range []struct {
		code string
		err  bool
	}{
		{"127.0.0.2", false}, {"127.0.0.10", false}, {"127.1.2.3", false},
		{"127.255.255.252", true}, {"127.255.255.254", true}, {"127.255.255.255", true},
		{"127.0.0.1", true}, {"127.0.0.0", true}, {"10.0.0.2", true}, {"::1", true},
	} {
		if got := IsErrorCode(netip.MustParseAddr(c.code)); got != c.err {
			t.Errorf("IsErrorCode(%s) = %v, want %v", c.code, got, c.err)
		}
	}
	l, err := newList(config.DNSBL{Zone: "zen.example", Codes: []string{"127.0.0.2", "127.0.0.4/30"}}, nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		codes           []string
		listed, dynamic bool
	}{
		{[]string{"127.0.0.2"}, true, false},
		{[]string{"127.0.0.6"}, true, false},
		{[]string{"127.0.0.3"}, false, false}, // not a configured code
		{[]string{"127.0.0.10"}, false, true}, // PBL-style by default
		{[]string{"127.0.0.11", "127.0.0.4"}, true, true},
		{[]string{"127.255.255.254"}, false, false},
		{[]string{"10.0.0.2"}, false, false},
	} {
		a := l.classify(addrs(c.codes...))
		if a.Listed != c.listed || a.Dynamic != c.dynamic {
			t.Errorf("answers %v: listed %v dynamic %v; want %v %v", c.codes, a.Listed, a.Dynamic, c.listed, c.dynamic)
		}
	}
	any, _ := newList(config.DNSBL{Zone: "any.example", DynamicCodes: []string{}}, nil, time.Second)
	if a := any.classify(addrs("127.0.0.10")); !a.Listed || a.Dynamic {
		t.Errorf("no codes configured and dynamic codes off: 127.0.0.10 should list: %+v", a)
	}
}

func newChecker(t *testing.T, cfg config.Reputation, r dns.Resolver, st *store.Store) *Checker {
	t.Helper()
	c, err := New(cfg, r, time.Second, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func baseConfig() config.Reputation {
	cfg := config.Default().Reputation
	cfg.DNSBLTimeout = 300 * time.Millisecond
	cfg.DNSBL = []config.DNSBL{
		{Zone: "zen.example", URL: "https://zen.example/lookup?ip={ip}", Action: "reject"},
		{Zone: "weak.example", URL: "https://weak.example/", Action: "score", Score: 2.5},
		{Zone: "slow.example", URL: "https://slow.example/", Action: "reject"},
	}
	return cfg
}

func TestDNSListVerdicts(t *testing.T) {
	f := &fakeDNS{a: map[string][]netip.Addr{
		"1.2.0.192.zen.example":    addrs("127.0.0.2"),
		"2.2.0.192.zen.example":    addrs("127.255.255.254"),
		"3.2.0.192.weak.example":   addrs("127.0.0.2"),
		"4.2.0.192.zen.example":    addrs("127.0.0.10"),
		"1.2.0.192.weak.example":   addrs("127.0.0.3"),
		"5.2.0.192.slow.example":   addrs("127.0.0.2"),
		"mail.sender.example":      addrs("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"),
		"unrelated.sender.example": addrs("198.51.100.1"),
	}, ptr: map[netip.Addr][]string{}, hang: map[string]bool{"slow.example": true}}
	for i := 1; i <= 5; i++ {
		f.ptr[netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i))] = []string{"mail.sender.example"}
	}
	c := newChecker(t, baseConfig(), f, nil)
	check := func(ip string) *Report {
		return c.Check(context.Background(), &verdict.Client{IP: netip.MustParseAddr(ip)})
	}
	r := check("192.0.2.1")
	if r.Refusal == nil || r.Refusal.String() != "554 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.example; see https://zen.example/lookup?ip=192.0.2.1" {
		t.Fatalf("listed: %+v", r.Refusal)
	}
	if r.Score != 2.5 {
		t.Errorf("listed on the scoring list too: score %g, want 2.5", r.Score)
	}
	if r := check("192.0.2.2"); r.Refusal != nil || r.Score != 0 || !strings.Contains(r.Format(), "ignored answers 127.255.255.254") {
		t.Fatalf("127.255.255.254 is an error code, never a listing:\n%s", r.Format())
	}
	if r := check("192.0.2.3"); r.Refusal != nil || r.Score != 2.5 || !strings.Contains(r.Field(), "dnsbl weak.example: listed (127.0.0.2): score 2.5") {
		t.Fatalf("scoring list: %s\n%s", r.Field(), r.Format())
	}
	r = check("192.0.2.4")
	if r.Refusal == nil || r.Refusal.Code != 550 || !strings.Contains(r.Refusal.Text, "(listed by zen.example)") || !strings.Contains(r.Refusal.Text, "port 587 with authentication") {
		t.Fatalf("PBL-style answer: %+v", r.Refusal)
	}
	if r := check("192.0.2.5"); r.Refusal != nil || !strings.Contains(r.Format(), "dnsbl slow.example: no answer") {
		t.Fatalf("a list that does not answer in time must not block:\n%s", r.Format())
	}
}

func TestReverseDNSVerdicts(t *testing.T) {
	f := &fakeDNS{a: map[string][]netip.Addr{
		"mail.sender.example":          addrs("192.0.2.1"),
		"elsewhere.sender.example":     addrs("198.51.100.1"),
		"c-192-0-2-4.hsd1.isp.example": addrs("192.0.2.4"),
	}, ptr: map[netip.Addr][]string{
		netip.MustParseAddr("192.0.2.1"): {"mail.sender.example"},
		netip.MustParseAddr("192.0.2.3"): {"elsewhere.sender.example"},
		netip.MustParseAddr("192.0.2.4"): {"c-192-0-2-4.hsd1.isp.example"},
	}}
	for _, c := range []struct {
		mode, ip string
		score    float64
		reply    string
	}{
		{"score", "192.0.2.1", 0, ""},
		{"score", "192.0.2.2", ScoreNoPTR, ""},
		{"score", "192.0.2.3", ScoreUnconfirmed, ""},
		{"score", "192.0.2.4", ScoreGeneric, ""},
		{"reject-missing", "192.0.2.2", ScoreNoPTR, "550 5.7.25 Client [192.0.2.2] has no reverse DNS (PTR) record"},
		{"reject-missing", "192.0.2.3", ScoreUnconfirmed, ""},
		{"reject-unconfirmed", "192.0.2.3", ScoreUnconfirmed, "550 5.7.25 Client [192.0.2.3]: reverse DNS name elsewhere.sender.example does not resolve back to the address"},
		{"reject-unconfirmed", "192.0.2.4", ScoreGeneric, ""},
		{"off", "192.0.2.2", 0, ""},
	} {
		cfg := config.Default().Reputation
		cfg.RDNS = c.mode
		r := newChecker(t, cfg, f, nil).Check(context.Background(), &verdict.Client{IP: netip.MustParseAddr(c.ip)})
		got := ""
		if r.Refusal != nil {
			got = r.Refusal.String()
		}
		if r.Score != c.score || got != c.reply {
			t.Errorf("rdns=%s %s: score %g, reply %q; want %g, %q\n%s", c.mode, c.ip, r.Score, got, c.score, c.reply, r.Format())
		}
	}
	// A name the session already confirmed is not looked up again.
	r := newChecker(t, config.Default().Reputation, &fakeDNS{}, nil).Check(context.Background(),
		&verdict.Client{IP: netip.MustParseAddr("203.0.113.9"), RDNS: "dyn-203-0-113-9.isp.example"})
	if r.Score != ScoreGeneric || !strings.Contains(r.Format(), "PTR dyn-203-0-113-9.isp.example, forward-confirmed; generic name") {
		t.Fatalf("known rDNS:\n%s", r.Format())
	}
}

func TestDynamicSpaceVerdicts(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t)
	if _, err := st.ReplaceReputationList(ctx, "t", "isp-b", "feed.txt", []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddPoolPrefixes(ctx, "t", "dyn-east", store.PoolDynamic, []string{"203.0.113.0/24"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddExemption(ctx, "t", "203.0.113.7", "fixed-IP customer", time.Time{}, store.ExemptLimit{}); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default().Reputation
	cfg.RDNS = "off"
	cfg.CheckURL = "https://mx.example/check"
	c := newChecker(t, cfg, &fakeDNS{}, st)
	check := func(ip, account string) *Report {
		return c.Check(ctx, &verdict.Client{IP: netip.MustParseAddr(ip), Account: account})
	}
	if r := check("198.51.100.9", ""); r.Refusal == nil || r.Refusal.String() != "550 5.7.1 Client [198.51.100.9] is in dynamic (end-user) address space (198.51.100.0/24, list isp-b): send through your provider's submission service (port 587 with authentication); see https://mx.example/check" {
		t.Fatalf("imported range: %+v", r.Refusal)
	}
	if r := check("203.0.113.9", ""); r.Refusal == nil || !strings.Contains(r.Refusal.Text, "our dynamic pool dyn-east (203.0.113.0/24): send through our submission service") {
		t.Fatalf("own pool: %+v", r.Refusal)
	}
	if r := check("203.0.113.9", "alice@example.net"); r.Refusal != nil {
		t.Fatalf("own pool, authenticated: %+v", r.Refusal)
	}
	if r := check("203.0.113.7", ""); r.Refusal != nil {
		t.Fatalf("exempted address: %+v", r.Refusal)
	}
	if r := check("192.0.2.1", ""); r.Refusal != nil || r.Score != 0 {
		t.Fatalf("elsewhere: %+v", r)
	}
	cfg.Dynamic = "score"
	if r := newChecker(t, cfg, &fakeDNS{}, st).Check(ctx, &verdict.Client{IP: netip.MustParseAddr("198.51.100.9")}); r.Refusal != nil || r.Score != ScoreDynamic {
		t.Fatalf("dynamic = score: %+v", r)
	}
	// A removed list stops refusing once the node rereads the store.
	if err := st.RemoveReputationList(ctx, "t", "isp-b"); err != nil {
		t.Fatal(err)
	}
	c.spaces.checked = time.Time{}
	if r := check("198.51.100.9", ""); r.Refusal != nil {
		t.Fatalf("after remove: %+v", r.Refusal)
	}
}

func TestMessageStageCarriesTheScore(t *testing.T) {
	c := newChecker(t, config.Default().Reputation, &fakeDNS{}, nil)
	client := &verdict.Client{IP: netip.MustParseAddr("192.0.2.77")}
	if r := (ClientStage{c}).CheckClient(context.Background(), client); r != nil {
		t.Fatalf("no PTR only scores: %v", r)
	}
	v := &verdict.Verdict{}
	res := (MessageStage{c}).CheckMessage(context.Background(), client, &verdict.Message{}, v)
	if len(res.Fields) != 1 || res.Fields[0] != "X-Mailgate-Reputation: score=2; rdns: no PTR record: score 2" {
		t.Fatalf("fields = %q", res.Fields)
	}
	if r, ok := v.Notes["reputation"].(*Report); !ok || r.Score != ScoreNoPTR {
		t.Fatalf("note = %#v", v.Notes["reputation"])
	}
}

// TestMessageStageRemovesForgedFields: X-Mailgate-Reputation fields that
// arrive with the message (any case, folded) go before ours is added; the
// rest of the message is kept byte for byte.
func TestMessageStageRemovesForgedFields(t *testing.T) {
	c := newChecker(t, config.Default().Reputation, &fakeDNS{}, nil)
	client := &verdict.Client{IP: netip.MustParseAddr("192.0.2.78")}
	msg := "X-Mailgate-Reputation: score=0; trusted\r\nFrom: a@b.example\r\nx-mailgate-reputation: score=-5;\r\n\tfolded\r\nSubject: hi\r\n\r\nX-Mailgate-Reputation: body line\r\n"
	res := (MessageStage{c}).CheckMessage(context.Background(), client, &verdict.Message{Body: []byte(msg)}, &verdict.Verdict{})
	want := "From: a@b.example\r\nSubject: hi\r\n\r\nX-Mailgate-Reputation: body line\r\n"
	if string(res.Body) != want {
		t.Fatalf("body = %q, want %q", res.Body, want)
	}
	if len(res.Fields) != 1 || !strings.HasPrefix(res.Fields[0], "X-Mailgate-Reputation: score=2;") {
		t.Fatalf("fields = %q", res.Fields)
	}
	clean := (MessageStage{c}).CheckMessage(context.Background(), client, &verdict.Message{Body: []byte(want)}, &verdict.Verdict{})
	if clean.Body != nil {
		t.Fatalf("a message without the field is left alone, got %q", clean.Body)
	}
}

// TestMessageStageRefusesWhatTheClientStageMissed: a client whose verdict
// came too late for MAIL FROM is refused at the end of DATA instead.
func TestMessageStageRefusesWhatTheClientStageMissed(t *testing.T) {
	f := &fakeDNS{a: map[string][]netip.Addr{"1.2.0.192.zen.example": addrs("127.0.0.2")}}
	c := newChecker(t, baseConfig(), f, nil)
	res := (MessageStage{c}).CheckMessage(context.Background(), &verdict.Client{IP: netip.MustParseAddr("192.0.2.1")}, &verdict.Message{}, &verdict.Verdict{})
	if res.Reply == nil || res.Reply.Code != 554 || len(res.Fields) != 0 {
		t.Fatalf("result = %+v", res)
	}
}
