// Package dnsrecords knows the DNS records each of our mail domains must
// publish — MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT and the client SRV
// records — and checks them against what the DNS answers. The CLI's
// `mailgate dns records|check` print what this package returns.
package dnsrecords

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"

	"mailgate/internal/config"
	"mailgate/internal/dkim"
)

// ErrInvalid is a name that is not a domain; ErrNotConfigured a setting
// the records need that is not set.
var (
	ErrInvalid       = errors.New("invalid")
	ErrNotConfigured = errors.New("not configured")
)

// TTL of the records we suggest.
const TTL = 3600

// Record is one record to publish.
type Record struct {
	Name string // fully qualified owner name
	Type uint16 // mdns.TypeMX, TypeTXT, TypeSRV, TypeCNAME
	// Data is the record's data in zone file form: "10 mx.example.net."
	// for an MX, the unquoted text of a TXT.
	Data string
	Why  string // what it is for, with its RFC
}

// String is the record as a zone file line; TXT text is quoted and cut
// into strings of at most 255 octets (RFC 1035 §3.3.14).
func (r Record) String() string {
	data := r.Data
	if r.Type == mdns.TypeTXT {
		data = quoteTXT(r.Data)
	}
	return fmt.Sprintf("%s %d IN %s %s", r.Name, TTL, mdns.TypeToString[r.Type], data)
}

func quoteTXT(s string) string {
	var parts []string
	for len(s) > 255 {
		parts, s = append(parts, strconv.Quote(s[:255])), s[255:]
	}
	parts = append(parts, strconv.Quote(s))
	if len(parts) == 1 {
		return parts[0]
	}
	return "( " + strings.Join(parts, " ") + " )"
}

// Zone is what `dns records` prints for a domain: the records, and the
// MTA-STS policy text, which is served over HTTPS, not from the DNS.
type Zone struct {
	Domain    string
	Records   []Record
	STSPolicy string // https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2)
	Notes     []string
}

