package arc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mailgate/internal/authres"
)

// Chain validation status (RFC 8617 §4.4): the cv= of the next seal.
const (
	None = "none"
	Pass = "pass"
	Fail = "fail"
)

// Result is what validating a message's chain found.
type Result struct {
	// Status is none (no ARC set), pass or fail (§4.4).
	Status string
	// Instance is the highest i= in the message (0: none): the next set
	// is Instance+1.
	Instance int
	// Ended: the latest seal already says cv=fail, and no set may be
	// added after it (§5.1 step 1).
	Ended bool
	// Temporary: a key could not be fetched for now (RFC 8601's
	// temperror); Status is then fail, which must not be sealed.
	Temporary bool
	// Reason says why the chain failed.
	Reason string
	// Sets are the chain's sets, i=1 first, when Status is pass: who
	// sealed each and what its ARC-Authentication-Results say, for a
	// receiver's local policy (RFC 8617 §7.2).
	Sets []authres.ARCSet
	// OldestPass is the instance of the oldest AMS that still validates
	// when Status is pass, 0 when all do (§5.2 step 6; the IANA
	// registration of header.oldest-pass).
	OldestPass int
}

// MaxKeys bounds the distinct keys (d=, s=) one chain may need: each is a
// DNS query, and RFC 6376 §6.1 lets a verifier bound that work, as DKIM's
// authres.MaxSignatures does. A chain naming more fails. Real chains name
// one key per sealer and have a handful of sealers.
const MaxKeys = authres.MaxSignatures

// Verify validates the ARC chain of a CRLF message (RFC 8617 §5.2),
// fetching the keys through r.
func Verify(ctx context.Context, r authres.TXTResolver, msg []byte) Result {
	res, _ := verify(ctx, r, parse(msg))
	return res
}

// verify is Verify of a message already split; it also returns the chain
// it parsed (nil when its structure is wrong), for Seal to sign on.
func verify(ctx context.Context, r authres.TXTResolver, p *parsed) (Result, *chain) {
	c, highest, err := parseChainOf(p)
	res := Result{Instance: highest}
	failed := func(err error) (Result, *chain) {
		res.Status, res.Reason = Fail, err.Error()
		res.Temporary = errors.Is(err, errTemporary)
		return res, c
	}
	if err != nil {
		return failed(err) // step 4: the structure is wrong
	}
	if len(c.sets) == 0 {
		res.Status = None // step 2
		return res, c
	}
	n := len(c.sets)
	if err := checkKeyCount(c.sets); err != nil {
		return failed(err)
	}
	// Step 3: a chain sealed as failed stays failed, and ends.
	if strings.EqualFold(authres.NoSpace(c.sets[n-1].asTags["cv"]), Fail) {
		res.Ended = true
		return failed(fmt.Errorf("ARC-Seal i=%d says cv=fail", n))
	}
	// Step 4: cv=none at i=1, cv=pass after it.
	for i, s := range c.sets {
		want := Pass
		if i == 0 {
			want = None
		}
		if cv := strings.ToLower(authres.NoSpace(s.asTags["cv"])); cv != want {
			return failed(fmt.Errorf("ARC-Seal i=%d has cv=%s, not %s", i+1, cv, want))
		}
		if _, ok := s.asTags["h"]; ok {
			return failed(fmt.Errorf("ARC-Seal i=%d has an h= tag (RFC 8617 §4.1.3)", i+1))
		}
	}
	// Step 5: the latest AMS (the older ones may have been broken by
	// changes the later sealers vouched for, §5.2 step 6 is optional).
	if err := verifyAMS(ctx, r, p, c.sets[n-1]); err != nil {
		return failed(fmt.Errorf("ARC-Message-Signature i=%d: %w", n, err))
	}
	// Step 7: every seal, newest first.
	for i := n; i >= 1; i-- {
		if err := verifySeal(ctx, r, c.sets[:i]); err != nil {
			return failed(fmt.Errorf("ARC-Seal i=%d: %w", i, err))
		}
	}
	res.Status = Pass
	res.OldestPass = oldestPass(ctx, r, p, c.sets)
	for i, s := range c.sets {
		res.Sets = append(res.Sets, authres.ARCSet{Instance: i + 1,
			Sealer: strings.ToLower(authres.NoSpace(s.asTags["d"])), Selector: authres.NoSpace(s.asTags["s"]), Results: aarPayload(s.aar)})
	}
	return res, c
}

