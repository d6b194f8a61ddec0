package delivery

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"mailgate/internal/arc"
	"mailgate/internal/dkim"
	"mailgate/internal/dns"
	"mailgate/internal/spool"
	"mailgate/internal/srs"
)

// keyZone answers TXT lookups of the one key record it holds.
type keyZone map[string]string

func (z keyZone) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := z[name]; ok {
		return []string{v}, nil
	}
	return nil, fmt.Errorf("%s: %w", name, dns.ErrNotFound)
}

// TestForwardedCopyIsSignedAndSealed: bob's Sieve redirect to dave at
// another site goes out with a DKIM-Signature of ours.example (bob's
// domain) and an ARC set i=1 cv=none whose AAR is our MX's
// Authentication-Results; both verify. The message's own remote
// recipient gets neither. With seal off the copy is only DKIM-signed;
// with [arc] off (no ForwardSigner) it carries neither, and with a
// signing domain that has no key it goes out unsigned.
func TestForwardedCopyIsSignedAndSealed(t *testing.T) {
	keyDir := t.TempDir()
	keys := dkim.Keys{Dir: keyDir}
	if _, err := keys.Generate("ours.example", "fwd1", "rsa", true); err != nil {
		t.Fatal(err)
	}
	_, key, _ := keys.Active("ours.example")
	txt, _ := dkim.RecordValue(key.Public())
	zone := keyZone{"fwd1._domainkey.ours.example": txt}
	rw, err := srs.New("srs.ours.example", [][]byte{[]byte("s3cret")}, srs.DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	const ar = "Authentication-Results: mail.ours.example;\r\n\tspf=pass smtp.mailfrom=x@else.example;\r\n\tdkim=none;\r\n\tdmarc=none header.from=else.example\r\n"
	msg := ar + "From: x@else.example\r\nTo: bob@ours.example\r\nSubject: hi\r\n\r\nbody\r\n"

	for _, tc := range []struct {
		name         string
		domain       string // ForwardSigner.Domain; "-" for no ForwardSigner
		seal         bool
		sealed, dkim int // copies with our ARC set, with our DKIM-Signature
	}{
		{"sealed", "", true, 1, 1},
		{"dkim_sign only", "", false, 0, 1},
		{"arc off", "-", true, 0, 0},
		{"domain without key", "nokey.example", true, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, _ := selfSigned(t, "mx.far.test")
			got, port := startRecorder(t, cert)
			a, sp := sieveAgent(t, scriptMap{"bob@ours.example": `require "copy"; redirect :copy "dave@far.test";`})
			a.Remote.DNS, a.Remote.Port = fixedDNS{}, port
			defer a.Remote.Close()
			a.SRS = rw // the copy is a transaction of its own in every case
			if tc.domain != "-" {
				a.Forward = &ForwardSigner{Keys: keys, Domain: tc.domain, Seal: tc.seal, Sign: true,
					AuthservID: "mail.ours.example", DNS: zone, Log: a.Log}
			}
			env := &spool.Envelope{From: "x@else.example", To: []string{"bob@ours.example", "carol@far.test"}, Received: time.Now(), Origin: "mx"}
			if err := sp.Put(env, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			a.process(context.Background(), env.ID)
			got.mu.Lock()
			defer got.mu.Unlock()
			if len(got.data) != 2 {
				t.Fatalf("%d messages arrived, want 2", len(got.data))
			}
			sealed, signed := 0, 0
			for _, d := range got.data {
				if strings.Contains(d, "DKIM-Signature:") {
					signed++
					v, err := msgdkim.VerifyWithOptions(strings.NewReader(d), &msgdkim.VerifyOptions{
						LookupTXT: func(name string) ([]string, error) { return zone.LookupTXT(context.Background(), name) }})
					if err != nil || len(v) != 1 || v[0].Err != nil || v[0].Domain != "ours.example" {
						t.Errorf("DKIM of the forwarded copy: %v %+v", err, v)
					}
				}
				if !strings.Contains(d, "ARC-") {
					continue
				}
				sealed++
				if !strings.HasPrefix(d, "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=ours.example; s=fwd1;") ||
					!strings.Contains(d, "ARC-Authentication-Results: i=1; mail.ours.example;\r\n\tspf=pass smtp.mailfrom=x@else.example;") {
					t.Errorf("forwarded copy:\n%s", d)
				}
				if res := arc.Verify(context.Background(), zone, []byte(d)); res.Status != arc.Pass || res.Instance != 1 {
					t.Errorf("ARC chain of the forwarded copy: %+v", res)
				}
			}
			if sealed != tc.sealed || signed != tc.dkim {
				t.Fatalf("%d sealed and %d DKIM-signed copies, want %d and %d", sealed, signed, tc.sealed, tc.dkim)
			}
		})
	}
}
