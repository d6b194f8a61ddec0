// Package srs is the Sender Rewriting Scheme: the envelope sender of mail
// we forward is rewritten into an address of our own SRS domain, so the
// receiving site checks SPF against our domain rather than the original
// sender's (RFC 7208 §1.2.3 and Appendix D: forwarding breaks SPF), and a
// bounce to that address is turned back into the original sender.
//
// The addresses are those of libsrs2 (Shevek, "Sender Rewriting Scheme",
// http://www.libsrs2.org/srs/srs.pdf), as PostSRSd (github.com/roehling/
// postsrsd, src/srs2.c) makes them for Postfix, so either can check the
// other's given the same secret:
//
//	SRS0=HHHH=TT=orig-domain=orig-local@srs-domain
//	SRS1=HHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@srs-domain
//
// HHHH is the first 4 characters of the base64 HMAC-SHA1, keyed with the
// secret, of the lowercased fields that follow it (TT, orig-domain and
// orig-local for SRS0; the forwarder and the rest of its SRS0 local part,
// its leading separator included, for SRS1). TT is the day (Unix time /
// 86400) mod 1024 in base32, two characters. An SRS0 address forwarded
// again becomes SRS1 pointing at its SRS0 forwarder, whose address it
// keeps (libsrs2's "guarded" scheme), so a bounce goes back through that
// forwarder, who alone can check its own hash.
package srs

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of Reverse. All but ErrNotSRS mean "refuse the address".
var (
	ErrNotSRS    = errors.New("srs: not an SRS address")
	ErrMalformed = errors.New("srs: malformed SRS address")
	ErrBadHash   = errors.New("srs: SRS hash does not match")
	ErrExpired   = errors.New("srs: SRS address has expired")
)

const (
	hashLen = 4 // libsrs2's default hashlength and hashmin
	// Timestamps count days, in two base32 characters (1024 slots).
	timePrecision = 24 * 60 * 60
	timeSlots     = 1 << 10
	timeChars     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	// DefaultMaxAge is libsrs2's and PostSRSd's maxage, in days.
	DefaultMaxAge = 21
)

// Rewriter makes and checks SRS addresses of one domain.
type Rewriter struct {
	domain  string
	secrets [][]byte // the first signs; all are accepted (rotation)
	maxAge  int      // days
	// now is the clock; tests set it.
	now func() time.Time
}

// New returns a Rewriter for domain. secrets are the HMAC keys: the first
// makes new addresses, every one is accepted when checking, so a secret
// can be rotated without refusing the bounces of mail already forwarded.
// maxAge is how many days an address stays valid (1..1023).
func New(domain string, secrets [][]byte, maxAge int) (*Rewriter, error) {
	if domain == "" || strings.ContainsAny(domain, "@ \t") {
		return nil, fmt.Errorf("srs: %q is not a domain", domain)
	}
	if len(secrets) == 0 || len(secrets[0]) == 0 {
		return nil, errors.New("srs: no secret")
	}
	if maxAge < 1 || maxAge >= timeSlots {
		return nil, fmt.Errorf("srs: max age %d is outside 1..%d days", maxAge, timeSlots-1)
	}
	return &Rewriter{domain: strings.ToLower(domain), secrets: secrets, maxAge: maxAge, now: time.Now}, nil
}

// Domain is the SRS domain: the part after '@' of every address made.
func (r *Rewriter) Domain() string { return r.domain }

// IsSRS says whether an address's local part has the form of an SRS
// address (SRS0 or SRS1, any case, then a separator), whether or not it
// is valid.
func IsSRS(local string) bool {
	return len(local) > 4 && isSep(local[4]) &&
		(strings.EqualFold(local[:4], "SRS0") || strings.EqualFold(local[:4], "SRS1"))
}

// isSep: libsrs2 accepts '=', '-' and '+' after the tag; inside, the
// separator is always '='.
func isSep(c byte) bool { return c == '=' || c == '-' || c == '+' }

// Forward returns the address sender is rewritten to when we forward its
// mail. A sender already in the SRS domain is returned unchanged, as
// libsrs2 does. The null sender is the caller's to keep (RFC 5321
// §4.5.5): Forward refuses it.
func (r *Rewriter) Forward(sender string) (string, error) {
	return r.ForwardAt(sender, r.now())
}