// oldestPass is §5.2 step 6: the AMS of the sets before the newest are
// validated from the newest down; the answer is the oldest instance of
// that unbroken run, 0 when every AMS validates.
func oldestPass(ctx context.Context, r authres.TXTResolver, p *parsed, sets []set) int {
	for i := len(sets) - 1; i >= 1; i-- {
		if verifyAMS(ctx, r, p, sets[i-1]) != nil {
			return i + 1
		}
	}
	return 0
}

// checkKeyCount fails a chain naming more than MaxKeys distinct keys.
func checkKeyCount(sets []set) error {
	keys := map[string]bool{}
	for _, s := range sets {
		for _, tags := range []map[string]string{s.amsTags, s.asTags} {
			keys[strings.ToLower(authres.NoSpace(tags["s"])+"._domainkey."+authres.NoSpace(tags["d"]))] = true
		}
	}
	if len(keys) > MaxKeys {
		return fmt.Errorf("the chain names %d keys, more than the %d verified per message", len(keys), MaxKeys)
	}
	return nil
}

// aarPayload is an AAR's value after its instance tag (§4.1.1): the
// authserv-id and the results, as in Authentication-Results.
func aarPayload(raw string) string {
	_, v, _ := strings.Cut(raw, ":")
	_, rest, _ := strings.Cut(v, ";")
	return strings.TrimSpace(rest)
}

// verifyAMS checks an ARC-Message-Signature as a DKIM signature
// (§4.1.2): no l=, h= never naming ARC-Seal.
func verifyAMS(ctx context.Context, r authres.TXTResolver, p *parsed, s set) error {
	tags := s.amsTags
	if _, ok := tags["l"]; ok {
		return errors.New("l= is not allowed")
	}
	headerCan, bodyCan := "relaxed", "relaxed"
	if c := strings.ToLower(authres.NoSpace(tags["c"])); c != "" {
		h, b, ok := strings.Cut(c, "/")
		if !ok {
			b = "simple" // RFC 6376 §3.5: "relaxed" alone is relaxed/simple
		}
		headerCan, bodyCan = h, b
	}
	for _, can := range []string{headerCan, bodyCan} {
		if can != "simple" && can != "relaxed" {
			return fmt.Errorf("unknown canonicalization %q", tags["c"])
		}
	}
	names := strings.Split(authres.NoSpace(tags["h"]), ":")
	from := false
	for _, n := range names {
		if strings.EqualFold(n, AS) {
			return errors.New("h= names ARC-Seal (RFC 8617 §4.1.2)")
		}
		from = from || strings.EqualFold(n, "From")
	}
	if !from {
		return errors.New("h= does not name From (RFC 6376 §5.4)")
	}
	if !equalBase64(p.bodyHash(bodyCan), tags["bh"]) {
		return errors.New("body hash did not verify")
	}
	start := -1
	for _, f := range p.fields {
		if string(p.msg[f.Start:f.End]) == s.ams {
			start = f.Start
		}
	}
	signed := pickFields(p.msg, p.fields, names, start)
	return checkSignature(ctx, r, tags, digest(signed, s.ams, headerCan))
}

// verifySeal checks the ARC-Seal of the last of sets, which signs every
// set up to its own (§5.1.1).
func verifySeal(ctx context.Context, r authres.TXTResolver, sets []set) error {
	last := sets[len(sets)-1]
	return checkSignature(ctx, r, last.asTags, digest(sealInput(sets), last.as, "relaxed"))
}

// sealInput is what an ARC-Seal signs before itself (§5.1.1): the sets in
// increasing instance, each AAR, AMS, AS; of the last set only its AAR
// and AMS, its AS being the signature field.
func sealInput(sets []set) []string {
	var out []string
	for i, s := range sets {
		out = append(out, s.aar, s.ams)
		if i < len(sets)-1 {
			out = append(out, s.as)
		}
	}
	return out
}
