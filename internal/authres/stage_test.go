package authres

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/netip"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"mailgate/internal/verdict"
)

// TestStageDecisions: the stage's verdict for each DMARC outcome and
// operator setting, with the fields it adds and the notes it leaves.
func TestStageDecisions(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	r := zoneResolver(t, keyRecord(t, "ed._domainkey.signer.test", key.Public())+`
signer.test. 60 IN TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.signer.test. 60 IN TXT "v=DMARC1; p=reject"
_dmarc.quar.test. 60 IN TXT "v=DMARC1; p=quarantine"
quar.test. 60 IN TXT "v=spf1 -all"
_dmarc.dnsfail.servfail. 60 IN TXT "v=DMARC1; p=reject"
`)
	msg := func(from string) string {
		return "Authentication-Results: mail.test.example; dmarc=pass\r\nFrom: <someone@" + from + ">\r\nSubject: s\r\n\r\nbody\r\n"
	}
	signed := func(m string) string {
		var b strings.Builder
		dkim.Sign(&b, strings.NewReader(m), &dkim.SignOptions{Domain: "signer.test", Selector: "ed", Signer: key})
		return b.String()
	}
	run := func(p Policy, ip, mailFrom, body string) (verdict.Result, *verdict.Verdict) {
		t.Helper()
		s := &Stage{Resolver: r, Policy: p, Sample: func() int { return 0 }}
		v := &verdict.Verdict{}
		c := &verdict.Client{IP: netip.MustParseAddr(ip), Helo: "client.test", Service: "mx"}
		return s.CheckMessage(context.Background(), c, &verdict.Message{From: mailFrom, Body: []byte(body)}, v), v
	}
	base := Policy{AuthservID: "mail.test.example", Receiver: "mail.test.example", TempError: "defer", DMARCReject: "reject"}

	// Spoof of a p=reject domain: refused 550 5.7.1.
	res, _ := run(base, "198.51.100.7", "x@elsewhere.test", msg("signer.test"))
	if res.Reply == nil || res.Reply.Code != 550 || res.Reply.Enhanced != [3]int{5, 7, 1} {
		t.Fatalf("spoof of p=reject: %+v", res.Reply)
	}
	// The operator's downgrade: accepted into Junk.
	down := base
	down.DMARCReject = "quarantine"
	if res, _ := run(down, "198.51.100.7", "x@elsewhere.test", msg("signer.test")); res.Reply != nil || !res.Junk {
		t.Fatalf("downgraded reject: %+v", res)
	}
	// p=quarantine: Junk, and the sender marked unverified (SPF fail, DMARC
	// fail): no Sieve rejection or vacation reply goes back to it.
	if res, _ := run(base, "198.51.100.7", "x@quar.test", msg("quar.test")); res.Reply != nil || !res.Junk || !res.Unverified {
		t.Fatalf("quarantine: %+v", res)
	}
	// Signed by the domain: passes, fields added, forged A-R removed.
	res, v := run(base, "198.51.100.7", "x@elsewhere.test", signed(msg("signer.test")))
	if res.Reply != nil || res.Junk || res.Unverified {
		t.Fatalf("signed: %+v", res)
	}
	if len(res.Fields) != 2 || !strings.Contains(res.Fields[0], "dkim=pass header.d=signer.test") || !strings.Contains(res.Fields[0], "dmarc=pass") || !strings.HasPrefix(res.Fields[1], "Received-SPF: none") {
		t.Fatalf("fields %q", res.Fields)
	}
	if res.Body == nil || strings.Contains(string(res.Body), "mail.test.example; dmarc=pass") {
		t.Fatalf("forged field kept: %q", res.Body)
	}
	if d := v.Notes["dmarc"].([]DMARC); len(d) != 1 || d[0].Result != "pass" || v.Notes["spf"].(SPF).Result != "none" {
		t.Fatalf("notes %+v", v.Notes)
	}
	// SPF pass from the authorized address, aligned: DMARC pass.
	if res, _ := run(base, "192.0.2.1", "bounce@signer.test", msg("signer.test")); res.Reply != nil || !strings.Contains(res.Fields[0], "spf=pass smtp.mailfrom=bounce@signer.test") {
		t.Fatalf("spf pass: %+v", res)
	}
	// A DNS failure on the DMARC record: 451 4.7.5 with defer, recorded with accept.
	if res, _ := run(base, "198.51.100.7", "x@a.test", msg("dnsfail.servfail")); res.Reply == nil || res.Reply.Code != 451 {
		t.Fatalf("temperror defer: %+v", res)
	}
	acc := base
	acc.TempError = "accept"
	if res, _ := run(acc, "198.51.100.7", "x@a.test", msg("dnsfail.servfail")); res.Reply != nil || !strings.Contains(res.Fields[0], "dmarc=temperror") {
		t.Fatalf("temperror accept: %+v", res)
	}
	// SPF temperror: 451 4.7.24.
	if res, _ := run(base, "198.51.100.7", "x@spf.servfail", msg("nodmarc.test")); res.Reply == nil || res.Reply.Enhanced != [3]int{4, 7, 24} {
		t.Fatalf("spf temperror: %+v", res)
	}
	// SPF fail refused only when the operator asks.
	if res, _ := run(base, "198.51.100.7", "x@quar.test", msg("nodmarc.test")); res.Reply != nil {
		t.Fatalf("spf fail recorded only: %+v", res.Reply)
	}
	strict := base
	strict.SPFFailReject = true
	if res, _ := run(strict, "198.51.100.7", "x@quar.test", msg("nodmarc.test")); res.Reply == nil || res.Reply.Enhanced != [3]int{5, 7, 23} {
		t.Fatalf("spf fail reject: %+v", res.Reply)
	}
	// An unreadable display name does not hide the From domain.
	odd := "From: =?x-unknown?q?Bank?= <ceo@signer.test>\r\n\r\nb\r\n"
	if res, _ := run(base, "198.51.100.7", "x@elsewhere.test", odd); res.Reply == nil || res.Reply.Code != 550 {
		t.Fatalf("encoded display name: %+v", res)
	}
	// Two From domains: the strictest policy applies.
	two := "From: a@nodmarc.test, b@signer.test\r\n\r\nb\r\n"
	if res, _ := run(base, "198.51.100.7", "x@elsewhere.test", two); res.Reply == nil || res.Reply.Code != 550 {
		t.Fatalf("two From domains: %+v", res)
	}
}

