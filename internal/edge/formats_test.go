package edge

import (
	"bytes"
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mailgate/internal/store"
)

func TestParsePoolFileCSV(t *testing.T) {
	in := "# from IPAM\npool,kind,prefix\ndyn-east, dynamic ,10.1.0.0/16\n\nfixed,STATIC,10.1.5.0/24\n"
	rows, err := ParsePoolFile([]byte(in), false)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.PoolRow{{Pool: "dyn-east", Kind: "dynamic", Prefix: "10.1.0.0/16"}, {Pool: "fixed", Kind: "static", Prefix: "10.1.5.0/24"}}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Fatalf("rows = %+v", rows)
	}
	// header optional
	rows, err = ParsePoolFile([]byte("dyn,dynamic,2001:db8::/48\n"), false)
	if err != nil || len(rows) != 1 {
		t.Fatalf("headerless: %+v %v", rows, err)
	}
	if _, err := ParsePoolFile([]byte("dyn,dynamic\n"), false); err == nil || !strings.Contains(err.Error(), "want 3: pool,kind,prefix") {
		t.Fatalf("two columns: %v", err)
	}
}

// Issue 15 §4: a CSV saved by a spreadsheet starts with a UTF-8
// byte-order mark; it failed with a misleading error (or, without a
// header, named the first pool "\ufeffdyn").
func TestParsePoolFileWithBOM(t *testing.T) {
	for _, in := range []string{"\ufeffpool,kind,prefix\r\ndyn,dynamic,10.1.0.0/16\r\n", "\ufeffdyn,dynamic,10.1.0.0/16\n"} {
		rows, err := ParsePoolFile([]byte(in), false)
		if err != nil || len(rows) != 1 || rows[0] != (store.PoolRow{Pool: "dyn", Kind: "dynamic", Prefix: "10.1.0.0/16"}) {
			t.Errorf("ParsePoolFile(%q) = %+v, %v", in, rows, err)
		}
	}
	rows, err := ParsePoolFile([]byte("\ufeff[[pool]]\nname = \"dyn\"\nkind = \"dynamic\"\nprefixes = [\"10.1.0.0/16\"]\n"), true)
	if err != nil || len(rows) != 1 || rows[0].Pool != "dyn" {
		t.Errorf("TOML with a BOM: %+v, %v", rows, err)
	}
	if _, err := ParsePoolFile([]byte("\xff\xfep\x00o\x00"), false); err == nil || !strings.Contains(err.Error(), "save it as CSV UTF-8") {
		t.Errorf("UTF-16: %v, want advice to save as UTF-8", err)
	}
	if err := store.CheckPoolName("\ufeffdyn"); err == nil {
		t.Error("a pool name with a byte-order mark was accepted")
	}
}

func TestPoolFileRoundTrip(t *testing.T) {
	ps := []store.PoolPrefix{pp("dyn", store.PoolDynamic, "10.1.0.0/16"), pp("dyn", store.PoolDynamic, "2001:db8::/48"), pp("fixed", store.PoolStatic, "10.1.5.0/24")}
	for _, isTOML := range []bool{false, true} {
		var b bytes.Buffer
		write := WritePoolCSV
		if isTOML {
			write = WritePoolTOML
		}
		if err := write(&b, ps); err != nil {
			t.Fatal(err)
		}
		rows, err := ParsePoolFile(b.Bytes(), isTOML)
		if err != nil {
			t.Fatalf("toml=%v: %v\n%s", isTOML, err, b.String())
		}
		if len(rows) != 3 || rows[0].Pool != "dyn" || rows[1].Prefix != "2001:db8::/48" || rows[2].Kind != "static" {
			t.Fatalf("toml=%v: %+v\n%s", isTOML, rows, b.String())
		}
	}
	if _, err := ParsePoolFile([]byte("[[pool]]\nname='x'\nkind='dynamic'\nprefix=['10.0.0.0/8']\n"), true); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("typo in TOML: %v", err)
	}
}

