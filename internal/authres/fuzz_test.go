package authres

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"mailgate/internal/dns"
)

// FuzzDKIMSignature: any DKIM-Signature value parses or errs, never
// panics, and the canonical body never grows past the body plus a CRLF.
func FuzzDKIMSignature(f *testing.F) {
	f.Add("v=1; a=rsa-sha256; c=relaxed/simple; d=example.org; s=sel; l=12; h=from:to; bh=abc=; b=AAAA", "body  \r\n\r\n\r\n")
	f.Add("v=1; a=ed25519-sha256; d=x; d=y", "")
	f.Add("=;;; l=99999999999999999999999999; c=", "a\r\nb")
	f.Fuzz(func(t *testing.T, sig, body string) {
		if s, err := parseDKIMSignature(sig); err == nil && s.length < -1 {
			t.Fatal("negative l=")
		}
		for _, can := range []string{"simple", "relaxed"} {
			if n := len(canonicalBody([]byte(body), can)); n > len(body)+2 {
				t.Fatalf("%s body of %d octets canonicalized to %d", can, len(body), n)
			}
		}
	})
}

// FuzzDMARCRecord: record selection and parsing never panic; a parsed
// record has a policy.
func FuzzDMARCRecord(f *testing.F) {
	f.Add("v=DMARC1; p=reject; sp=none; pct=50; adkim=s", "v=spf1 -all")
	f.Add("v=DMARC1;p=quarantine;rua=mailto:a@b", "")
	f.Add("v = DMARC1 ; p=none; pct=101", "v=DMARC1; p=none")
	f.Fuzz(func(t *testing.T, a, b string) {
		rec, err := parseDMARCRecords([]string{a, b})
		if err == nil && rec.Policy == "" {
			t.Fatalf("record without policy from %q %q", a, b)
		}
	})
}

// FuzzAuthenticationResults: whatever the sender controls (MAIL FROM,
// HELO, signature tags, reasons), the rendered fields stay one header
// field each, and our authserv-id is read back from the field.
func FuzzAuthenticationResults(f *testing.F) {
	f.Add("alice@a.test", "helo.test", "a.test", "sel", "reason", "mx.test")
	f.Add("\"x;\r\n y\"@a", "[1.2.3.4]", "d\r\nX: 1", "s;s", "(\\\"", "mx")
	f.Fuzz(func(t *testing.T, mailFrom, helo, d, s, reason, id string) {
		if !isToken(id) || len(id) > 253 {
			return // the authserv-id is our own configured host name (config: at most 253 octets)
		}
		r := Results{AuthservID: id,
			SPF:   SPF{Result: "fail", Identity: "mailfrom", Sender: mailFrom, Helo: helo, IP: netip.MustParseAddr("192.0.2.1"), Problem: reason},
			DKIM:  []DKIM{{Result: "fail", Domain: d, Identifier: "@" + d, Selector: s, Signature: reason, Reason: reason}},
			DMARC: []DMARC{{Result: "fail", From: d, Policy: "reject", Disposition: "reject", Reason: reason}},
		}
		ar := r.AuthenticationResults()
		checkFieldShape(t, ar)
		checkFieldShape(t, ReceivedSPF(r.SPF, id))
		if got := AuthservID(strings.TrimPrefix(ar, "Authentication-Results:")); got != id {
			t.Fatalf("authserv-id read back as %q from %q", got, ar)
		}
		msg := []byte(ar + "\r\nFrom: x\r\n\r\nbody")
		out, n := RemoveForged(msg, id)
		if n != 1 || string(out) != "From: x\r\n\r\nbody" {
			t.Fatalf("our own field not removed (%d): %q", n, out)
		}
	})
}

// stubDNS answers every TXT question with one key record and nothing else.
type stubDNS struct{ key string }

func (s stubDNS) LookupTXT(context.Context, string) ([]string, error) { return []string{s.key}, nil }
func (stubDNS) LookupMX(context.Context, string) ([]*net.MX, error)   { return nil, dns.ErrNotFound }
func (stubDNS) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	return nil, dns.ErrNotFound
}
func (stubDNS) LookupAddr(context.Context, string) ([]string, error) { return nil, dns.ErrNotFound }

// FuzzVerifyDKIM: whole messages, signed or not, through both
// verification paths (go-msgauth's and ours for l=): one result per
// signature field, each a known result, never a panic; and removing our
// forged results never adds bytes or leaves one behind.
func FuzzVerifyDKIM(f *testing.F) {
	f.Add("DKIM-Signature: v=1; a=ed25519-sha256; d=a.test; s=s; h=from; l=3; bh=AAAA; b=AAAA\r\nFrom: x\r\n\r\nbody\r\n")
	f.Add("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=a.test; s=s; h=from:from; bh=; b=\r\n\r\n")
	f.Add("Authentication-Results: mx; x\r\n\tdkim=pass\r\nDKIM-Signature:\r\n x\r\n")
	r := stubDNS{"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}
	known := map[string]bool{"pass": true, "fail": true, "policy": true, "neutral": true, "temperror": true, "permerror": true}
	f.Fuzz(func(t *testing.T, msg string) {
		for _, d := range VerifyDKIM(context.Background(), r, []byte(msg)) {
			if !known[d.Result] {
				t.Fatalf("result %q", d.Result)
			}
		}
		out, _ := RemoveForged([]byte(msg), "mx")
		if len(out) > len(msg) {
			t.Fatal("RemoveForged grew the message")
		}
		if _, n := RemoveForged(out, "mx"); n != 0 {
			t.Fatalf("a forged field survived: %q", out)
		}
	})
}

// FuzzParseResults: any Authentication-Results or ARC-Authentication-Results
// value (a trusted sealer's AAR is read with it) parses without a panic;
// methods, results and property names come out lower case, and an AAR
// says DMARC passed only with a pass result in it.
func FuzzParseResults(f *testing.F) {
	f.Add("mx.google.com; dkim=pass header.i=@a.example header.s=s header.b=AbC; spf=pass smtp.mailfrom=b@a.example; dmarc=pass (p=REJECT) header.from=a.example")
	f.Add(`"mx (x)"; spf = pass (c "(" ; ) smtp.mailfrom="q;\"x"@a.example; dmarc/1=fail header.from=a.example; arc=pass (i=1)`)
	f.Add("x; none")
	f.Add(`(((;"\`)
	f.Add("a;;=;b.c=;=d;dkim=pass header.d")
	f.Fuzz(func(t *testing.T, v string) {
		_, rs := ParseResults(v)
		for _, r := range rs {
			if r.Method != strings.ToLower(r.Method) || r.Result != strings.ToLower(r.Result) {
				t.Fatalf("not lower case: %+v", r)
			}
			for k := range r.Props {
				if k != strings.ToLower(k) || !strings.Contains(k, ".") {
					t.Fatalf("property %q", k)
				}
			}
		}
		if aarPasses(v, DMARC{From: "a.example"}) && !strings.Contains(strings.ToLower(v), "pass") {
			t.Fatalf("passes without a pass: %q", v)
		}
	})
}
