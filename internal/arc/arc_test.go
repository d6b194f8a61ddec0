package arc

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"mailgate/internal/authres"
	"mailgate/internal/dkim"
	"mailgate/internal/dns"
)

// zone is a TXT resolver over a map; a name missing is NXDOMAIN, a name
// mapped to "TEMP" a server failure.
type zone map[string]string

func (z zone) LookupTXT(_ context.Context, name string) ([]string, error) {
	v, ok := z[strings.TrimSuffix(name, ".")]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, dns.ErrNotFound)
	}
	if v == "TEMP" {
		return nil, fmt.Errorf("%s: SERVFAIL", name)
	}
	return []string{v}, nil
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testRSA(t *testing.T) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	})
	return rsaKey
}

// publish adds key's record under sel._domainkey.domain.
func publish(t *testing.T, z zone, sel, domain string, key crypto.Signer) {
	t.Helper()
	rec, err := dkim.RecordValue(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	z[sel+"._domainkey."+domain] = rec
}

const inbound = "Authentication-Results: mx.isp.example;\r\n" +
	"\tspf=pass smtp.mailfrom=carol@sender.example;\r\n" +
	"\tdkim=none;\r\n" +
	"\tdmarc=none header.from=sender.example\r\n" +
	"Authentication-Results: evil.example; spf=pass\r\n" +
	"Received: from mx.remote.example by mx.isp.example; Wed, 2 Dec 2026 12:00:00 +0000\r\n" +
	"From: Carol <carol@sender.example>\r\n" +
	"To: alice@isp.example\r\n" +
	"Subject: forward  me\r\n" +
	"Date: Wed, 2 Dec 2026 11:59:00 +0000\r\n" +
	"Message-ID: <1@sender.example>\r\n" +
	"\r\n" +
	"hello \t world  \r\n\r\n\r\n"

func sealer(t *testing.T, z zone, domain string, key crypto.Signer) *Sealer {
	publish(t, z, "sel", domain, key)
	return &Sealer{Domain: domain, Selector: "sel", Key: key, AuthservID: "mx.isp.example", DNS: z,
		Now: func() time.Time { return time.Unix(1796212800, 0) }}
}

func seal(t *testing.T, s *Sealer, msg string) (string, Result) {
	t.Helper()
	set, res, err := s.Seal(context.Background(), []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return set, res
}

// TestSealFirstInstance: a message without a chain gets i=1 with cv=none;
// the AAR carries our MX's results (not another ADMD's field claiming a
// result), and the result verifies as a chain that passes.
func TestSealFirstInstance(t *testing.T) {
	z := zone{}
	s := sealer(t, z, "isp.example", testRSA(t))
	set, res := seal(t, s, inbound)
	if res.Status != None || res.Instance != 0 {
		t.Fatalf("incoming chain %+v, want none", res)
	}
	wantAAR := "ARC-Authentication-Results: i=1; mx.isp.example;\r\n\tspf=pass smtp.mailfrom=carol@sender.example;\r\n\tdkim=none;\r\n\tdmarc=none header.from=sender.example\r\n"
	if !strings.HasSuffix(set, wantAAR) {
		t.Errorf("set does not end with the AAR %q:\n%s", wantAAR, set)
	}
	if !strings.HasPrefix(set, "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=isp.example; s=sel; t=1796212800;\r\n\tb=") {
		t.Errorf("seal:\n%s", set)
	}
	ams := regexp.MustCompile(`(?s)ARC-Message-Signature: (.*?)\r\n[^\t ]`).FindStringSubmatch(set)
	if ams == nil || !strings.Contains(unfold(ams[1]), "c=relaxed/relaxed; d=isp.example; s=sel; t=1796212800;") ||
		!strings.Contains(strings.ReplaceAll(unfold(ams[1]), ": ", ":"), "h=from:from:reply-to:subject:date:to:cc:message-id:") {
		t.Fatalf("AMS: %q", ams)
	}
	for _, bad := range []string{"arc-", "authentication-results"} {
		if strings.Contains(strings.ToLower(ams[1][strings.Index(ams[1], "h="):strings.Index(ams[1], "bh=")]), bad) {
			t.Errorf("AMS h= covers %s", bad)
		}
	}
	for _, line := range strings.Split(set, "\r\n") {
		if len(line) > 78 {
			t.Errorf("line of %d octets: %q", len(line), line)
		}
	}
	sealed := set + inbound
	if got := Verify(context.Background(), z, []byte(sealed)); got.Status != Pass || got.Instance != 1 {
		t.Fatalf("verify of our set: %+v", got)
	}
	// A change to the body breaks the AMS; to a sealed field, the seal.
	for _, tc := range []struct{ from, to, why string }{
		{"hello \t world", "hello world!", "body hash did not verify"},
		{"Subject: forward  me", "Subject: forward me!", "ARC-Message-Signature i=1: signature of isp.example did not verify"},
		{"dmarc=none", "dmarc=pass", "ARC-Seal i=1: signature of isp.example did not verify"},
	} {
		got := Verify(context.Background(), z, []byte(strings.Replace(sealed, tc.from, tc.to, 1)))
		if got.Status != Fail || !strings.Contains(got.Reason, tc.why) {
			t.Errorf("%s → %s: %+v, want fail (%s)", tc.from, tc.to, got, tc.why)
		}
	}
	// Relaxed canonicalization: refolding and white space changes in
	// signed fields, trailing white space and empty lines at the body's
	// end keep the chain valid.
	relaxed := strings.Replace(sealed, "Subject: forward  me", "subject:\tforward\r\n me ", 1)
	relaxed = strings.Replace(relaxed, "hello \t world  \r\n\r\n\r\n", "hello world\r\n", 1)
	if got := Verify(context.Background(), z, []byte(relaxed)); got.Status != Pass {
		t.Errorf("relaxed changes: %+v", got)
	}
}

// unfold joins folded lines as relaxed canonicalization does.
func unfold(s string) string { return strings.NewReplacer("\r\n\t", " ", "\r\n ", " ").Replace(s) }

// TestSealSecondInstance: over a valid chain of another ADMD's (Ed25519
// key), our set is i=2 with cv=pass and the AAR records arc=pass; the two
// sets verify together. Over a broken chain it is cv=fail, the seal signs
// our set alone (§5.1.2), and nobody seals after that (§5.1 step 1).
func TestSealSecondInstance(t *testing.T) {
	z := zone{}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	first := sealer(t, z, "list.example", edKey)
	first.AuthservID = "mx.list.example"
	set1, _ := seal(t, first, inbound)
	if !strings.Contains(set1, "a=ed25519-sha256; cv=none") {
		t.Fatalf("first set:\n%s", set1)
	}
	msg := "Received: from list.example by mx.isp.example\r\n" + set1 + inbound

	s := sealer(t, z, "isp.example", testRSA(t))
	set2, res := seal(t, s, msg)
	if res.Status != Pass || res.Instance != 1 {
		t.Fatalf("incoming chain: %+v", res)
	}
	if !strings.HasPrefix(set2, "ARC-Seal: i=2; a=rsa-sha256; cv=pass;") || !strings.Contains(set2, "ARC-Message-Signature: i=2;") ||
		!strings.HasSuffix(set2, "\tdmarc=none header.from=sender.example;\r\n\tarc=pass\r\n") {
		t.Fatalf("second set:\n%s", set2)
	}
	twice := set2 + msg
	got2 := Verify(context.Background(), z, []byte(twice))
	if got2.Status != Pass || got2.Instance != 2 || got2.OldestPass != 0 {
		t.Fatalf("verify of two sets: %+v", got2)
	}
	// The sets, for a receiver's trusted-sealer policy: who sealed each
	// and what its AAR says.
	if len(got2.Sets) != 2 || got2.Sets[0] != (authres.ARCSet{Instance: 1, Sealer: "list.example", Selector: "sel",
		Results: "mx.list.example;\r\n\tnone"}) || got2.Sets[1].Sealer != "isp.example" ||
		!strings.HasSuffix(got2.Sets[1].Results, "header.from=sender.example;\r\n\tarc=pass") {
		t.Errorf("sets: %#v", got2.Sets)
	}

	// The first AMS no longer verifies (the body changed on the way): the
	// chain still passes, the newest AMS being the one that counts.
	changed := strings.Replace(msg, "hello", "HELLO", 1)
	set2b, res := seal(t, s, changed)
	if res.Status != Fail || !strings.Contains(res.Reason, "ARC-Message-Signature i=1") {
		t.Fatalf("chain over a changed body: %+v", res)
	}
	if !strings.HasPrefix(set2b, "ARC-Seal: i=2; a=rsa-sha256; cv=fail;") {
		t.Fatalf("set over a broken chain:\n%s", set2b)
	}
	// The AAR states the failure as our MX's Authentication-Results do.
	if !strings.Contains(set2b, "\r\n\tarc=fail reason=\"ARC-Message-Signature i=1: body hash did not verify\"\r\n") {
		t.Errorf("the AAR of a set over a broken chain:\n%s", set2b)
	}
	failed := set2b + changed
	got := Verify(context.Background(), z, []byte(failed))
	if got.Status != Fail || !got.Ended {
		t.Fatalf("a chain sealed cv=fail: %+v", got)
	}
	// Its seal signs only its own set: verify it alone.
	c, _, err := parseChain([]byte(failed))
	if err != nil {
		t.Fatal(err)
	}
	if err := verifySeal(context.Background(), z, c.sets[1:]); err != nil {
		t.Errorf("the cv=fail seal over its own set: %v", err)
	}
	if set, res, err := s.Seal(context.Background(), []byte(failed)); set != "" || err != nil || !res.Ended {
		t.Errorf("sealing after cv=fail: %q %+v %v, want no set", set, res, err)
	}
	// The key of the first sealer not resolving for now: no seal, and an
	// error that says to try later.
	z["sel._domainkey.list.example"] = "TEMP"
	if set, _, err := s.Seal(context.Background(), []byte(msg)); set != "" || err == nil || !strings.Contains(err.Error(), "for now") {
		t.Errorf("temporary key failure: %q %v", set, err)
	}
}

// TestVerifyStructure: §5.2 step 4's checks, each a fail with its reason.
func TestVerifyStructure(t *testing.T) {
	z := zone{}
	s := sealer(t, z, "isp.example", testRSA(t))
	set1, _ := seal(t, s, inbound)
	one := set1 + inbound
	set2, _ := seal(t, s, one)
	two := set2 + one
	aar2 := regexp.MustCompile(`(?s)ARC-Authentication-Results: i=2.*?\r\n(?:[^\t]|$)`).FindString(two)
	for _, tc := range []struct{ name, msg, why string }{
		{"missing AAR", strings.Replace(two, aar2[:len(aar2)-1], "", 1), "instance 2 has 0 ARC-Authentication-Results fields"},
		{"duplicate seal", "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=x; s=y; b=AAAA\r\n" + one, "instance 1 has 2 ARC-Seal fields"},
		{"gap", strings.ReplaceAll(one, "i=1;", "i=2;"), "instance 1 has 0"},
		{"i=0", strings.ReplaceAll(one, "i=1;", "i=0;"), "i=0 is outside 1..50"},
		{"i=51", strings.ReplaceAll(one, "i=1;", "i=51;"), "i=51 is outside 1..50"},
		{"cv=pass at i=1", strings.Replace(one, "cv=none", "cv=pass", 1), "ARC-Seal i=1 has cv=pass, not none"},
		{"duplicate tag", strings.Replace(one, "ARC-Seal: i=1;", "ARC-Seal: i=1; i=1;", 1), `tag "i" twice`},
		{"no key", strings.ReplaceAll(one, "d=isp.example", "d=gone.example"), "no key for signature"},
	} {
		got := Verify(context.Background(), z, []byte(tc.msg))
		if got.Status != Fail || !strings.Contains(got.Reason, tc.why) {
			t.Errorf("%s: %+v, want fail (%s)", tc.name, got, tc.why)
		}
	}
	if got := Verify(context.Background(), z, []byte(inbound)); got.Status != None {
		t.Errorf("no chain: %+v", got)
	}
}

// TestVerifyBoundsKeys: a chain naming more distinct keys than a message
// may cost fails without a lookup.
func TestVerifyBoundsKeys(t *testing.T) {
	z := zone{}
	msg := inbound
	for i := 0; i <= MaxKeys; i++ {
		s := sealer(t, z, fmt.Sprintf("s%d.example", i), testRSA(t))
		set, _ := seal(t, s, msg)
		msg = set + msg
	}
	got := Verify(context.Background(), z, []byte(msg))
	if got.Status != Fail || !strings.Contains(got.Reason, fmt.Sprintf("names %d keys", MaxKeys+1)) {
		t.Fatalf("chain of %d sealers: %+v", MaxKeys+1, got)
	}
}

// TestSealStopsAtFifty: §4.2.1, no i=51.
func TestSealStopsAtFifty(t *testing.T) {
	z := zone{}
	s := sealer(t, z, "isp.example", testRSA(t))
	msg := inbound
	for i := 1; i <= MaxInstance; i++ {
		set, res := seal(t, s, msg)
		if set == "" || res.Instance != i-1 {
			t.Fatalf("set %d: %q %+v", i, set, res)
		}
		msg = set + msg
	}
	set, res := seal(t, s, msg)
	if set != "" || res.Status != Pass || res.Instance != MaxInstance {
		t.Fatalf("51st set %q, %+v", set, res)
	}
}

// TestRelaxedCanonicalization: RFC 6376 §3.4.5's example, through the
// canonicalization ARC signs with (authres's, shared with DKIM).
func TestRelaxedCanonicalization(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"A: X\r\n", "a:X\r\n"},
		{"B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n"},
		{"ARC-Seal:  i=1;\r\n\tb=\r\n", "arc-seal:i=1; b=\r\n"},
	} {
		if got := authres.CanonicalHeader(tc.in, "relaxed"); got != tc.want {
			t.Errorf("header %q → %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := string(authres.CanonicalBody([]byte(" C \r\nD \t E\r\n\r\n\r\n"), "relaxed")); got != " C\r\nD E\r\n" {
		t.Errorf("body → %q", got)
	}
	if got := string(authres.CanonicalBody(nil, "relaxed")); got != "" {
		t.Errorf("empty body → %q", got)
	}
	if got := authres.EmptyB("ARC-Seal: i=1; bh=x; b=abc\r\n\t def\r\n"); got != "ARC-Seal: i=1; bh=x; b=" {
		t.Errorf("b= emptied: %q", got)
	}
}
