package dnsrecords

import (
	"context"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"mailgate/internal/config"
	"mailgate/internal/dkim"
	"mailgate/internal/dns"
)

func TestExpectedNeedsOutboundIPs(t *testing.T) {
	cfg := config.Default()
	if _, err := Expected(cfg, dkim.Keys{Dir: t.TempDir()}, "example.net"); err == nil || !strings.Contains(err.Error(), "outbound_ips") {
		t.Fatalf("without outbound_ips: %v", err)
	}
	cfg.Publish.OutboundIPs = []string{"192.0.2.1"}
	if _, err := Expected(cfg, dkim.Keys{Dir: t.TempDir()}, "not a domain"); err == nil {
		t.Fatal("a bad domain name was accepted")
	}
}

// fakeDNS answers from RR lines; other names do not exist.
type fakeDNS map[string][]mdns.RR

func (f fakeDNS) LookupRR(_ context.Context, name string, t uint16) ([]mdns.RR, error) {
	var out []mdns.RR
	for _, rr := range f[strings.ToLower(name)] {
		if rr.Header().Rrtype == t {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		return nil, dns.ErrNotFound
	}
	return out, nil
}

// TestCheckCompares: TXT records are found by version tag among others
// and compared by syntax (tag order, spacing); an MX set with an extra
// host is different; a disabled service's "." SRV is checked too.
func TestCheckCompares(t *testing.T) {
	cfg := config.Default()
	cfg.Hostname = "mx.isp.test"
	cfg.Publish.OutboundIPs = []string{"192.0.2.1"}
	cfg.Listen.POP3 = ""
	z, err := Expected(cfg, dkim.Keys{Dir: t.TempDir()}, "example.net")
	if err != nil {
		t.Fatal(err)
	}
	f := fakeDNS{}
	for _, r := range z.Records {
		rr, err := mdns.NewRR(r.String())
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		f[r.Name] = append(f[r.Name], rr)
	}
	other, _ := mdns.NewRR(`example.net. 60 IN TXT "google-site-verification=abc"`)
	f["example.net."] = append(f["example.net."], other)
	dmarc, _ := mdns.NewRR(`_dmarc.example.net. 60 IN TXT "v=DMARC1;rua=mailto:postmaster@example.net;  p=quarantine"`)
	f["_dmarc.example.net."] = []mdns.RR{dmarc}
	report, good := Report(Check(context.Background(), f, z))
	if !good {
		t.Fatalf("all published, yet:\n%s", report)
	}
	if !strings.Contains(report, "ok        _pop3._tcp.example.net. SRV") {
		t.Fatalf("disabled POP3 SRV:\n%s", report)
	}
	extra, _ := mdns.NewRR("example.net. 60 IN MX 20 backup.elsewhere.test.")
	f["example.net."] = append(f["example.net."], extra)
	report, good = Report(Check(context.Background(), f, z))
	if good || !strings.Contains(report, "different example.net. MX") {
		t.Fatalf("extra MX host:\n%s", report)
	}
}
