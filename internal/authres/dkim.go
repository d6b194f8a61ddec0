package authres

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"mailgate/internal/dns"
)

// DKIM is the result of one DKIM-Signature (RFC 6376 §6), as RFC 8601
// §2.7.1 reports it.
type DKIM struct {
	Result     string // pass, fail, policy, neutral, temperror, permerror
	Domain     string // d= (SDID)
	Identifier string // i= (AUID), "@d" when absent
	Selector   string // s=
	Algorithm  string // a=
	Signature  string // b=, for header.b (RFC 6008 §4: its first octets tell signatures apart)
	Reason     string
}

// MaxSignatures bounds the signatures verified per message: RFC 6376
// §6.1 lets verifiers limit them, and each costs a DNS query and a
// public-key operation.
const MaxSignatures = 8

// VerifyDKIM verifies every DKIM-Signature of msg (CRLF line ends), in
// header order; nil when there is none (dkim=none). The verification is
// go-msgauth's: RSA under 1024 bits and rsa-sha1 fail (RFC 8301 §3.1-3.2),
// an empty p= is a revoked key and x= in the past an expired signature
// (RFC 6376 §3.6.1, §3.5), both permerror. Signatures with l= are
// verified here (dkimlength.go), since the library refuses them whole.
func VerifyDKIM(ctx context.Context, r Resolver, msg []byte) []DKIM {
	fields, bodyOff := splitHeader(msg)
	var sigs []field
	for _, f := range fields {
		if strings.EqualFold(f.name, "DKIM-Signature") {
			sigs = append(sigs, f)
		}
	}
	if len(sigs) == 0 {
		return nil
	}
	if len(sigs) > MaxSignatures {
		sigs = sigs[:MaxSignatures]
	}
	lookup := func(name string) ([]string, error) {
		txt, err := r.LookupTXT(ctx, name)
		return txt, dns.AsNetError(err, name)
	}
	verifs, verr := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: MaxSignatures})
	out := make([]DKIM, len(sigs))
	for i, f := range sigs {
		res := &out[i]
		sig, err := parseDKIMSignature(f.value())
		if err != nil {
			// RFC 8601 §2.7.1: neutral, "the signature ... contained
			// syntax errors or were not otherwise able to be processed".
			res.Result, res.Reason = "neutral", "malformed signature: "+err.Error()
			continue
		}
		res.Domain, res.Selector, res.Algorithm, res.Signature = sig.d, sig.s, sig.a, sig.b
		res.Identifier = sig.i
		if res.Identifier == "" {
			res.Identifier = "@" + sig.d
		}
		switch {
		case sig.length >= 0:
			verifyWithLength(ctx, r, res, sig, fields, f, msg[bodyOff:])
		case i >= len(verifs):
			// The library gave up on the message as a whole (an
			// unreadable header).
			res.Result, res.Reason = "permerror", fmt.Sprint("message not verifiable: ", verr)
		default:
			res.Result, res.Reason = resultOf(verifs[i].Err)
		}
	}
	return out
}

// resultOf maps go-msgauth's verdict onto RFC 8601 §2.7.1 results.
func resultOf(err error) (result, reason string) {
	switch {
	case err == nil:
		return "pass", ""
	case dkim.IsTempFail(err):
		return "temperror", err.Error()
	case dkim.IsPermFail(err):
		return "permerror", err.Error()
	default: // a signature or body hash that does not verify
		return "fail", err.Error()
	}
}