// Expected returns the records domain should publish, from the [publish]
// and [listen] settings and the domain's active DKIM key.
func Expected(cfg *config.Config, keys dkim.Keys, domain string) (*Zone, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if _, ok := mdns.IsDomainName(domain); !ok || !strings.Contains(domain, ".") {
		return nil, fmt.Errorf("%q is not a domain name (%w)", domain, ErrInvalid)
	}
	p := cfg.Publish
	if len(p.OutboundIPs) == 0 {
		return nil, fmt.Errorf("%w: set [publish] outbound_ips to the addresses our nodes send from: the SPF record lists them", ErrNotConfigured)
	}
	fqdn := mdns.Fqdn(domain)
	host := mdns.Fqdn(strings.ToLower(cfg.Hostname))
	z := &Zone{Domain: domain}
	add := func(name string, t uint16, data, why string) {
		z.Records = append(z.Records, Record{Name: name, Type: t, Data: data, Why: why})
	}

	mxHosts := mxHostsOf(cfg)
	for i, h := range mxHosts {
		add(fqdn, mdns.TypeMX, fmt.Sprintf("%d %s", 10*(i+1), mdns.Fqdn(strings.ToLower(h))), "mail for the domain comes to our MX (RFC 5321 §5.1)")
	}

	spf := []string{"v=spf1"}
	for _, ip := range p.OutboundIPs {
		mech := "ip4:"
		if a, err := netip.ParseAddr(ip); err == nil && a.Is6() || strings.Contains(ip, ":") {
			mech = "ip6:"
		}
		spf = append(spf, mech+ip)
	}
	add(fqdn, mdns.TypeTXT, strings.Join(append(spf, "-all"), " "), "SPF: only our nodes send for the domain (RFC 7208)")

	if sel, key, err := keys.Active(domain); err == nil {
		val, err := dkim.RecordValue(key.Public())
		if err != nil {
			return nil, err
		}
		add(sel+"._domainkey."+fqdn, mdns.TypeTXT, val, "DKIM: the active signing key (RFC 6376 §3.6.2)")
	} else if errors.Is(err, dkim.ErrNoKey) {
		z.Notes = append(z.Notes, "no DKIM key: run `mailgate dkim keygen "+domain+"`, then publish the record it prints")
	} else {
		return nil, err
	}

	report := p.ReportMailbox
	if report == "" {
		report = "postmaster@" + domain
	}
	add("_dmarc."+fqdn, mdns.TypeTXT, fmt.Sprintf("v=DMARC1; p=%s; rua=mailto:%s", p.DMARCPolicy, report), "DMARC policy and aggregate reports (RFC 7489 §6.3)")
	if _, rd, _ := strings.Cut(report, "@"); !strings.EqualFold(rd, domain) {
		// RFC 7489 §7.1: another domain must agree to take the reports.
		add(domain+"._report._dmarc."+mdns.Fqdn(strings.ToLower(rd)), mdns.TypeTXT, "v=DMARC1", "lets "+rd+" receive this domain's DMARC reports (RFC 7489 §7.1); publish it in "+rd+"'s zone")
	}

	z.STSPolicy = stsPolicy(p.MTASTSMode, mxHosts)
	sum := sha256.Sum256([]byte(z.STSPolicy))
	add("_mta-sts."+fqdn, mdns.TypeTXT, "v=STSv1; id="+hex.EncodeToString(sum[:8]), "MTA-STS: a policy exists; id changes with it (RFC 8461 §3.1)")
	add("mta-sts."+fqdn, mdns.TypeCNAME, host, "the HTTPS host serving the MTA-STS policy (RFC 8461 §3.2)")
	add("_smtp._tls."+fqdn, mdns.TypeTXT, "v=TLSRPTv1; rua=mailto:"+report, "TLS-RPT: where senders report TLS failures (RFC 8460 §3)")

	// RFC 6186 §3 and RFC 8314 §5.1: clients find the services; implicit
	// TLS first (RFC 8314 §5.1 prefers it). A disabled service is "." (RFC
	// 6186 §4: not provided).
	for _, s := range []struct{ service, addr string }{
		{"_submissions._tcp.", cfg.Listen.Submissions}, {"_submission._tcp.", cfg.Listen.Submission},
		{"_imaps._tcp.", cfg.Listen.IMAPS}, {"_imap._tcp.", cfg.Listen.IMAP},
		{"_pop3s._tcp.", cfg.Listen.POP3S}, {"_pop3._tcp.", cfg.Listen.POP3},
	} {
		prio := 10
		if strings.HasSuffix(strings.Split(s.service, ".")[0], "s") {
			prio = 0
		}
		data := "0 0 0 ."
		if _, port, err := net.SplitHostPort(s.addr); err == nil && s.addr != "" {
			data = fmt.Sprintf("%d 1 %s %s", prio, port, host)
		}
		add(s.service+fqdn, mdns.TypeSRV, data, "mail client set-up (RFC 6186 §3, RFC 8314 §5.1)")
	}
	return z, nil
}

// mxHostsOf is [publish] mx_hosts, or hostname alone.
func mxHostsOf(cfg *config.Config) []string {
	if len(cfg.Publish.MXHosts) == 0 {
		return []string{cfg.Hostname}
	}
	return cfg.Publish.MXHosts
}

// STSPolicy is the MTA-STS policy text our domains publish: what `dns
// records` prints and the web server serves at
// https://mta-sts.<domain>/.well-known/mta-sts.txt.
func STSPolicy(cfg *config.Config) string {
	return stsPolicy(cfg.Publish.MTASTSMode, mxHostsOf(cfg))
}

// stsPolicy is the MTA-STS policy text (RFC 8461 §3.2), CRLF lines.
func stsPolicy(mode string, mx []string) string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: " + mode + "\r\n")
	for _, h := range mx {
		b.WriteString("mx: " + strings.ToLower(strings.TrimSuffix(h, ".")) + "\r\n")
	}
	b.WriteString("max_age: 604800\r\n")
	return b.String()
}

// Text renders a Zone for pasting into a zone file: each record with its
// purpose as a comment, then the MTA-STS policy as comments.
func (z *Zone) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "; DNS records for %s (mailgate dns records)\n", z.Domain)
	for _, n := range z.Notes {
		fmt.Fprintf(&b, "; NOTE: %s\n", n)
	}
	for _, r := range z.Records {
		fmt.Fprintf(&b, "; %s\n%s\n", r.Why, r)
	}
	fmt.Fprintf(&b, ";\n; MTA-STS policy: serve this text at https://mta-sts.%s/.well-known/mta-sts.txt\n", z.Domain)
	for _, l := range strings.Split(strings.TrimRight(z.STSPolicy, "\r\n"), "\r\n") {
		fmt.Fprintf(&b, ";   %s\n", l)
	}
	return b.String()
}
