package authres_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailgate/internal/arc"
	"mailgate/internal/authres"
	"mailgate/internal/verdict"
)

// recorded keeps what the stage hands the DMARC report recorder.
type recorded struct{ applied []authres.Applied }

func (r *recorded) RecordDMARC(_ netip.Addr, _ authres.SPF, _ []authres.DKIM, _ []authres.DMARC, applied []authres.Applied) {
	r.applied = append(r.applied, applied...)
}

// TestMXValidatesARC: the stage validates each message's ARC chain (a set
// made by package arc's sealer, keys in DNS): arc=pass with its sealer,
// header.oldest-pass and smtp.remote-ip; a body changed after sealing
// makes it fail; no chain is arc=none. A trusted sealer whose own
// ARC-Authentication-Results say the From domain passed DMARC overrides
// the domain's p=reject or p=quarantine: 250, dmarc=fail kept with an
// "overridden" comment, reported as trusted_forwarder. An untrusted
// sealer, a trusted one whose AAR says dmarc=fail, or a broken chain does
// not.
func TestMXValidatesARC(t *testing.T) {
	_, fwdKey, _ := ed25519.GenerateKey(rand.Reader)
	r := authres.ZoneResolver(t, authres.KeyRecord(t, "arc._domainkey.fwd.test", fwdKey.Public())+`
_dmarc.sender.test. 60 IN TXT "v=DMARC1; p=reject"
_dmarc.quar.test. 60 IN TXT "v=DMARC1; p=quarantine"
_dmarc.strict.test. 60 IN TXT "v=DMARC1; p=reject; adkim=s"
spffail.test. 60 IN TXT "v=spf1 -all"
`)
	// sealed is a message From from as fwd.test forwarded it: fwd.test's
	// MX wrote aar (its Authentication-Results, which its AAR copies),
	// then it sealed the message. It carries no valid DKIM signature of
	// from (as after a list rewrote it), so DMARC fails here.
	sealed := func(from, aar string) string {
		msg := "Authentication-Results: mx.fwd.test; " + aar + "\r\n" +
			"From: Carol <carol@" + from + ">\r\nTo: alice@isp.test\r\nSubject: forwarded\r\n" +
			"Date: Wed, 2 Dec 2026 12:00:00 +0000\r\nMessage-ID: <1@" + from + ">\r\n\r\nhello\r\n"
		s := &arc.Sealer{Domain: "fwd.test", Selector: "arc", Key: fwdKey, AuthservID: "mx.fwd.test", DNS: r,
			Now: func() time.Time { return time.Unix(1796212800, 0) }}
		set, res, err := s.Seal(context.Background(), []byte(msg))
		if err != nil || res.Status != arc.None {
			t.Fatalf("seal: %v %+v", err, res)
		}
		return set + msg
	}
	mailFrom, spfFailReject := "list@fwd.test", false
	run := func(trusted []string, body string) (verdict.Result, *recorded) {
		t.Helper()
		rec := &recorded{}
		s := &authres.Stage{Resolver: r, ARC: arc.Validate, Reports: rec, Sample: func() int { return 0 },
			Policy: authres.Policy{AuthservID: "mail.test.example", Receiver: "mail.test.example", TempError: "accept",
				DMARCReject: "reject", SPFFailReject: spfFailReject, ARCTrustedSealers: trusted}}
		c := &verdict.Client{IP: netip.MustParseAddr("198.51.100.7"), Helo: "mx.fwd.test", Service: "mx"}
		return s.CheckMessage(context.Background(), c, &verdict.Message{From: mailFrom, Body: []byte(body)}, &verdict.Verdict{}), rec
	}
	passAAR := "dkim=pass header.d=sender.test; dmarc=pass header.from=sender.test"
	const arcPass = "arc=pass (i=1 d=fwd.test s=arc) header.oldest-pass=0\r\n\t smtp.remote-ip=198.51.100.7;"
	refused := func(name string, res verdict.Result) {
		t.Helper()
		if res.Reply == nil || res.Reply.Code != 550 || res.Reply.Enhanced != [3]int{5, 7, 1} {
			t.Errorf("%s: %+v, want 550 5.7.1", name, res.Reply)
		}
	}

	// A valid chain, nobody trusted: arc=pass recorded, DMARC applies.
	res, rec := run(nil, sealed("sender.test", passAAR))
	if !strings.Contains(res.Fields[0], "\tdkim=none;\r\n\t"+arcPass+"\r\n\tdmarc=fail (p=reject dis=reject) header.from=sender.test") {
		t.Errorf("A-R of a valid chain:\n%s", res.Fields[0])
	}
	refused("valid chain, no trusted sealer", res)
	if len(rec.applied) != 1 || rec.applied[0] != (authres.Applied{Disposition: "reject"}) {
		t.Errorf("recorded %+v", rec.applied)
	}

	// The same, fwd.test trusted: accepted as if DMARC had passed.
	res, rec = run([]string{"other.test", "fwd.test"}, sealed("sender.test", passAAR))
	if res.Reply != nil || res.Junk || res.Unverified {
		t.Errorf("trusted sealer: %+v", res)
	}
	if !strings.Contains(res.Fields[0], arcPass+"\r\n\tdmarc=fail\r\n\t (p=reject dis=none; overridden: arc=pass from trusted sealer fwd.test)\r\n\t header.from=sender.test") {
		t.Errorf("A-R with the override:\n%s", res.Fields[0])
	}
	if want := (authres.Applied{Disposition: "none", Override: "trusted_forwarder", Comment: "arc=pass as[1].d=fwd.test as[1].s=arc"}); len(rec.applied) != 1 || rec.applied[0] != want {
		t.Errorf("recorded %+v, want %+v", rec.applied, want)
	}
	// spf_fail_reject: an SPF fail is refused unless DMARC passes, and the
	// override counts as a pass; the sender stays unverified (SPF).
	mailFrom, spfFailReject = "list@spffail.test", true
	if res, _ := run([]string{"fwd.test"}, sealed("sender.test", passAAR)); res.Reply != nil || !res.Unverified {
		t.Errorf("trusted sealer, SPF fail, spf_fail_reject: %+v", res)
	}
	if res, _ := run(nil, sealed("sender.test", passAAR)); res.Reply == nil || res.Reply.Code != 550 {
		t.Errorf("untrusted, SPF fail: %+v", res.Reply)
	}
	mailFrom, spfFailReject = "list@fwd.test", false
	// p=quarantine: not Junk.
	if res, _ := run([]string{"fwd.test"}, sealed("quar.test", "dmarc=pass header.from=quar.test")); res.Reply != nil || res.Junk {
		t.Errorf("trusted sealer, p=quarantine: %+v", res)
	}
	// No dmarc result in the AAR: an aligned DKIM pass there will do,
	// under the domain's alignment mode (adkim=s: the same name).
	if res, _ := run([]string{"fwd.test"}, sealed("sender.test", "spf=fail smtp.mailfrom=x@fwd.test; dkim=pass header.d=mail.sender.test")); res.Reply != nil {
		t.Errorf("aligned dkim=pass in the AAR: %+v", res.Reply)
	}
	refused("adkim=s, AAR's dkim=pass of a subdomain", first(run([]string{"fwd.test"}, sealed("strict.test", "dkim=pass header.d=mail.strict.test"))))
	refused("AAR's spf=pass of another domain", first(run([]string{"fwd.test"}, sealed("sender.test", "spf=pass smtp.mailfrom=bounce@fwd.test"))))

	// An untrusted sealer: refused.
	refused("untrusted sealer", first(run([]string{"google.com"}, sealed("sender.test", passAAR))))
	// A trusted sealer whose AAR says DMARC failed there (its dkim=pass
	// notwithstanding): refused.
	refused("trusted sealer, AAR dmarc=fail", first(run([]string{"fwd.test"},
		sealed("sender.test", "dkim=pass header.d=sender.test; dmarc=fail (p=reject) header.from=sender.test"))))
	// A result for another From domain is not one for this one.
	refused("AAR dmarc=pass of another domain", first(run([]string{"fwd.test"}, sealed("sender.test", "dmarc=pass header.from=fwd.test"))))

	// The body changed after sealing: arc=fail, and no override.
	tampered := strings.Replace(sealed("sender.test", passAAR), "hello", "HELLO", 1)
	res, _ = run([]string{"fwd.test"}, tampered)
	refused("tampered body", res)
	if !strings.Contains(res.Fields[0], `arc=fail reason="ARC-Message-Signature i=1: body hash did not verify"`) {
		t.Errorf("A-R of a tampered chain:\n%s", res.Fields[0])
	}

	// No chain: arc=none.
	res, _ = run([]string{"fwd.test"}, "From: carol@sender.test\r\nSubject: plain\r\n\r\nhello\r\n")
	refused("no chain", res)
	if !strings.Contains(res.Fields[0], "\tarc=none;\r\n") {
		t.Errorf("A-R without a chain:\n%s", res.Fields[0])
	}
}

