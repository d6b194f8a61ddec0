package authres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"

	"mailgate/internal/dns"
)

// DMARC is the DMARC verdict on one From domain (RFC 7489 §6.6).
type DMARC struct {
	Result string // pass, fail, none, temperror, permerror (RFC 8601 §2.7.6 / RFC 7489 §11.2)
	From   string // the RFC5322.From domain
	// Policy is the domain owner's request that applies to this message:
	// p=, or sp= when the record was found at the organizational domain
	// (§6.6.3); "" when there is no record.
	Policy string
	// Disposition is what the policy asks for this message after pct=
	// sampling: "none", "quarantine" or "reject" (§6.6.4); "none" unless
	// Result is fail.
	Disposition string
	SPFAligned  bool
	DKIMAligned bool
	Reason      string
	// PolicyDomain is where the record was found: the From domain or
	// its organizational domain (§6.6.3); Record is that record, for
	// aggregate reports (§7.2: policy_published, rua=). Both are empty
	// when there is no usable record.
	PolicyDomain string
	Record       *dmarc.Record
	// TrustedSealer, set on a fail, is the trusted ARC sealer whose
	// results we applied instead of the policy (RFC 7489 §6.7, RFC 8617
	// §7.2): the message was accepted as if DMARC had passed.
	TrustedSealer string
}

// OrgDomain is the organizational domain (RFC 7489 §3.2): the public
// suffix of the name plus one label, from the public suffix list; the
// name itself when it is a public suffix or cannot be read.
func OrgDomain(domain string) string {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return org
}

// aligned applies §3.1.1/§3.1.2: strict means the same name, relaxed the
// same organizational domain.
func aligned(a, b string, mode dmarc.AlignmentMode) bool {
	a, b = strings.ToLower(strings.TrimSuffix(a, ".")), strings.ToLower(strings.TrimSuffix(b, "."))
	if a == "" || b == "" {
		return false
	}
	if mode == dmarc.AlignmentStrict {
		return a == b
	}
	return OrgDomain(a) == OrgDomain(b)
}

// errNoRecord is "no usable DMARC record at this name" (§6.6.3 steps 2-3).
var errNoRecord = errors.New("no DMARC record")

// parseDMARCRecords picks and parses the DMARC record among a name's TXT
// records (§6.6.3): strings not starting with "v=DMARC1" are not DMARC
// records; more than one DMARC record means none applies ("If the
// remaining set contains multiple records or no records, policy
// discovery terminates and DMARC processing is not applied").
func parseDMARCRecords(txts []string) (*dmarc.Record, error) {
	var recs []string
	for _, t := range txts {
		// §6.4: v=DMARC1 first, exactly; white space around "=" allowed.
		v, _, _ := strings.Cut(t, ";")
		if k, val, ok := strings.Cut(v, "="); ok && strings.TrimSpace(k) == "v" && strings.TrimSpace(val) == "DMARC1" {
			recs = append(recs, t)
		}
	}
	if len(recs) != 1 {
		return nil, errNoRecord
	}
	rec, err := dmarc.Parse(recs[0])
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// lookupDMARC fetches the record for name: the record, errNoRecord, a
// syntax error, or a temporary DNS error (wrapped).
func lookupDMARC(ctx context.Context, r Resolver, name string) (*dmarc.Record, error) {
	txts, err := r.LookupTXT(ctx, "_dmarc."+name)
	if dns.IsNotFound(err) {
		return nil, errNoRecord
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errTemporary, err)
	}
	return parseDMARCRecords(txts)
}

var errTemporary = errors.New("temporary DNS error")

// CheckDMARC evaluates RFC 7489 for one From domain given the SPF and
// DKIM results. sample returns a number in [0, 100) for pct= (§6.6.4).
func CheckDMARC(ctx context.Context, r Resolver, from string, spfRes SPF, dkims []DKIM, sample func() int) DMARC {
	from = strings.ToLower(strings.TrimSuffix(from, "."))
	res := DMARC{From: from, Disposition: "none"}
	// §6.6.3 policy discovery: the From domain, then its organizational
	// domain, whose sp= then applies.
	rec, err := lookupDMARC(ctx, r, from)
	atOrg := false
	if errors.Is(err, errNoRecord) {
		if org := OrgDomain(from); org != from {
			rec, err = lookupDMARC(ctx, r, org)
			atOrg = true
		}
	}
	switch {
	case errors.Is(err, errNoRecord):
		res.Result = "none"
		return res
	case errors.Is(err, errTemporary):
		res.Result, res.Reason = "temperror", err.Error()
		return res
	case err != nil:
		res.Result, res.Reason = "permerror", err.Error()
		return res
	}
	res.Policy = string(rec.Policy)
	res.PolicyDomain, res.Record = from, rec
	if atOrg {
		res.PolicyDomain = OrgDomain(from)
	}
	if atOrg && rec.SubdomainPolicy != "" {
		res.Policy = string(rec.SubdomainPolicy)
	}

	// §4.2: pass when SPF or DKIM passes for an aligned identifier.
	res.SPFAligned = spfRes.Result == "pass" && aligned(spfRes.Domain, from, rec.SPFAlignment)
	for _, d := range dkims {
		if d.Result == "pass" && aligned(d.Domain, from, rec.DKIMAlignment) {
			res.DKIMAligned = true
		}
	}
	if res.SPFAligned || res.DKIMAligned {
		res.Result = "pass"
		return res
	}
	// An aligned identifier we could not check might have passed.
	if spfRes.Result == "temperror" && aligned(spfRes.Domain, from, rec.SPFAlignment) {
		res.Result, res.Reason = "temperror", "SPF temperror for an aligned domain"
		return res
	}
	for _, d := range dkims {
		if d.Result == "temperror" && aligned(d.Domain, from, rec.DKIMAlignment) {
			res.Result, res.Reason = "temperror", "DKIM key unavailable for an aligned domain"
			return res
		}
	}
	res.Result = "fail"
	res.Disposition = res.Policy
	// §6.3 pct: the policy applies to that share of failing mail; the
	// rest gets the next weaker one (reject → quarantine → none).
	if rec.Percent != nil && *rec.Percent < 100 && sample() >= *rec.Percent {
		switch res.Disposition {
		case "reject":
			res.Disposition = "quarantine"
		case "quarantine":
			res.Disposition = "none"
		}
		res.Reason = fmt.Sprintf("pct=%d: not sampled", *rec.Percent)
	}
	return res
}

// ErrNoDMARCRecord is LookupDMARC's answer for a name without one usable
// DMARC record (§6.6.3).
var ErrNoDMARCRecord = errNoRecord

// LookupDMARC fetches and parses the DMARC record at _dmarc.name, as the
// MX does: the record, ErrNoDMARCRecord, a syntax error, or a temporary
// DNS error. The aggregate report job reads policy_published and rua=
// from it (RFC 7489 §7.2).
func LookupDMARC(ctx context.Context, r Resolver, name string) (*dmarc.Record, error) {
	return lookupDMARC(ctx, r, strings.ToLower(strings.TrimSuffix(name, ".")))
}

// IsTemporary reports whether err from LookupDMARC is a DNS failure
// worth trying again.
func IsTemporary(err error) bool { return errors.Is(err, errTemporary) }
