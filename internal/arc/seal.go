package arc

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mailgate/internal/authres"
	"mailgate/internal/dkim"
	"mailgate/internal/message"
)

// ErrTemporary: the incoming chain could not be validated for now (a
// previous sealer's key did not resolve); sealing it as failed would end
// a chain that may be good, so the caller tries again later.
var ErrTemporary = errors.New("arc: chain validation failed for now")

// Sealer adds our ARC set to a message we forward (RFC 8617 §5.1).
type Sealer struct {
	// Domain, Selector and Key sign (d=, s=): a DKIM key of ours.
	Domain, Selector string
	Key              crypto.Signer
	// AuthservID is our ADMD's name: the Authentication-Results field
	// our MX added, which the AAR copies, carries it (RFC 8601 §2.5).
	AuthservID string
	// DNS fetches the keys of the sealers before us.
	DNS authres.TXTResolver
	// Now is the clock of t=; nil is time.Now.
	Now func() time.Time
}

// Seal validates msg's chain and returns our set to prepend to it (the
// ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results fields,
// in that order from the top, each with its CRLF) and what the
// validation found. It returns "" when no set may be added: the latest
// seal already says cv=fail (§5.1 step 1), or the message has 50 sets
// (§4.2.1). msg is the message exactly as it goes out, CRLF line ends.
func (s *Sealer) Seal(ctx context.Context, msg []byte) (string, Result, error) {
	// One split of the message, and one chain parse, serve the
	// validation and our set (the chain's sets are what our seal signs).
	p := parse(msg)
	res, c := verify(ctx, s.DNS, p)
	if res.Temporary {
		return "", res, fmt.Errorf("%w: %s", ErrTemporary, res.Reason)
	}
	if res.Ended || res.Instance >= MaxInstance {
		return "", res, nil
	}
	algo, err := algorithm(s.Key)
	if err != nil {
		return "", res, err
	}
	n := res.Instance + 1
	inst := strconv.Itoa(n)
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := strconv.FormatInt(now().Unix(), 10)
	fields := p.fields
	aar := AAR + ": i=" + inst + "; " + s.results(msg, fields, res) + "\r\n"

	// §4.1.2: the AMS is a DKIM signature without i= of an AUID and
	// without l=, here relaxed/relaxed, over the fields DKIM signs
	// (never an ARC field or Authentication-Results) and the
	// DKIM-Signature fields present.
	names := dkim.SignedFields()
	for _, f := range fields {
		if strings.EqualFold(f.Name, "DKIM-Signature") {
			names = append(names, "DKIM-Signature")
		}
	}
	amsHead := fold(AMS, [][2]string{{"i", inst}, {"a", algo}, {"c", "relaxed/relaxed"}, {"d", s.Domain},
		{"s", s.Selector}, {"t", t}, {"h", strings.ToLower(strings.Join(names, ":"))}, {"bh", p.bodyHash("relaxed")}})
	b, err := sign(s.Key, digest(pickFields(msg, fields, names, -1), amsHead, "relaxed"))
	if err != nil {
		return "", res, err
	}
	ams := withB(amsHead, b)

	// §4.1.3, §5.1.1: the seal signs every set, ours last; after a
	// failed chain only ours (§5.1.2), as if it were the only one.
	asHead := fold(AS, [][2]string{{"i", inst}, {"a", algo}, {"cv", res.Status}, {"d", s.Domain}, {"s", s.Selector}, {"t", t}})
	var sets []set
	if res.Status != Fail {
		sets = c.sets // valid: verify passed or found none
	}
	sets = append(sets, set{aar: aar, ams: ams, as: asHead})
	if b, err = sign(s.Key, digest(sealInput(sets), asHead, "relaxed")); err != nil {
		return "", res, err
	}
	return withB(asHead, b) + ams + aar, res, nil
}

// results is the AAR's payload after i= (§4.1.1): our authserv-id and the
// results of the Authentication-Results field our MX added (the topmost
// with our authserv-id: the fields of others' are not ours to vouch for),
// folded as it was, and the chain's validation as arc= (RFC 8617
// registers the method) when the message had one. Mail that came in without our
// MX's field (submitted by a subscriber, or [auth] off) has "none".
func (s *Sealer) results(msg []byte, fields []message.Field, res Result) string {
	payload := ""
	for _, f := range fields {
		if strings.EqualFold(f.Name, "Authentication-Results") && strings.EqualFold(authres.AuthservID(f.Value(msg)), s.AuthservID) {
			_, v, _ := strings.Cut(string(msg[f.Start:f.End]), ":")
			v = strings.TrimRight(v, "\r\n")
			if _, rest, ok := strings.Cut(v, ";"); ok {
				payload = withoutARC(strings.Trim(rest, " \t\r\n"))
			}
			break
		}
	}
	if payload == "" || strings.EqualFold(payload, "none") {
		payload = "none"
		if res.Status != None {
			payload = ""
		}
	}
	if res.Status != None {
		if payload != "" {
			payload += ";\r\n\t"
		}
		payload += authres.ARCResult(res.Status, res.Reason)
	}
	return s.AuthservID + ";\r\n\t" + payload
}

// withoutARC drops the arc result our MX wrote from the results it
// copies: the AAR states the chain as this seal's cv= does, validated now
// (appended by results), and a second arc result would contradict it
// when the two differ.
func withoutARC(payload string) string {
	var kept []string
	for _, r := range strings.Split(payload, ";\r\n\t") {
		// Our MX renders one result per line (authres.Results).
		if m, _, _ := strings.Cut(r, "="); strings.EqualFold(strings.TrimSpace(m), "arc") {
			continue
		}
		kept = append(kept, r)
	}
	return strings.Join(kept, ";\r\n\t")
}
