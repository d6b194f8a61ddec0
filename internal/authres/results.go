package authres

import (
	"fmt"
	"strings"
)

// Results is what one message was judged on, for the header fields.
type Results struct {
	AuthservID string // our ADMD's name (RFC 8601 §2.5): the host name by default
	SPF        SPF
	DKIM       []DKIM  // none: dkim=none
	DMARC      []DMARC // one per From domain
	ARC        *ARC    // nil: the chain was not checked
}

// AuthenticationResults renders the Authentication-Results field (RFC 8601
// §2.2), one result per folded line, without the final CRLF:
//
//	Authentication-Results: mx.example.net;
//		spf=pass smtp.mailfrom=alice@example.org;
//		dkim=pass header.d=example.org header.i=@example.org header.s=sel header.a=rsa-sha256 header.b=AbCdEfGh1234;
//		arc=none;
//		dmarc=pass (p=reject) header.from=example.org
//
// Every value from the message or the client is quoted or stripped of
// what could end the field (control characters, CR, LF), so nothing a
// sender writes can add a field or a result of its own.
func (r *Results) AuthenticationResults() string {
	var lines []string
	s := r.SPF
	if s.Result != "" {
		parts := []string{"spf=" + s.Result}
		if s.Problem != "" {
			parts = append(parts, reason(s.Problem))
		}
		if s.Identity == "helo" {
			parts = append(parts, "smtp.helo="+pvalue(s.Helo))
		} else {
			parts = append(parts, "smtp.mailfrom="+pvalue(s.Sender))
		}
		lines = append(lines, fold(parts))
	}
	if len(r.DKIM) == 0 {
		lines = append(lines, "dkim=none")
	}
	for _, d := range r.DKIM {
		parts := []string{"dkim=" + d.Result}
		if d.Reason != "" {
			parts = append(parts, reason(d.Reason))
		}
		for _, p := range [][2]string{{"header.d", d.Domain}, {"header.i", d.Identifier}, {"header.s", d.Selector}, {"header.a", d.Algorithm}, {"header.b", first(d.Signature, 12)}} {
			if p[1] != "" {
				parts = append(parts, p[0]+"="+pvalue(p[1]))
			}
		}
		lines = append(lines, fold(parts))
	}
	if r.ARC != nil {
		lines = append(lines, r.ARC.resinfo())
	}
	for _, d := range r.DMARC {
		parts := []string{"dmarc=" + d.Result}
		if d.Reason != "" {
			parts = append(parts, reason(d.Reason))
		}
		switch {
		case d.TrustedSealer != "":
			// The result stays fail (it is what DMARC found); the
			// comment says why the policy was not applied.
			parts = append(parts, comment(fmt.Sprintf("p=%s dis=none; overridden: arc=pass from trusted sealer %s", d.Policy, d.TrustedSealer)))
		case d.Policy != "":
			parts = append(parts, comment(fmt.Sprintf("p=%s dis=%s", d.Policy, d.Disposition)))
		}
		lines = append(lines, fold(append(parts, "header.from="+pvalue(d.From))))
	}
	id := value(r.AuthservID)
	if len(lines) == 0 {
		return "Authentication-Results: " + id + "; none"
	}
	return "Authentication-Results: " + id + ";\r\n\t" + strings.Join(lines, ";\r\n\t")
}

// fold joins a result's parts with spaces, starting a continuation line
// (RFC 5322 §2.2.3; CFWS may stand between a result's parts, RFC 8601
// §2.2) before a line would pass 78 octets.
func fold(parts []string) string {
	var b strings.Builder
	line := 0
	for i, p := range parts {
		switch {
		case i == 0:
		case line+1+len(p) > 78:
			b.WriteString("\r\n\t ")
			line = 2
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(p)
		line += len(p)
	}
	return b.String()
}

// ReceivedSPF renders the Received-SPF field (RFC 7208 §9.1), without
// the final CRLF.
func ReceivedSPF(s SPF, receiver string) string {
	var why string
	switch s.Result {
	case "pass":
		why = fmt.Sprintf("domain of %s designates %s as permitted sender", s.Sender, s.IP)
	case "fail", "softfail":
		why = fmt.Sprintf("domain of %s does not designate %s as permitted sender", s.Sender, s.IP)
	case "neutral":
		why = fmt.Sprintf("%s is neither permitted nor denied by domain of %s", s.IP, s.Sender)
	case "none":
		why = fmt.Sprintf("domain of %s does not publish SPF", s.Sender)
	default:
		why = fmt.Sprintf("error in processing during lookup of %s", s.Sender)
	}
	f := "Received-SPF: " + s.Result + " " + comment(clean(receiver)+": "+why) + "\r\n\t" +
		fold([]string{"receiver=" + kv(receiver) + ";", "client-ip=" + kv(s.IP.String()) + ";", "helo=" + kv(s.Helo) + ";",
			"envelope-from=" + kv(s.Sender) + ";", "identity=" + s.Identity + ";"})
	if s.Problem != "" {
		f += "\r\n\tproblem=" + quoted(first(s.Problem, 200)) + ";"
	}
	return f
}

func first(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// clean drops control characters (CR and LF among them), so a value
// cannot end the field early (RFC 5322 §2.2).
// Values are cut at 255 octets: SMTP's own bound for a domain or a path
// (RFC 5321 §4.5.3.1), so every line stays far below 998 octets.
func clean(s string) string {
	s = strings.ToValidUTF8(first(s, 255), "?")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

func reason(s string) string {
	if s == "" {
		return ""
	}
	return "reason=" + quoted(first(s, 200))
}

// quoted is an RFC 5322 quoted-string.
func quoted(s string) string {
	s = clean(s)
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// comment is an RFC 5322 comment: parentheses and backslashes escaped.
func comment(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`).Replace(clean(s))
	return "(" + s + ")"
}

// isToken reports whether s is an RFC 2045 token: printable ASCII without
// space or tspecials.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// value is RFC 2045's value: a token, or else a quoted-string.
func value(s string) string {
	// Nothing a sender names is longer than a domain or an address (255);
	// quoted() cuts it, so no line of ours passes 998 octets (RFC 5322).
	if len(s) <= 255 && isToken(s) {
		return s
	}
	return quoted(s)
}

// pvalue (RFC 8601 §2.2) is a value or an address-like [local-part] "@"
// domain: a plain dot-atom address stays bare, anything else is quoted.
func pvalue(s string) string {
	if len(s) > 255 {
		return quoted(s)
	}
	if isToken(s) {
		return s
	}
	local, domain, ok := strings.Cut(s, "@")
	if ok && (local == "" || isDotAtom(local)) && isDotAtom(domain) {
		return s
	}
	return quoted(s)
}

// isDotAtom: RFC 5322 §3.2.3 dot-atom-text.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) < 0 {
			return false
		}
	}
	return true
}

// kv is a Received-SPF key-value (RFC 7208 §9.1): dot-atom or quoted-string.
// A value longer than any domain or path (a 3 KB HELO) is quoted, which
// cuts it at 255 octets, as value and pvalue do.
func kv(s string) string {
	if len(s) <= 255 && isDotAtom(s) {
		return s
	}
	return quoted(s)
}
