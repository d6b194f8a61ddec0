package arc

import (
	"context"
	"testing"
)

// FuzzARCHeader: any ARC field value parses or errs, never panics; a
// parsed instance is in 1..50; and validating a message made of such
// fields never panics and never passes (no key is published).
func FuzzARCHeader(f *testing.F) {
	f.Add(AS, "i=1; a=rsa-sha256; cv=none; d=isp.example; s=sel; t=1; b=AAAA")
	f.Add(AMS, "i=2; a=ed25519-sha256; c=relaxed; d=x; s=y; h=from : to; bh=; b=")
	f.Add(AAR, "i=1; mx.isp.example; spf=pass smtp.mailfrom=a@b")
	f.Add(AAR, " i = 50 ;")
	f.Add(AS, "i=99; i=1;;=")
	f.Add(AAR, `i=1; mx.google.com (c;"); dkim=pass header.d=a.example; dmarc=pass (p=REJECT) header.from="a.example"`)
	f.Fuzz(func(t *testing.T, name, value string) {
		if canonicalName(name) == "" {
			name = AS
		}
		i, _, err := parseField(canonicalName(name), value)
		if err == nil && (i < 1 || i > MaxInstance) {
			t.Fatalf("instance %d from %q", i, value)
		}
		msg := []byte(name + ": " + value + "\r\nFrom: a@b.example\r\n\r\nbody\r\n")
		if res := Verify(context.Background(), zone{}, msg); res.Status == Pass {
			t.Fatalf("chain passed without keys: %q", msg)
		}
	})
}