func first(res verdict.Result, _ *recorded) verdict.Result { return res }

// TestParseResults: the results of an A-R or AAR value as others write
// them: comments, quoted values, versions, white space around "=".
func TestParseResults(t *testing.T) {
	id, rs := authres.ParseResults(` mx.google.com (a comment; with semicolon) 1;
       dkim=pass header.i=@sender.example header.s=20230601 header.b=AbC;
       spf = pass (google.com: domain of "x;y"@fwd.example designates 2001:db8::1 as permitted sender) smtp.mailfrom="x;y"@fwd.example;
       dmarc/1=pass (p=REJECT sp=REJECT dis=NONE) header.from=Sender.Example;
       arc=pass (i=1)`)
	if id != "mx.google.com" || len(rs) != 4 {
		t.Fatalf("id %q, %d results: %+v", id, len(rs), rs)
	}
	if rs[0].Method != "dkim" || rs[0].Props["header.i"] != "@sender.example" || rs[1].Method != "spf" || rs[1].Result != "pass" ||
		rs[1].Props["smtp.mailfrom"] != "x;y@fwd.example" || rs[2].Method != "dmarc" || rs[2].Props["header.from"] != "Sender.Example" || rs[3].Result != "pass" {
		t.Fatalf("results %+v", rs)
	}
	if id, rs := authres.ParseResults("mx.test; none"); id != "mx.test" || len(rs) != 0 {
		t.Fatalf("none: %q %+v", id, rs)
	}
}