func FuzzParsePoolFile(f *testing.F) {
	f.Add([]byte("pool,kind,prefix\ndyn,dynamic,10.0.0.0/8\n"), false)
	f.Add([]byte("\"a,b\",static,\"1.2.3.4\"\n# c\n"), false)
	f.Add([]byte("[[pool]]\nname = \"x\"\nkind = \"static\"\nprefixes = [\"::/0\"]\n"), true)
	f.Add([]byte("\ufeffpool,kind,prefix\r\ndyn,dynamic,10.1.2.3/8\r\n"), false)
	f.Add([]byte("\xff\xfed\x00y\x00n\x00"), false)
	f.Fuzz(func(t *testing.T, data []byte, isTOML bool) {
		rows, err := ParsePoolFile(data, isTOML)
		if err != nil {
			return
		}
		var ps []store.PoolPrefix
		for _, r := range rows {
			p, err := store.ParsePrefix(r.Prefix)
			if err != nil || (r.Kind != "dynamic" && r.Kind != "static") || store.CheckPoolName(r.Pool) != nil {
				return
			}
			ps = append(ps, store.PoolPrefix{Pool: r.Pool, Kind: r.Kind, Prefix: p})
		}
		var b bytes.Buffer
		if err := WritePoolCSV(&b, ps); err != nil {
			t.Fatal(err)
		}
		back, err := ParsePoolFile(b.Bytes(), false)
		if err != nil || len(back) != len(ps) {
			t.Fatalf("export of %d rows parsed back as %d: %v\n%s", len(ps), len(back), err, b.String())
		}
	})
}

func TestParseWhen(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	for in, want := range map[string]time.Time{
		"2026-10-01":                time.Date(2026, 10, 1, 0, 0, 0, 0, jst),
		"2026-10-01 09:30":          time.Date(2026, 10, 1, 9, 30, 0, 0, jst),
		"2026-10-01T09:30:15":       time.Date(2026, 10, 1, 9, 30, 15, 0, jst),
		"2026-10-01T00:00:00Z":      time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
		"2026-10-01T09:00:00+09:00": time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
	} {
		got, err := ParseWhen(in, jst)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseWhen("next tuesday", jst); err == nil {
		t.Error("nonsense accepted")
	}
}

func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"2026-10-01", "2026-10-01 09:30", "2026-10-01T09:00:00+09:00", "2026-13-01", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseWhen(s, time.UTC)
		if err != nil {
			return
		}
		again, err := ParseWhen(got.Format(time.RFC3339), time.UTC)
		if err != nil || !again.Equal(got.Truncate(time.Second)) {
			t.Fatalf("%q -> %v -> %v, %v", s, got, again, err)
		}
	})
}

