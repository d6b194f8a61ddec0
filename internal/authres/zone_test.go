package authres

import (
	"net"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"mailgate/internal/dns"
)

// zoneResolver serves RR lines (zone file syntax, absolute names) from an
// in-process DNS server on loopback and returns the node's caching client
// pointed at it. Names under "servfail." answer SERVFAIL; names under
// "timeout." never answer.
func zoneResolver(t testing.TB, zone string) *dns.Client {
	t.Helper()
	records := map[string][]mdns.RR{}
	zp := mdns.NewZoneParser(strings.NewReader(zone), "", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		n := strings.ToLower(rr.Header().Name)
		records[n] = append(records[n], rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	soa, _ := mdns.NewRR("test. 60 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 30")
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		switch {
		case strings.Contains("."+name, ".timeout."):
			return
		case strings.Contains("."+name, ".servfail."):
			m.Rcode = mdns.RcodeServerFailure
			w.WriteMsg(m)
			return
		}
		rrs, ok := records[name]
		if !ok {
			m.Rcode = mdns.RcodeNameError
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		if len(m.Answer) == 0 {
			m.Ns = []mdns.RR{soa}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return dns.New([]string{pc.LocalAddr().String()}, 300*time.Millisecond)
}
