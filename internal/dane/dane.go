// Package dane authenticates an SMTP server's certificate against its
// DNSSEC-validated TLSA records, as RFC 7672 (SMTP security via
// opportunistic DANE TLS) and RFC 7671 (DANE updates) define it.
package dane

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Record is one TLSA record (RFC 6698 §2.1).
type Record struct {
	Usage        uint8 // 2 DANE-TA, 3 DANE-EE (0 and 1 are unusable for SMTP)
	Selector     uint8 // 0 full certificate, 1 SubjectPublicKeyInfo
	MatchingType uint8 // 0 exact, 1 SHA-256, 2 SHA-512
	Data         []byte
}

// Usages, selectors and matching types of RFC 6698 §7.2-7.4.
const (
	UsageDANETA = 2
	UsageDANEEE = 3
)

func (r Record) String() string {
	return fmt.Sprintf("%d %d %d %x", r.Usage, r.Selector, r.MatchingType, r.Data)
}

// Usable keeps the records an SMTP client may use. RFC 7672 §3.1.3: PKIX-TA
// (0) and PKIX-EE (1) are not used for SMTP; unknown selectors and
// matching types are ignored (RFC 6698 §4.1). When a secure TLSA RRset has
// no usable record at all, TLS is still mandatory but not authenticated
// (RFC 7672 §2.2).
func Usable(rs []Record) []Record {
	var out []Record
	for _, r := range rs {
		if (r.Usage == UsageDANETA || r.Usage == UsageDANEEE) && r.Selector <= 1 && r.MatchingType <= 2 && len(r.Data) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// matches reports whether cert is the one r names.
func (r Record) matches(cert *x509.Certificate) bool {
	var data []byte
	switch r.Selector {
	case 0:
		data = cert.Raw
	case 1:
		data = cert.RawSubjectPublicKeyInfo
	default:
		return false
	}
	switch r.MatchingType {
	case 0:
		return bytes.Equal(data, r.Data)
	case 1:
		sum := sha256.Sum256(data)
		return bytes.Equal(sum[:], r.Data)
	case 2:
		sum := sha512.Sum512(data)
		return bytes.Equal(sum[:], r.Data)
	}
	return false
}

// ErrNoMatch means no usable record authenticates the server.
var ErrNoMatch = errors.New("dane: the server's certificate matches no TLSA record")

// Verify authenticates the chain a server presented (leaf first) with
// usable records. name is the TLSA base domain: the MX host name.
//
//   - DANE-EE (RFC 7672 §3.1.1): the leaf matches; its names and validity
//     dates are not checked, the TLSA record is the trust.
//   - DANE-TA (§3.1.2): a certificate of the chain matches and is taken as
//     the trust anchor; the leaf must chain to it and carry name, and the
//     usual date checks apply.
func Verify(rs []Record, chain []*x509.Certificate, name string, now time.Time) error {
	if len(chain) == 0 {
		return errors.New("dane: the server presented no certificate")
	}
	leaf := chain[0]
	var taErr error
	for _, r := range rs {
		switch r.Usage {
		case UsageDANEEE:
			if r.matches(leaf) {
				return nil
			}
		case UsageDANETA:
			for _, ta := range chain {
				if !r.matches(ta) {
					continue
				}
				if err := verifyUnder(leaf, chain[1:], ta, name, now); err != nil {
					taErr = err
					continue
				}
				return nil
			}
			// "2 0 0" carries the whole trust anchor certificate, which
			// the server may then leave out of its chain (RFC 7671 §5.2.2).
			if r.Selector == 0 && r.MatchingType == 0 {
				if ta, err := x509.ParseCertificate(r.Data); err == nil {
					if taErr = verifyUnder(leaf, chain[1:], ta, name, now); taErr == nil {
						return nil
					}
				}
			}
		}
	}
	if taErr != nil {
		return fmt.Errorf("%w: %v", ErrNoMatch, taErr)
	}
	return ErrNoMatch
}

// verifyUnder checks that leaf chains to ta through intermediates and is
// valid for name.
func verifyUnder(leaf *x509.Certificate, intermediates []*x509.Certificate, ta *x509.Certificate, name string, now time.Time) error {
	if leaf.Equal(ta) {
		// The leaf itself is the trust anchor (a "2 x x" record for a
		// self-issued server certificate): only the name is left to check.
		return leaf.VerifyHostname(name)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ta)
	inter := x509.NewCertPool()
	for _, c := range intermediates {
		if !c.Equal(ta) {
			inter.AddCert(c)
		}
	}
	_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter, CurrentTime: now})
	return err
}
