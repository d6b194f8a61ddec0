package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"
)

// edge resolves carrier MX hosts through NetResolver: both families,
// IPv4 unmapped, and a missing host as net.Resolver reports it.
func TestNetResolverLookupAddrs(t *testing.T) {
	addr := serve(t, `
mx1.a.test. 60 IN A 127.0.0.2
mx1.a.test. 60 IN AAAA ::1
`)
	r := NetResolver{New([]string{addr}, 2*time.Second)}
	ctx := context.Background()
	got, err := r.LookupAddrs(ctx, "mx1.a.test")
	if s := fmt.Sprint(got); err != nil || s != "[::1 127.0.0.2]" || !got[1].Is4() {
		t.Fatalf("LookupAddrs = %s %v, want [::1 127.0.0.2] with 127.0.0.2 unmapped", s, err)
	}
	var dnsErr *net.DNSError
	if _, err := r.LookupAddrs(ctx, "absent.test"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound || dnsErr.Name != "absent.test" {
		t.Fatalf("absent host: %#v, want *net.DNSError IsNotFound", err)
	}
	if _, err := r.LookupAddrs(ctx, "fail.test"); !errors.As(err, &dnsErr) || dnsErr.IsNotFound || !dnsErr.IsTemporary {
		t.Fatalf("SERVFAIL: %#v, want a temporary *net.DNSError", err)
	}
}
