package authres

import "context"

// TXTResolver is the part of Resolver a key lookup needs.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// The pieces of DKIM that ARC (RFC 8617, package arc) uses as they are:
// its ARC-Message-Signature and ARC-Seal are DKIM signatures under other
// field names (§4.1.2, §4.1.3), hashed with DKIM's canonicalization and
// verified with DKIM's key records. Exported here so that there is one
// copy of each.

// CanonicalHeader is RFC 6376 §3.4.1 (simple) or §3.4.2 (relaxed) of one
// whole field (name, colon, value, folding and final CRLF), with its CRLF.
func CanonicalHeader(raw, can string) string { return canonicalHeader(raw, can) }

// CanonicalBody is RFC 6376 §3.4.3 (simple) or §3.4.4 (relaxed) of a body.
func CanonicalBody(body []byte, can string) []byte { return canonicalBody(body, can) }

// ParseTagList parses an RFC 6376 §3.2 tag-list; a duplicate tag is an
// error.
func ParseTagList(v string) (map[string]string, error) { return parseTagList(v) }

// EmptyB returns a signature field with its b= value removed (RFC 6376
// §3.7), as it is hashed.
func EmptyB(raw string) string { return emptyB.ReplaceAllString(raw, "$1") }

// NoSpace is a tag value with its folding white space removed, as b= and
// bh= are compared (RFC 6376 §3.5: "whitespace is ignored").
func NoSpace(s string) string { return noSpace(s) }

// ARCResult is the arc result with its reason as Authentication-Results
// writes it (RFC 8601 §2.3's reason=), for the ARC-Authentication-Results
// of a seal (RFC 8617 §4.1.1) to state it alike.
func ARCResult(result, reason string) string {
	return (&ARC{Result: result, Reason: reason}).resinfo()
}

// LookupKey fetches the public key record at name (selector._domainkey.
// domain) for key algorithm algo ("rsa", "ed25519") and returns a
// verifier of SHA-256 digests; on failure result is "permerror" or
// "temperror" (RFC 8601 §2.7.1) and reason says why.
func LookupKey(ctx context.Context, r TXTResolver, name, algo string) (verify func(digest, sig []byte) bool, result, reason string) {
	v, err := dkimKey(ctx, r, name, algo)
	if err != nil {
		return nil, err.result, err.reason
	}
	return v, "", ""
}
