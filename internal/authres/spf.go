package authres

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"blitiri.com.ar/go/spf"
)

// SPF is the result of one SPF check (RFC 7208).
type SPF struct {
	Result   string // none, neutral, pass, fail, softfail, temperror, permerror (§2.6)
	Identity string // "mailfrom", or "helo" when MAIL FROM was <> (§2.3)
	Domain   string // the domain checked: MAIL FROM's, or the HELO name
	Sender   string // <sender> as checked: MAIL FROM, or postmaster@HELO (§2.4)
	Helo     string
	IP       netip.Addr
	Problem  string // why, for temperror and permerror
}

// CheckSPF runs check_host() (RFC 7208 §4) for the envelope sender, or
// for the HELO identity when MAIL FROM is the null path (§2.3: "<>" is
// checked as "postmaster@" the HELO name, §2.4). The library keeps the
// limits of §4.6.4: 10 mechanisms and modifiers that look up DNS, 2 void
// lookups, 10 MX or PTR names each; redirect loops end at the lookup limit.
func CheckSPF(ctx context.Context, r Resolver, ip netip.Addr, helo, mailFrom string) SPF {
	res := SPF{Identity: "mailfrom", Sender: mailFrom, Helo: helo, IP: ip}
	if mailFrom == "" {
		res.Identity, res.Sender = "helo", "postmaster@"+helo
	}
	_, res.Domain, _ = strings.Cut(res.Sender, "@")
	if res.Identity == "helo" && (helo == "" || strings.HasPrefix(helo, "[")) {
		// §2.3: an address literal or an empty HELO is no domain to check.
		res.Result = string(spf.None)
		return res
	}
	rec := &recordingResolver{netErrors: netErrors{r}, macros: spfMacros{sender: res.Sender, helo: helo, ip: ip.Unmap()}}
	r0, err := spf.CheckHostWithSender(net.IP(ip.Unmap().AsSlice()), helo, res.Sender,
		spf.WithContext(ctx), spf.WithResolver(rec))
	res.Result = string(r0)
	if err != nil && (r0 == spf.TempError || r0 == spf.PermError) {
		res.Problem = err.Error()
	}
	// §4.6: a syntax error anywhere in a record the evaluation fetched is
	// a permerror, even after a mechanism matched.
	for _, txt := range rec.records {
		if err := checkSPFSyntax(txt); err != nil {
			res.Result, res.Problem = string(spf.PermError), "syntax: "+err.Error()
			break
		}
	}
	return res
}

// recordingResolver notes the SPF records the library fetches (§4.5: the
// TXT strings starting "v=spf1" followed by a space or nothing).
type recordingResolver struct {
	netErrors
	macros  spfMacros // for hideSlashes
	records []string
	slashed map[string]string // hideSlashes's stand-in names → the names they stand for
}

func (r *recordingResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txts, err := r.netErrors.LookupTXT(ctx, name)
	var spfs []string
	for _, t := range txts {
		if l := strings.ToLower(t); l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			spfs = append(spfs, t)
		}
	}
	if len(spfs) == 1 { // more than one is the library's permerror already
		r.records = append(r.records, spfs[0])
		if rewritten := r.hideSlashes(spfs[0], name); rewritten != spfs[0] {
			out := make([]string, 0, len(txts))
			for _, t := range txts {
				if t == spfs[0] {
					t = rewritten
				}
				out = append(out, t)
			}
			txts = out
		}
	}
	return txts, err
}

// slashNames is the suffix of the stand-in names hideSlashes makes:
// .invalid never resolves (RFC 6761 §6.4), so no real name is shadowed.
const slashNames = ".slash.mailgate.invalid"

// hideSlashes rewrites, for the library's eyes only, the a, mx and exists
// mechanisms whose domain-spec holds a "/" it cannot read. §7.1 lets a
// domain-spec hold any visible character but "%" outside a macro, "/"
// included, and "/" is a macro delimiter; the dual-cidr-length of a and
// mx is only what ends the term (§5.3, §5.4). blitiri.com.ar/go/spf reads
// the first "/" as the start of a cidr-length ("a:foo/bar.example",
// "a:%{l/}.example/24") and refuses any "/" in a name to expand
// ("exists:%{l/}.example"), giving permerror. The domain-spec becomes a
// stand-in name that LookupIPAddr and LookupMX map back to the name it
// stands for: the literal name, or for a macro-string its expansion
// (§7.3) for the record of domain, the <domain> its %{d} means. So the
// lookup, its count (§4.6.4) and its answer are the record's own, and the
// cidr-length stays on the term for the library to apply to the answer.
// A record with a syntax error, or a macro the expansion refuses, is left
// as it is (permerror either way).
func (r *recordingResolver) hideSlashes(rec, domain string) string {
	if !strings.Contains(rec, "/") || checkSPFSyntax(rec) != nil {
		return rec
	}
	terms := strings.Split(rec, " ")
	changed := false
	for i, t := range terms {
		qual := ""
		if t != "" && strings.ContainsAny(t[:1], "+-?~") {
			qual, t = t[:1], t[1:]
		}
		name, spec, cidr := "", "", ""
		if n, sp, c, ok := splitDomainMechanism(t); ok && strings.HasPrefix(sp, ":") {
			name, spec, cidr = n, sp[1:], c[0]
		} else if len(t) > len("exists:") && strings.EqualFold(t[:len("exists:")], "exists:") {
			name, spec = t[:len("exists")], t[len("exists:"):]
		}
		if !strings.Contains(spec, "/") {
			continue
		}
		target, err := r.macros.expand(spec, domain)
		if err != nil {
			continue
		}
		if r.slashed == nil {
			r.slashed = map[string]string{}
		}
		standIn := fmt.Sprintf("n%d%s", len(r.slashed), slashNames)
		r.slashed[standIn] = target
		terms[i] = qual + name + ":" + standIn + cidr
		changed = true
	}
	if !changed {
		return rec
	}
	return strings.Join(terms, " ")
}

// unhide maps a stand-in name of hideSlashes back to the record's.
func (r *recordingResolver) unhide(name string) string {
	if orig, ok := r.slashed[strings.ToLower(strings.TrimSuffix(name, "."))]; ok {
		return orig
	}
	return name
}

func (r *recordingResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	return r.netErrors.LookupIPAddr(ctx, r.unhide(host))
}

func (r *recordingResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	return r.netErrors.LookupMX(ctx, r.unhide(name))
}
