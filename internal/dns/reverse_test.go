package dns

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestReverseLookups(t *testing.T) {
	addr := serve(t, `
7.2.0.192.in-addr.arpa. 60 IN PTR Mail.A.Test.
8.2.0.192.in-addr.arpa. 60 IN PTR other.a.test.
2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 60 IN PTR v6.a.test.
mail.a.test. 60 IN A 192.0.2.7
mail.a.test. 60 IN AAAA 2001:db8::7
other.a.test. 60 IN A 198.51.100.1
v6.a.test. 60 IN AAAA 2001:db8::2
2.0.0.127.list.test. 60 IN A 127.0.0.2
2.0.0.127.list.test. 60 IN A 127.0.0.4`)
	c := &Client{Servers: []string{addr}, Timeout: time.Second}
	ctx := context.Background()
	names, err := LookupPTR(ctx, c, netip.MustParseAddr("192.0.2.7"))
	if err != nil || !slices.Equal(names, []string{"mail.a.test"}) {
		t.Fatalf("PTR: %q, %v (want lower case, no final dot)", names, err)
	}
	if name, err := ForwardConfirmed(ctx, c, netip.MustParseAddr("192.0.2.7"), names); name != "mail.a.test" || err != nil {
		t.Fatalf("confirmed: %q, %v", name, err)
	}
	names, _ = LookupPTR(ctx, c, netip.MustParseAddr("192.0.2.8"))
	if name, err := ForwardConfirmed(ctx, c, netip.MustParseAddr("192.0.2.8"), names); name != "" || err != nil {
		t.Fatalf("a PTR pointing elsewhere confirms nothing: %q, %v", name, err)
	}
	names, _ = LookupPTR(ctx, c, netip.MustParseAddr("2001:db8::2"))
	if name, _ := ForwardConfirmed(ctx, c, netip.MustParseAddr("2001:db8::2"), names); name != "v6.a.test" {
		t.Fatalf("IPv6 (ip6.arpa nibbles): %q from %q", name, names)
	}
	if _, err := LookupPTR(ctx, c, netip.MustParseAddr("192.0.2.9")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no PTR: %v, want ErrNotFound", err)
	}
	as, err := LookupA(ctx, c, "2.0.0.127.list.test")
	if err != nil || len(as) != 2 || as[0] != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("A: %v, %v", as, err)
	}
	// A name that cannot be looked up now is a temporary failure, not a
	// "does not confirm".
	if name, err := ForwardConfirmed(ctx, c, netip.MustParseAddr("192.0.2.7"), []string{"fail.a.test"}); name != "" || err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("SERVFAIL: %q, %v; want a temporary error", name, err)
	}
}

// ReverseName tries every PTR name, not only the first: a client whose
// second name confirms is verified, as the reputation checks say.
func TestReverseNameTriesEveryPTR(t *testing.T) {
	addr := serve(t, `
7.2.0.192.in-addr.arpa. 60 IN PTR other.a.test.
7.2.0.192.in-addr.arpa. 60 IN PTR mail.a.test.
mail.a.test. 60 IN A 192.0.2.7
other.a.test. 60 IN A 198.51.100.1`)
	c := &Client{Servers: []string{addr}, Timeout: time.Second}
	ctx := context.Background()
	names, name, err := ReverseName(ctx, c, netip.MustParseAddr("192.0.2.7"))
	if name != "mail.a.test" || err != nil || len(names) != 2 {
		t.Fatalf("ReverseName: %q, %q, %v", names, name, err)
	}
	if names, name, err := ReverseName(ctx, c, netip.MustParseAddr("192.0.2.9")); names != nil || name != "" || err != nil {
		t.Fatalf("no PTR is no name and no error: %q, %q, %v", names, name, err)
	}
}
