package delivery

import (
	"context"
	"strings"
	"testing"

	"mailgate/internal/dkim"
	"mailgate/internal/spool"
)

// TestSignerSignsOnlyMailWeSend: a message whose From is in our domain
// gets that domain's signature only when it left through us: submitted
// (authenticated or from a trusted relay), webmail, or written by the
// node itself. Mail that came in on the MX from outside with a From in our
// domain (a forgery DMARC only quarantined) and is forwarded by a Sieve
// redirect must not leave signed by our From-domain key: that would make
// the forgery pass DKIM and DMARC at the next hop (RFC 6376 §8.5 on
// signing what one did not originate). Forwarded copies get the
// forwarder's own signature instead ([arc]).
func TestSignerSignsOnlyMailWeSend(t *testing.T) {
	keys := dkim.Keys{Dir: t.TempDir()}
	if _, err := keys.Generate("ours.example", "s1", "rsa", true); err != nil {
		t.Fatal(err)
	}
	s := &Signer{Keys: keys, Dir: ownDir{}}
	body := []byte("From: ceo@ours.example\r\nTo: x@far.test\r\nSubject: wire money\r\n\r\nnow\r\n")
	for origin, want := range map[string]bool{
		"submission": true, "submissions": true, "mx-submission": true, "webmail": true,
		"bounce": true, "vacation": true, "notice": true, "dmarc-report": true,
		"mx": false, OriginFleet + "node-b": false,
	} {
		m := spool.InMemory(spool.Envelope{ID: "1a2b", From: "ceo@ours.example", To: []string{"x@far.test"}, Origin: origin}, body)
		sig, err := s.Sign(context.Background(), m)
		if err != nil {
			t.Fatalf("%s: %v", origin, err)
		}
		if got := strings.HasPrefix(sig, "DKIM-Signature:"); got != want {
			t.Errorf("origin %q: signed %v, want %v", origin, got, want)
		}
	}
}
