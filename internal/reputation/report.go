package reputation

import (
	"fmt"
	"net/netip"
	"strings"

	"mailgate/internal/verdict"
)

// Finding is one check's outcome.
type Finding struct {
	Check  string  // "dnsbl zen.example", "ip25b", "own pools", "rdns"
	Result string  // what was found, in words
	Score  float64 // added to the client's score
	// Reply is the refusal this finding calls for; only the first one
	// found (lists, then dynamic space, then rDNS) is given.
	Reply *verdict.Reply
}

// Report is every verdict on one client address.
type Report struct {
	IP       netip.Addr
	Score    float64
	Refusal  *verdict.Reply // the first of the findings' replies; nil: accepted
	Findings []Finding
}

func (r *Report) add(f Finding) {
	r.Score += f.Score
	if r.Refusal == nil && f.Reply != nil {
		r.Refusal = f.Reply
	}
	r.Findings = append(r.Findings, f)
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// Format is the `mailgate reputation check` form: "accept" or "reject"
// with the reply, the score, then every finding.
func (r *Report) Format() string {
	var b strings.Builder
	if r.Refusal != nil {
		b.WriteString("reject " + r.Refusal.String() + "\n")
	} else {
		b.WriteString("accept\n")
	}
	fmt.Fprintf(&b, "  score %g\n", r.Score)
	for _, f := range r.Findings {
		b.WriteString("  " + f.Check + ": " + f.Result + "\n")
	}
	return b.String()
}

// FieldName names the header field carrying the client's score.
const FieldName = "X-Mailgate-Reputation"

// Field is the X-Mailgate-Reputation header field: the score, then the
// findings that scored or refused.
func (r *Report) Field() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: score=%g", FieldName, r.Score)
	for _, f := range r.Findings {
		if f.Score != 0 {
			b.WriteString("; " + f.Check + ": " + f.Result)
		}
	}
	return sanitizeField(b.String())
}

// sanitizeField keeps DNS-supplied text (PTR names) from breaking the
// header: no control characters, at most 900 octets (RFC 5322 §2.1.1).
func sanitizeField(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r > 0x7e {
			return '?'
		}
		return r
	}, s)
	if len(s) > 900 {
		s = s[:900]
	}
	return s
}
