package dns

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// serve runs an in-process DNS server for zone (RR lines) on loopback.
func serve(t testing.TB, zone string) string {
	addr, _ := serveCounting(t, zone)
	return addr
}

// serveCounting is serve that also counts the queries it answers. Negative
// answers carry the zone's SOA ("test.", MINIMUM 30, TTL 60) as a real
// authoritative server's do (RFC 2308 §3).
func serveCounting(t testing.TB, zone string) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	soa, _ := mdns.NewRR("test. 60 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 30")
	records := map[string][]mdns.RR{}
	for _, line := range strings.Split(strings.TrimSpace(zone), "\n") {
		rr, err := mdns.NewRR(line)
		if err != nil {
			t.Fatal(err)
		}
		n := strings.ToLower(rr.Header().Name)
		records[n] = append(records[n], rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		n.Add(1)
		m := new(mdns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		rrs, ok := records[strings.ToLower(q.Name)]
		if !ok {
			m.Rcode = mdns.RcodeNameError
		}
		if strings.HasPrefix(q.Name, "fail.") {
			m.Rcode = mdns.RcodeServerFailure
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		if len(m.Answer) == 0 && m.Rcode != mdns.RcodeServerFailure {
			m.Ns = []mdns.RR{soa}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String(), &n
}

func TestClientLookups(t *testing.T) {
	addr := serve(t, `
a.test. 60 IN MX 20 mx2.a.test.
a.test. 60 IN MX 10 mx1.a.test.
mx1.a.test. 60 IN A 127.0.0.2
mx1.a.test. 60 IN AAAA ::1
null.test. 60 IN MX 0 .
noMX.test. 60 IN A 127.0.0.3
_mta-sts.a.test. 60 IN TXT "v=STSv1; " "id=1"
`)
	r := New([]string{addr}, 2*time.Second)
	ctx := context.Background()
	mx, err := r.LookupMX(ctx, "a.test")
	if err != nil || len(mx) != 2 || mx[0].Host != "mx1.a.test." || mx[1].Pref != 20 {
		t.Fatalf("MX %v %v", mx, err)
	}
	ips, err := r.LookupIP(ctx, "mx1.a.test")
	if err != nil || len(ips) != 2 || ips[0].String() != "::1" || ips[1].String() != "127.0.0.2" {
		t.Fatalf("IPs %v %v", ips, err)
	}
	mx, err = r.LookupMX(ctx, "null.test")
	if err != nil || !IsNullMX(mx) {
		t.Fatalf("null MX %v %v", mx, err)
	}
	if _, err := r.LookupMX(ctx, "nomx.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no MX records: %v, want ErrNotFound", err)
	}
	if _, err := r.LookupMX(ctx, "absent.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("NXDOMAIN: %v, want ErrNotFound", err)
	}
	if _, err := r.LookupMX(ctx, "fail.test"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("SERVFAIL: %v, want a temporary error", err)
	}
	txt, err := r.LookupTXT(ctx, "_mta-sts.a.test")
	if err != nil || len(txt) != 1 || txt[0] != "v=STSv1; id=1" {
		t.Fatalf("TXT %q %v", txt, err)
	}
}