// ForwardAt is Forward as it would have been at t: the stamp is t's day.
func (r *Rewriter) ForwardAt(sender string, t time.Time) (string, error) {
	at := strings.LastIndexByte(sender, '@')
	if at <= 0 || at == len(sender)-1 {
		return "", fmt.Errorf("srs: cannot rewrite %q: not local@domain", sender)
	}
	local, host := sender[:at], sender[at+1:]
	if strings.EqualFold(host, r.domain) {
		return sender, nil
	}
	switch {
	case IsSRS(local) && strings.EqualFold(local[:4], "SRS1"):
		// Re-forwarding an SRS1 address: keep its first forwarder and
		// that forwarder's opaque part, sign them again ourselves.
		_, rest, ok := strings.Cut(local[5:], "=")
		if !ok {
			return "", fmt.Errorf("srs: cannot rewrite %q: %w", sender, ErrMalformed)
		}
		fwd, user, ok := strings.Cut(rest, "=")
		if !ok || fwd == "" || user == "" {
			return "", fmt.Errorf("srs: cannot rewrite %q: %w", sender, ErrMalformed)
		}
		return r.srs1(fwd, user), nil
	case IsSRS(local):
		// An SRS0 address from another forwarder: point back at it.
		// The opaque part keeps its leading separator, hence "==".
		return r.srs1(host, local[4:]), nil
	}
	stamp := r.stamp(t)
	return "SRS0=" + r.hash(0, stamp, host, local) + "=" + stamp + "=" + host + "=" + local + "@" + r.domain, nil
}

func (r *Rewriter) srs1(fwd, user string) string {
	return "SRS1=" + r.hash(0, fwd, user) + "=" + fwd + "=" + user + "@" + r.domain
}

// Reverse returns the address a bounce to addr goes to: the original
// sender for SRS0, the first forwarder's SRS0 address for SRS1. The
// domain of addr is not looked at (the caller routes only its SRS
// domain here). The hash is compared without regard to case, as libsrs2
// does, since some MTAs change the case of local parts.
func (r *Rewriter) Reverse(addr string) (string, error) {
	local := addr
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local = addr[:at]
	}
	if !IsSRS(local) {
		return "", ErrNotSRS
	}
	tag, body := local[:4], local[5:]
	hash, rest, ok := strings.Cut(body, "=")
	if !ok {
		return "", ErrMalformed
	}
	if strings.EqualFold(tag, "SRS1") {
		fwd, user, ok := strings.Cut(rest, "=")
		if !ok || fwd == "" || user == "" {
			return "", ErrMalformed
		}
		if !r.checkHash(hash, fwd, user) {
			return "", ErrBadHash
		}
		return "SRS0" + user + "@" + fwd, nil
	}
	stamp, rest, ok := strings.Cut(rest, "=")
	if !ok {
		return "", ErrMalformed
	}
	host, user, ok := strings.Cut(rest, "=")
	if !ok || host == "" || user == "" {
		return "", ErrMalformed
	}
	// The stamp first, as libsrs2 does: an old address is refused as
	// old whatever its hash.
	if err := r.checkStamp(stamp); err != nil {
		return "", err
	}
	if !r.checkHash(hash, stamp, host, user) {
		return "", ErrBadHash
	}
	return user + "@" + host, nil
}

// stamp is the day of t mod 1024 in two base32 characters.
func (r *Rewriter) stamp(t time.Time) string {
	d := t.Unix() / timePrecision
	return string([]byte{timeChars[(d>>5)&31], timeChars[d&31]})
}

// checkStamp accepts a stamp from today back to maxAge days ago. A stamp
// "in the future" is one from 1024 days ago, and too old.
func (r *Rewriter) checkStamp(s string) error {
	if len(s) != 2 {
		return ErrMalformed
	}
	then := int64(0)
	for i := 0; i < 2; i++ {
		v := strings.IndexByte(timeChars, upper(s[i]))
		if v < 0 {
			return ErrMalformed
		}
		then = then<<5 | int64(v)
	}
	now := (r.now().Unix() / timePrecision) % timeSlots
	for now < then {
		now += timeSlots
	}
	if now > then+int64(r.maxAge) {
		return ErrExpired
	}
	return nil
}

// hash is the first 4 base64 characters of HMAC-SHA1 over the lowercased
// fields, concatenated without separators (libsrs2's srs_hash_create).
func (r *Rewriter) hash(secret int, fields ...string) string {
	m := hmac.New(sha1.New, r.secrets[secret])
	for _, f := range fields {
		m.Write([]byte(asciiLower(f)))
	}
	// Four base64 characters are the first 3 bytes, without padding.
	return base64.StdEncoding.EncodeToString(m.Sum(nil)[:3])
}

// checkHash compares the first 4 characters of h, case-insensitively,
// with the hash under every secret. Shorter is refused.
func (r *Rewriter) checkHash(h string, fields ...string) bool {
	if len(h) < hashLen {
		return false
	}
	got := asciiLower(h[:hashLen])
	for i := range r.secrets {
		if subtle.ConstantTimeCompare([]byte(got), []byte(asciiLower(r.hash(i, fields...)))) == 1 {
			return true
		}
	}
	return false
}

// asciiLower lowercases A-Z only, as libsrs2's tolower in the C locale.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
