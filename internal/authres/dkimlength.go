package authres

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"mailgate/internal/dns"
)

// now is the clock x= is compared with; tests set it.
var now = time.Now

// verifyWithLength verifies a signature carrying l= (RFC 6376 §3.5), which
// go-msgauth refuses outright. The RFC has the verifier hash only the
// first l octets of the canonical body; §8.2 warns that content appended
// after them is unsigned yet shown to the reader. So:
//
//   - the signed part does not verify: fail, as any signature;
//   - l= covers the whole body: pass — nothing unsigned is present;
//   - octets follow the signed ones: policy (RFC 8601 §2.7.1: signed, but
//     "some aspect of the signature ... was not acceptable"), never pass,
//     so appended text cannot borrow the signer's name (§8.2: verifiers
//     "MAY ... treat the message as unsigned" when l= is less than the
//     body; DMARC then does not count it either);
//   - l= longer than the body: permerror (§6.1.3: the body was truncated).
func verifyWithLength(ctx context.Context, r Resolver, res *DKIM, sig *dkimSig, fields []field, sigField field, body []byte) {
	fail := func(result, format string, a ...any) {
		res.Result, res.Reason = result, fmt.Sprintf(format, a...)
	}
	if sig.tags["v"] != "1" {
		fail("permerror", "incompatible signature version")
		return
	}
	for _, t := range []string{"a", "b", "bh", "d", "h", "s"} { // §3.5 required tags
		if _, ok := sig.tags[t]; !ok {
			fail("permerror", "signature missing required tag %s=", t)
			return
		}
	}
	if sig.i != "" && !strings.HasSuffix(strings.ToLower(sig.i), "@"+sig.d) && !strings.HasSuffix(strings.ToLower(sig.i), "."+sig.d) {
		fail("permerror", "i= is not within d=") // §3.5
		return
	}
	signed := strings.Split(noSpace(sig.tags["h"]), ":")
	if !containsFold(signed, "from") {
		fail("permerror", "From field not signed") // §5.4
		return
	}
	if x, ok := sig.tags["x"]; ok {
		if sec, err := strconv.ParseInt(noSpace(x), 10, 64); err != nil || now().After(time.Unix(sec, 0)) {
			fail("permerror", "signature has expired") // §3.5 x=
			return
		}
	}
	keyAlgo, hashAlgo, _ := strings.Cut(sig.a, "-")
	if hashAlgo != "sha256" {
		fail("permerror", "hash algorithm %q (RFC 8301 §3.1: sha256 only)", hashAlgo)
		return
	}
	headerCan, _, _ := strings.Cut(strings.ToLower(noSpace(sig.tags["c"])), "/")
	if headerCan == "" {
		headerCan = "simple"
	}
	if (headerCan != "simple" && headerCan != "relaxed") || (sig.bodyCan != "simple" && sig.bodyCan != "relaxed") {
		fail("permerror", "unknown canonicalization %q", sig.tags["c"])
		return
	}
	verify, err := dkimKey(ctx, r, sig.s+"._domainkey."+sig.d, keyAlgo)
	if err != nil {
		res.Result, res.Reason = err.result, err.reason
		return
	}

	canon := canonicalBody(body, sig.bodyCan)
	if sig.length > int64(len(canon)) {
		fail("permerror", "l=%d is longer than the %d-octet body", sig.length, len(canon))
		return
	}
	bh := sha256.Sum256(canon[:sig.length])
	want, err2 := base64.StdEncoding.DecodeString(noSpace(sig.tags["bh"]))
	if err2 != nil || subtle.ConstantTimeCompare(bh[:], want) != 1 {
		fail("fail", "body hash did not verify")
		return
	}
	h := sha256.New()
	used := map[int]bool{}
	for _, name := range signed {
		// §5.4.2: the last unused instance of each named field, upwards;
		// a name with no instance left contributes nothing.
		for i := len(fields) - 1; i >= 0; i-- {
			if !used[i] && strings.EqualFold(fields[i].name, name) && fields[i].start != sigField.start {
				used[i] = true
				h.Write([]byte(canonicalHeader(string(fields[i].raw), headerCan)))
				break
			}
		}
	}
	// §3.7: the signature field itself, b= emptied, without its CRLF.
	self := canonicalHeader(emptyB.ReplaceAllString(string(sigField.raw), "$1"), headerCan)
	h.Write([]byte(strings.TrimSuffix(self, "\r\n")))
	b, err2 := base64.StdEncoding.DecodeString(sig.b)
	if err2 != nil || !verify(h.Sum(nil), b) {
		fail("fail", "signature did not verify")
		return
	}
	if body := int64(len(canon)); sig.length < body {
		fail("policy", "l=%d leaves %d body octets unsigned (RFC 6376 §8.2)", sig.length, body-sig.length)
		return
	}
	res.Result, res.Reason = "pass", ""
}

