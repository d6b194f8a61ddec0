package authres

import (
	"net/netip"
	"strings"
	"testing"
)

// TestAuthenticationResultsField: the exact field, one result a line,
// folded before 78 octets (RFC 5322 §2.1.1).
func TestAuthenticationResultsField(t *testing.T) {
	r := Results{
		AuthservID: "mail.test.example",
		SPF:        SPF{Result: "pass", Identity: "mailfrom", Sender: "alice@signer.test", Domain: "signer.test"},
		DKIM: []DKIM{{Result: "pass", Domain: "signer.test", Identifier: "@signer.test", Selector: "s1", Algorithm: "rsa-sha256", Signature: "AbCdEfGhIjKlMnOp"},
			{Result: "fail", Domain: "list.test", Identifier: "@list.test", Selector: "x", Algorithm: "ed25519-sha256", Signature: "zz", Reason: `body hash "did not" verify`}},
		DMARC: []DMARC{{Result: "pass", From: "signer.test", Policy: "reject", Disposition: "none"}},
	}
	want := "Authentication-Results: mail.test.example;\r\n" +
		"\tspf=pass smtp.mailfrom=alice@signer.test;\r\n" +
		"\tdkim=pass header.d=signer.test header.i=@signer.test header.s=s1\r\n" +
		"\t header.a=rsa-sha256 header.b=AbCdEfGhIjKl;\r\n" +
		"\tdkim=fail reason=\"body hash \\\"did not\\\" verify\" header.d=list.test\r\n" +
		"\t header.i=@list.test header.s=x header.a=ed25519-sha256 header.b=zz;\r\n" +
		"\tdmarc=pass (p=reject dis=none) header.from=signer.test"
	if got := r.AuthenticationResults(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	helo := Results{AuthservID: "mx", SPF: SPF{Result: "none", Identity: "helo", Helo: "client.test"}}
	if got := helo.AuthenticationResults(); got != "Authentication-Results: mx;\r\n\tspf=none smtp.helo=client.test;\r\n\tdkim=none" {
		t.Fatalf("helo: %q", got)
	}
}

// TestAuthenticationResultsHostileValues: values from the sender cannot
// end the field or add results: CR/LF dropped, quotes and ';' quoted.
func TestAuthenticationResultsHostileValues(t *testing.T) {
	r := Results{AuthservID: "mx", SPF: SPF{Result: "fail", Identity: "mailfrom", Sender: "\"x;\r\nX-Evil: 1\"@a.test", Problem: "a\r\nb"}}
	got := r.AuthenticationResults()
	checkFieldShape(t, got)
	if !strings.Contains(got, `smtp.mailfrom="\"x;X-Evil: 1\"@a.test"`) {
		t.Fatalf("%q", got)
	}
}

// checkFieldShape: a header field with folded lines only, no CR or LF
// elsewhere, every line within RFC 5322's 998 octets.
func checkFieldShape(t *testing.T, f string) {
	t.Helper()
	lines := strings.Split(f, "\r\n")
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") || len(l) > 998 {
			t.Fatalf("line %d of %q", i, f)
		}
		if i > 0 && !strings.HasPrefix(l, "\t") {
			t.Fatalf("line %d is not a continuation: %q", i, f)
		}
	}
}

func TestReceivedSPF(t *testing.T) {
	s := SPF{Result: "softfail", Identity: "mailfrom", Sender: "bob@soft.test", Domain: "soft.test", Helo: "client.test", IP: netip.MustParseAddr("127.0.0.1")}
	want := "Received-SPF: softfail (mail.test.example: domain of bob@soft.test does not designate 127.0.0.1 as permitted sender)\r\n" +
		"\treceiver=mail.test.example; client-ip=127.0.0.1; helo=client.test;\r\n" +
		"\t envelope-from=\"bob@soft.test\"; identity=mailfrom;"
	if got := ReceivedSPF(s, "mail.test.example"); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	s = SPF{Result: "temperror", Identity: "helo", Sender: "postmaster@h.test", Helo: "h.test", IP: netip.MustParseAddr("::1"), Problem: "timeout"}
	got := ReceivedSPF(s, "mx")
	if !strings.Contains(got, `client-ip="::1"`) || !strings.Contains(got, `problem="timeout";`) || !strings.Contains(got, "identity=helo;") {
		t.Fatalf("%q", got)
	}
}

// TestRemoveForged: fields claiming our authserv-id go (any case, after
// comments, quoted), others' stay, the body is untouched.
func TestRemoveForged(t *testing.T) {
	msg := "Received: x\r\n" +
		"Authentication-Results: MAIL.test.example; dkim=pass\r\n" +
		"Authentication-Results: other.example;\r\n\tspf=pass\r\n" +
		"authentication-results: (comment) \"mail.test.example\";\r\n\tdmarc=pass\r\n" +
		"Authentication-Results: mail.test.example.evil; spf=pass\r\n" +
		"From: a@b.test\r\n\r\nAuthentication-Results: mail.test.example; body text\r\n"
	got, n := RemoveForged([]byte(msg), "mail.test.example")
	want := "Received: x\r\n" +
		"Authentication-Results: other.example;\r\n\tspf=pass\r\n" +
		"Authentication-Results: mail.test.example.evil; spf=pass\r\n" +
		"From: a@b.test\r\n\r\nAuthentication-Results: mail.test.example; body text\r\n"
	if n != 2 || string(got) != want {
		t.Fatalf("removed %d:\n%q\nwant\n%q", n, got, want)
	}
	same, n := RemoveForged([]byte(want), "mail.test.example")
	if n != 0 || &same[0] != &[]byte(want)[0] && string(same) != want {
		t.Fatalf("nothing to remove: %d %q", n, same)
	}
}

func TestAuthservID(t *testing.T) {
	for in, want := range map[string]string{
		"mx.example; spf=pass":          "mx.example",
		" (c (nested)) mx.example 1; x": "mx.example",
		`"quoted\"id"; spf=pass`:        `quoted"id`,
		"mx.example":                    "mx.example",
		"(unterminated":                 "",
	} {
		if got := AuthservID(in); got != want {
			t.Errorf("AuthservID(%q) = %q, want %q", in, got, want)
		}
	}
}
