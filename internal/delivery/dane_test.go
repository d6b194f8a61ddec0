package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"mailgate/internal/dane"
	"mailgate/internal/dns"
)

// validatingDNS answers TLSA questions from a table: a Validating resolver
// without a server.
type validatingDNS struct {
	fixedDNS
	addrSecure bool
	tlsa       []dane.Record
	secure     bool
	err        error
}

func (v validatingDNS) AddressSecure(context.Context, string) bool { return v.addrSecure }
func (v validatingDNS) LookupTLSA(_ context.Context, name string) ([]dane.Record, bool, error) {
	if name != "_25._tcp.mx.far.test" {
		return nil, false, fmt.Errorf("asked for %s", name)
	}
	return v.tlsa, v.secure, v.err
}

// RFC 7672 §2.2: which TLS an MX host gets from its DNSSEC state.
func TestDANEPolicyPerHost(t *testing.T) {
	ee := []dane.Record{{Usage: 3, Selector: 1, MatchingType: 1, Data: []byte{1}}}
	pkix := []dane.Record{{Usage: 1, Selector: 1, MatchingType: 1, Data: []byte{1}}}
	notFound := fmt.Errorf("%w: NXDOMAIN", dns.ErrNotFound)
	h := hop{Name: "mx.far.test", Port: 25}
	cases := []struct {
		name    string
		dns     validatingDNS
		in      tlsMode
		want    tlsMode
		records int
		errText string
	}{
		{"insecure address: no DANE", validatingDNS{addrSecure: false, tlsa: ee, secure: true}, tlsOpportunistic, tlsOpportunistic, 0, ""},
		{"secure usable records", validatingDNS{addrSecure: true, tlsa: ee, secure: true}, tlsOpportunistic, tlsDANE, 1, ""},
		{"DANE before MTA-STS", validatingDNS{addrSecure: true, tlsa: ee, secure: true}, tlsVerified, tlsDANE, 1, ""},
		{"insecure TLSA: ignored", validatingDNS{addrSecure: true, tlsa: ee, secure: false}, tlsOpportunistic, tlsOpportunistic, 0, ""},
		{"no TLSA", validatingDNS{addrSecure: true, err: notFound, secure: true}, tlsOpportunistic, tlsOpportunistic, 0, ""},
		{"only unusable records: TLS, unauthenticated", validatingDNS{addrSecure: true, tlsa: pkix, secure: true}, tlsOpportunistic, tlsRequired, 0, ""},
		{"only unusable records keep MTA-STS", validatingDNS{addrSecure: true, tlsa: pkix, secure: true}, tlsVerified, tlsVerified, 0, ""},
		{"TLSA lookup fails: host unusable", validatingDNS{addrSecure: true, err: errors.New("SERVFAIL")}, tlsOpportunistic, tlsOpportunistic, 0, "451 4.7.5 TLSA lookup of _25._tcp.mx.far.test failed"},
	}
	for _, c := range cases {
		r := &Remote{DNS: c.dns, DANE: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		mode, recs, err := r.daneTLS(context.Background(), h, c.in)
		if c.errText != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.errText) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.errText)
			}
			continue
		}
		if err != nil || mode != c.want || len(recs) != c.records {
			t.Errorf("%s: mode %d, %d records, err %v; want mode %d, %d records", c.name, mode, len(recs), err, c.want, c.records)
		}
	}
	// DANE off, or a resolver that cannot validate: modes pass through.
	off := &Remote{DNS: validatingDNS{addrSecure: true, tlsa: ee, secure: true}, DANE: false}
	if mode, _, _ := off.daneTLS(context.Background(), h, tlsOpportunistic); mode != tlsOpportunistic {
		t.Error("DANE applied while switched off")
	}
	sys := &Remote{DNS: fixedDNS{}, DANE: true}
	if mode, _, _ := sys.daneTLS(context.Background(), h, tlsOpportunistic); mode != tlsOpportunistic {
		t.Error("DANE applied with a resolver that cannot validate")
	}
}