// emptyB matches the b= tag's value, to empty it (RFC 6376 §3.7).
var emptyB = regexp.MustCompile(`(?i)([;:][ \t\r\n]*b[ \t\r\n]*=)[^;]*`)

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// canonicalHeader is RFC 6376 §3.4.1 (simple: unchanged) or §3.4.2
// (relaxed: lower-case name, unfolded, WSP runs to one SP, none at the
// ends or around the colon), with its CRLF.
func canonicalHeader(raw, can string) string {
	if can == "simple" {
		return raw
	}
	name, value, _ := strings.Cut(raw, ":")
	value = strings.NewReplacer("\r\n", "").Replace(value)
	value = strings.Trim(collapseWSP(value), " ")
	return strings.ToLower(strings.TrimRight(name, " \t")) + ":" + value + "\r\n"
}

type keyError struct{ result, reason string }

// dkimKey fetches and parses a public key record (RFC 6376 §3.6.1, RFC
// 8463 §4.2), returning a verifier of SHA-256 digests.
func dkimKey(ctx context.Context, r TXTResolver, name, algo string) (func(digest, sig []byte) bool, *keyError) {
	txts, err := r.LookupTXT(ctx, name)
	switch {
	case dns.IsNotFound(err):
		return nil, &keyError{"permerror", "no key for signature"}
	case err != nil:
		return nil, &keyError{"temperror", "key unavailable: " + err.Error()}
	case len(txts) != 1:
		return nil, &keyError{"permerror", "not exactly one key record"} // §3.6.2.2
	}
	tags, perr := parseTagList(txts[0])
	if perr != nil {
		return nil, &keyError{"permerror", "key record: " + perr.Error()}
	}
	if v, ok := tags["v"]; ok && v != "DKIM1" {
		return nil, &keyError{"permerror", "key record version"}
	}
	if h, ok := tags["h"]; ok && !containsFold(strings.Split(noSpace(h), ":"), "sha256") {
		return nil, &keyError{"permerror", "key refuses sha256"}
	}
	if s, ok := tags["s"]; ok {
		sv := strings.Split(noSpace(s), ":")
		if !containsFold(sv, "email") && !containsFold(sv, "*") {
			return nil, &keyError{"permerror", "key not for email"}
		}
	}
	p := noSpace(tags["p"])
	if p == "" {
		return nil, &keyError{"permerror", "key revoked"} // §3.6.1: empty p=
	}
	der, derr := base64.StdEncoding.DecodeString(p)
	if derr != nil {
		return nil, &keyError{"permerror", "key syntax: " + derr.Error()}
	}
	k := noSpace(tags["k"])
	if k == "" {
		k = "rsa"
	}
	if k != algo {
		return nil, &keyError{"permerror", "key algorithm " + k + " does not match a=" + algo}
	}
	switch k {
	case "rsa":
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			pub, err = x509.ParsePKCS1PublicKey(der)
		}
		rk, ok := pub.(*rsa.PublicKey)
		if err != nil || !ok {
			return nil, &keyError{"permerror", "key syntax: not an RSA public key"}
		}
		if rk.N.BitLen() < 1024 {
			return nil, &keyError{"permerror", fmt.Sprintf("RSA key of %d bits (RFC 8301 §3.2: 1024 at least)", rk.N.BitLen())}
		}
		return func(d, s []byte) bool { return rsa.VerifyPKCS1v15(rk, crypto.SHA256, d, s) == nil }, nil
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return nil, &keyError{"permerror", "Ed25519 key size"}
		}
		// RFC 8463 §3: Ed25519 signs the SHA-256 digest.
		return func(d, s []byte) bool { return ed25519.Verify(ed25519.PublicKey(der), d, s) }, nil
	}
	return nil, &keyError{"permerror", "unknown key algorithm " + k}
}