type recorded struct {
	ip      netip.Addr
	dmarc   []DMARC
	applied []Applied
}

type recordings []recorded

func (r *recordings) RecordDMARC(ip netip.Addr, _ SPF, _ []DKIM, d []DMARC, a []Applied) {
	*r = append(*r, recorded{ip, d, a})
}

// TestStageReportsWhatItApplied: the aggregate report recorder sees every
// judged message, refused ones included, with the disposition applied
// (RFC 7489 Appendix C: local_policy when the operator keeps p=reject
// mail), the policy domain where the record was found (the organizational
// domain for a subdomain, §6.6.3) and the record with its rua=.
func TestStageReportsWhatItApplied(t *testing.T) {
	r := zoneResolver(t, `
_dmarc.signer.test. 60 IN TXT "v=DMARC1; p=reject; rua=mailto:agg@signer.test"
`)
	run := func(p Policy, from string) recordings {
		var rec recordings
		s := &Stage{Resolver: r, Policy: p, Sample: func() int { return 0 }, Reports: &rec}
		c := &verdict.Client{IP: netip.MustParseAddr("198.51.100.7"), Helo: "client.test", Service: "mx"}
		s.CheckMessage(context.Background(), c, &verdict.Message{From: "x@elsewhere.test", Body: []byte("From: <a@" + from + ">\r\n\r\nb\r\n")}, &verdict.Verdict{})
		return rec
	}
	base := Policy{AuthservID: "mail.test.example", TempError: "accept", DMARCReject: "reject"}
	got := run(base, "sub.signer.test")
	if len(got) != 1 || len(got[0].dmarc) != 1 || got[0].ip != netip.MustParseAddr("198.51.100.7") {
		t.Fatalf("recorded %+v", got)
	}
	d := got[0].dmarc[0]
	if d.PolicyDomain != "signer.test" || d.From != "sub.signer.test" || d.Record == nil || len(d.Record.ReportURIAggregate) != 1 ||
		got[0].applied[0] != (Applied{Disposition: "reject"}) {
		t.Fatalf("refused spoof recorded as %+v %+v", d, got[0].applied)
	}
	down := base
	down.DMARCReject = "quarantine"
	if got := run(down, "signer.test"); len(got) != 1 || got[0].applied[0] != (Applied{Disposition: "quarantine", Override: "local_policy"}) {
		t.Fatalf("downgraded: %+v", got)
	}
}
