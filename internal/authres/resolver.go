// Package authres judges who sent a message arriving on the MX: SPF
// (RFC 7208) for the envelope, DKIM (RFC 6376, RFC 8463) for the
// signatures, DMARC (RFC 7489) for the From domain, and renders the
// verdict as Authentication-Results (RFC 8601) and Received-SPF fields.
// Stage (stage.go) runs them all before the 250 as a verdict stage.
package authres

import (
	"context"
	"net"

	"mailgate/internal/dns"
)

// Resolver is what the checks ask of DNS; *dns.Client (with its shared
// cache) is one. Errors follow package dns: dns.ErrNotFound (wrapped) is a
// definite answer, anything else is temporary.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// netErrors adapts a Resolver to libraries written for *net.Resolver
// (blitiri.com.ar/go/spf, go-msgauth): they tell "no such name" from
// "try later" by *net.DNSError's IsNotFound and Temporary().
type netErrors struct{ r Resolver }

func (n netErrors) LookupTXT(ctx context.Context, name string) ([]string, error) {
	v, err := n.r.LookupTXT(ctx, name)
	return v, dns.AsNetError(err, name)
}

func (n netErrors) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	v, err := n.r.LookupMX(ctx, name)
	return v, dns.AsNetError(err, name)
}

func (n netErrors) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	v, err := n.r.LookupIPAddr(ctx, host)
	return v, dns.AsNetError(err, host)
}

func (n netErrors) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	v, err := n.r.LookupAddr(ctx, addr)
	return v, dns.AsNetError(err, addr)
}