func TestFeedFormats(t *testing.T) {
	es := Feed(Compile(&store.EdgeSnapshot{Prefixes: []store.PoolPrefix{pp("dyn", store.PoolDynamic, "10.1.0.0/16"), pp("fixed", store.PoolStatic, "10.1.128.0/17"), pp("dyn", store.PoolDynamic, "2001:db8::/48")}}, nil, t0))
	var b bytes.Buffer
	WriteFeed(&b, "txt", es)
	if b.String() != "# dynamic subscriber prefixes: direct-to-MX SMTP from these is not expected\n10.1.0.0/17\n2001:db8::/48\n" {
		t.Errorf("txt:\n%s", b.String())
	}
	b.Reset()
	WriteFeed(&b, "csv", es)
	if b.String() != "prefix,pool,family,last_change\n10.1.0.0/17,dyn,ipv4,2026-04-01T00:00:00Z\n2001:db8::/48,dyn,ipv6,2026-04-01T00:00:00Z\n" {
		t.Errorf("csv:\n%s", b.String())
	}
	b.Reset()
	WriteFeed(&b, "json", es)
	var back []FeedEntry
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != 2 || back[1].Family != "ipv6" || back[0].Pool != "dyn" {
		t.Errorf("json: %v\n%s", err, b.String())
	}
	if err := WriteFeed(&b, "xml", es); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestParseQueryName(t *testing.T) {
	zone := "dyn.bl.example."
	if a, ok := ParseQueryName("3.2.1.10.dyn.bl.example", zone); !ok || a.String() != "10.1.2.3" {
		t.Errorf("v4: %v %v", a, ok)
	}
	// RFC 5782 §2.4: 2001:db8:1:2:3:4:567:89ab
	q := "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2." + zone
	if a, ok := ParseQueryName(q, zone); !ok || a.String() != "2001:db8:1:2:3:4:567:89ab" {
		t.Errorf("v6: %v %v", a, ok)
	}
	for _, bad := range []string{"3.2.1.dyn.bl.example.", "03.2.1.10.dyn.bl.example.", "256.2.1.10.dyn.bl.example.", "3.2.1.10.other.example."} {
		if _, ok := ParseQueryName(bad, zone); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseQueryName(f *testing.F) {
	f.Add("3.2.1.10.dyn.bl.example.")
	f.Add("b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.dyn.bl.example.")
	f.Fuzz(func(t *testing.T, name string) {
		zone := "dyn.bl.example."
		a, ok := ParseQueryName(name, zone)
		if !ok {
			return
		}
		if back, ok := ParseQueryName(reverseName(a)+zone, zone); !ok || back != a {
			t.Fatalf("%q -> %v -> %v", name, a, back)
		}
	})
}

func reverseName(a netip.Addr) string {
	var b strings.Builder
	if a.Is4() {
		x := a.As4()
		for i := 3; i >= 0; i-- {
			b.WriteString(itoa(int(x[i])) + ".")
		}
		return b.String()
	}
	x := a.As16()
	const hex = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b.WriteByte(hex[x[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[x[i]>>4])
		b.WriteByte('.')
	}
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}

// TestDNSBLServesRealQueries runs the zone on loopback and asks it with a
// real DNS client over UDP and TCP.
func TestDNSBLServesRealQueries(t *testing.T) {
	p := Compile(testSnapshot(), nil, t0)
	bl := NewDNSBL("dyn.bl.example", p)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: bl}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		r, _, err := new(dns.Client).Exchange(m, pc.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		name  string
		rcode int
		a     string
	}{
		{"3.2.1.10.dyn.bl.example.", dns.RcodeSuccess, "127.0.0.10"},  // dynamic
		{"3.5.1.10.dyn.bl.example.", dns.RcodeNameError, ""},          // static hole
		{"7.7.1.10.dyn.bl.example.", dns.RcodeNameError, ""},          // exempted
		{"1.0.0.10.dyn.bl.example.", dns.RcodeNameError, ""},          // not ours
		{"2.0.0.127.dyn.bl.example.", dns.RcodeSuccess, "127.0.0.10"}, // RFC 5782 §5 test entry
		{"1.0.0.127.dyn.bl.example.", dns.RcodeNameError, ""},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.8.b.d.0.1.0.0.2.dyn.bl.example.", dns.RcodeSuccess, "127.0.0.10"},
		{"3.2.1.10.other.example.", dns.RcodeRefused, ""},
	}
	for _, c := range cases {
		r := ask(c.name, dns.TypeA)
		got := ""
		if len(r.Answer) == 1 {
			got = r.Answer[0].(*dns.A).A.String()
		}
		if r.Rcode != c.rcode || got != c.a || (c.rcode == dns.RcodeSuccess && !r.Authoritative) {
			t.Errorf("%s: rcode %s answer %q, want %s %q", c.name, dns.RcodeToString[r.Rcode], got, dns.RcodeToString[c.rcode], c.a)
		}
	}
	r := ask("3.2.1.10.dyn.bl.example.", dns.TypeTXT)
	if len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), "10.1.0.0/16 (pool dyn)") {
		t.Errorf("TXT: %v", r.Answer)
	}
	// a new policy takes effect without a restart
	snap := testSnapshot()
	snap.Prefixes = snap.Prefixes[2:]
	bl.SetPolicy(Compile(snap, nil, t0))
	if r := ask("3.2.1.10.dyn.bl.example.", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("after the pool went away: %s", dns.RcodeToString[r.Rcode])
	}
}

func TestPlanIsMinimal(t *testing.T) {
	p := Compile(testSnapshot(), nil, t0)
	r := p.Ruleset(time.Hour)
	empty := &KernelState{Sets: map[string][]Range{}, Present: map[string]bool{}}
	script, ch := Plan(empty, r)
	if !ch.Created || !ch.Rules || !strings.Contains(script, "add element inet op25b dyn4 { 10.1.0.0-10.1.4.255, 10.1.6.0-10.1.255.255 }") ||
		!strings.Contains(script, "timeout 3600s") || !strings.Contains(script, `comment "mailgate-state `+r.Digest()+`"`) {
		t.Fatalf("fresh plan %s:\n%s", ch, script)
	}
	for _, forbidden := range []string{"587", "465", "flush table", "delete table"} {
		if strings.Contains(script, forbidden) {
			t.Errorf("plan mentions %q:\n%s", forbidden, script)
		}
	}
	// The kernel as the plan left it: nothing to do.
	cur := &KernelState{Exists: true, Sets: r.Sets, Present: map[string]bool{}, RulesHash: r.RulesHash(), Digest: r.Digest()}
	for _, s := range append(intervalSets, counterSets...) {
		cur.Present[s.Name] = true
	}
	if script, ch := Plan(cur, r); script != "" || !ch.Empty() {
		t.Fatalf("unchanged plan %s:\n%s", ch, script)
	}
	// One static hole more: only dyn4 elements move; no chain is touched.
	snap := testSnapshot()
	snap.Prefixes = append(snap.Prefixes, pp("fixed", store.PoolStatic, "10.1.9.0/24"))
	r2 := Compile(snap, nil, t0).Ruleset(time.Hour)
	script, ch = Plan(cur, r2)
	if ch.Rules || ch.Added != 2 || ch.Removed != 1 || strings.Contains(script, "flush chain inet op25b port25") {
		t.Fatalf("pool change plan %s:\n%s", ch, script)
	}
}

func TestRenderIptablesNeverMatchesSubmission(t *testing.T) {
	r := Compile(testSnapshot(), testMX, t0).Ruleset(0)
	out := r.RenderIptables()
	for _, want := range []string{"-I FORWARD -p tcp --dport 25 -j OP25B", "ipset swap op25b-dyn4-new op25b-dyn4", "add op25b-dyn4-new 10.1.0.0/22",
		"-A OP25B -m set ! --match-set op25b-carrier4 dst -j ACCEPT", "-A OP25B -p tcp -m set --match-set op25b-dyn6 src -j REJECT --reject-with tcp-reset"} {
		if !strings.Contains(out, want) {
			t.Errorf("iptables output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "#") && (strings.Contains(line, "587") || strings.Contains(line, "465")) {
			t.Errorf("iptables output matches a submission port: %s", line)
		}
	}
}

// TestParseOptionalWhen: left out (empty or blank) is the zero time,
// anything else is ParseWhen's answer, errors included.
func TestParseOptionalWhen(t *testing.T) {
	for _, s := range []string{"", "  "} {
		if at, err := ParseOptionalWhen(s, time.UTC); err != nil || !at.IsZero() {
			t.Errorf("ParseOptionalWhen(%q) = %v, %v; want the zero time", s, at, err)
		}
	}
	if at, err := ParseOptionalWhen(" 2026-04-01 ", time.UTC); err != nil || !at.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("a date: %v, %v", at, err)
	}
	if _, err := ParseOptionalWhen("next april", time.UTC); err == nil {
		t.Error("a date it cannot read passed")
	}
}
