package authres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/mail"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"mailgate/internal/message"
	"mailgate/internal/verdict"
)

// Policy is what the operator decides about the results ([auth]).
type Policy struct {
	// AuthservID names our ADMD in Authentication-Results (RFC 8601
	// §2.5); fields claiming it are removed from incoming mail (§5).
	AuthservID string
	// Receiver is this host's name, for Received-SPF's receiver=.
	Receiver string
	// TempError is "defer" (451, the sender tries again) or "accept"
	// (deliver, the temperror recorded) when a DNS failure leaves the
	// verdict open.
	TempError string
	// DMARCReject is "reject" (550 5.7.1) or "quarantine" (Junk) for mail
	// failing DMARC under p=reject.
	DMARCReject string
	// SPFFailReject refuses SPF "fail" (550 5.7.23) unless DMARC passes;
	// off, SPF fail is recorded and left to DMARC (RFC 7489 §10.1).
	SPFFailReject bool
	// Timeout bounds all DNS work for one message (RFC 7208 §4.6.4: at
	// least 20 seconds for SPF).
	Timeout time.Duration
	// ARCTrustedSealers are the ARC sealers (ARC-Seal d=, lower case)
	// whose results may stand in for a failed DMARC check (trustedARC).
	ARCTrustedSealers []string
}

// Stage is the MX's authentication stage: SPF, DKIM, DMARC, the
// Authentication-Results and Received-SPF fields, forged results removed.
// Later stages find the results as notes: "spf" (SPF), "dkim" ([]DKIM),
// "dmarc" ([]DMARC), "arc" (ARC, when checked).
type Stage struct {
	Resolver Resolver
	Policy
	// ARC validates the message's ARC chain (package arc's Validate); nil
	// checks none and writes no arc result.
	ARC ARCVerifier
	// Sample draws pct= samples in [0, 100); nil is math/rand.
	Sample func() int
	// Reports, when set, counts each judged message for DMARC aggregate
	// reports (RFC 7489 §7.2); it must be cheap (in memory).
	Reports Recorder
}

// Recorder takes the DMARC results of one message for aggregate reports:
// applied is the disposition we applied per entry of dmarc and why, when
// it differs from the policy's (§7.2, "PolicyOverrideType").
type Recorder interface {
	RecordDMARC(ip netip.Addr, spf SPF, dkim []DKIM, dmarc []DMARC, applied []Applied)
}

// Applied is the disposition the receiver applied to one From domain;
// Override is a PolicyOverrideType and Comment its comment (RFC 7489
// Appendix C).
type Applied struct{ Disposition, Override, Comment string }

func (s *Stage) Name() string { return "auth" }

// CheckMessage implements verdict.MessageStage.
func (s *Stage) CheckMessage(ctx context.Context, c *verdict.Client, m *verdict.Message, so *verdict.Verdict) verdict.Result {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sample := s.Sample
	if sample == nil {
		sample = func() int { return rand.IntN(100) }
	}

	res := Results{AuthservID: s.AuthservID}
	res.SPF = CheckSPF(ctx, s.Resolver, c.IP, c.Helo, m.From)
	res.DKIM = VerifyDKIM(ctx, s.Resolver, m.Body)
	if s.ARC != nil {
		// The same resolver (and DNS cache) as DKIM's: a sealer's key is
		// often its DKIM key too, fetched once.
		a := s.ARC(ctx, s.Resolver, m.Body)
		a.RemoteIP = c.IP
		res.ARC = &a
		so.Note("arc", a)
	}
	body, forged := RemoveForged(m.Body, s.AuthservID)
	for _, d := range fromDomains(body) {
		if d == "" {
			res.DMARC = append(res.DMARC, DMARC{Result: "permerror", Reason: "no usable From address", Disposition: "none"})
			continue
		}
		dm := CheckDMARC(ctx, s.Resolver, d, res.SPF, res.DKIM, sample)
		if dm.Result == "fail" && (dm.Disposition == "reject" || dm.Disposition == "quarantine") {
			dm.TrustedSealer = trustedARC(res.ARC, s.ARCTrustedSealers, dm)
		}
		res.DMARC = append(res.DMARC, dm)
	}
	so.Note("spf", res.SPF)
	so.Note("dkim", res.DKIM)
	so.Note("dmarc", res.DMARC)

	out := verdict.Result{
		Fields:     []string{res.AuthenticationResults(), ReceivedSPF(res.SPF, s.Receiver)},
		Unverified: res.SPF.Result == "fail" || dmarcFailed(res.DMARC),
		Log:        []any{"spf", res.SPF.Result, "dkim", dkimSummary(res.DKIM), "dmarc", dmarcSummary(res.DMARC)},
	}
	if res.ARC != nil {
		out.Log = append(out.Log, "arc", res.ARC.Result)
	}
	if forged > 0 {
		out.Body = body
		out.Log = append(out.Log, "forged_authres_removed", forged)
	}
	out.Reply, out.Junk = s.decide(&res)
	if s.Reports != nil {
		applied := make([]Applied, len(res.DMARC))
		for i, d := range res.DMARC {
			applied[i] = s.applied(d, res.ARC)
		}
		s.Reports.RecordDMARC(c.IP, res.SPF, res.DKIM, res.DMARC, applied)
	}
	return out
}

// applied is what decide does with one domain's verdict: p=reject is kept
// as quarantine when the operator chose so ("local_policy", RFC 7489
// Appendix C); a trusted ARC sealer's results stand in for the policy
// ("trusted_forwarder", with the sealer in the comment as receivers
// write it: arc=pass as[N].d=... as[N].s=...).
func (s *Stage) applied(d DMARC, a *ARC) Applied {
	if d.TrustedSealer != "" {
		last := a.Sets[len(a.Sets)-1]
		return Applied{Disposition: "none", Override: "trusted_forwarder",
			Comment: fmt.Sprintf("arc=pass as[%d].d=%s as[%d].s=%s", last.Instance, last.Sealer, last.Instance, last.Selector)}
	}
	if d.Disposition == "reject" && s.DMARCReject == "quarantine" {
		return Applied{Disposition: "quarantine", Override: "local_policy"}
	}
	if d.Result == "fail" && d.Disposition != d.Policy && d.Policy != "" {
		return Applied{Disposition: d.Disposition, Override: "sampled_out"}
	}
	return Applied{Disposition: d.Disposition}
}

// decide turns the results into a refusal or a Junk delivery.
func (s *Stage) decide(res *Results) (*verdict.Reply, bool) {
	junk, dmarcPass, dmarcTemp := false, len(res.DMARC) > 0, false
	for _, d := range res.DMARC {
		// A trusted ARC sealer's pass counts as a pass (RFC 7489 §6.7).
		dmarcPass = dmarcPass && (d.Result == "pass" || d.TrustedSealer != "")
		dmarcTemp = dmarcTemp || d.Result == "temperror"
		if d.TrustedSealer != "" {
			continue
		}
		switch d.Disposition {
		case "reject":
			// RFC 7489 §6.6.4/§10.3: refuse during the SMTP session,
			// 550 5.7.1, rather than bounce afterwards.
			if s.DMARCReject != "quarantine" {
				return &verdict.Reply{Code: 550, Enhanced: [3]int{5, 7, 1},
					Text: "Message refused: the DMARC policy of " + d.From + " asks receivers to reject mail that fails authentication"}, false
			}
			junk = true
		case "quarantine":
			junk = true
		}
	}
	if s.TempError == "defer" && !dmarcPass {
		// RFC 7208 §8.6: a temperror may be refused with 451; RFC 7372
		// §3.2 gives SPF's its own enhanced code.
		if res.SPF.Result == "temperror" {
			return &verdict.Reply{Code: 451, Enhanced: [3]int{4, 7, 24},
				Text: "SPF check of " + res.SPF.Domain + " failed temporarily (DNS); try again later"}, false
		}
		if dmarcTemp {
			return &verdict.Reply{Code: 451, Enhanced: [3]int{4, 7, 5},
				Text: "DMARC check failed temporarily (DNS); try again later"}, false
		}
	}
	if s.SPFFailReject && res.SPF.Result == "fail" && !dmarcPass {
		return &verdict.Reply{Code: 550, Enhanced: [3]int{5, 7, 23},
			Text: "SPF: " + res.SPF.Domain + " does not permit " + res.SPF.IP.String() + " to send its mail"}, false
	}
	return nil, junk
}

// fromDomains returns the distinct domains of the From addresses (RFC
// 7489 §6.6.1: each is evaluated and the strictest outcome applies); a ""
// entry stands for a From field that is missing or unreadable.
func fromDomains(msg []byte) []string {
	h, err := message.Header(msg)
	if err != nil {
		return []string{""}
	}
	var out []string
	seen := map[string]bool{}
	vals := h.Values("From")
	if len(vals) == 0 {
		return []string{""}
	}
	for _, v := range vals {
		var domains []string
		if list, err := mail.ParseAddressList(v); err == nil {
			for _, a := range list {
				_, d, _ := strings.Cut(a.Address, "@")
				domains = append(domains, d)
			}
		} else {
			// A display name the parser cannot read (an unknown charset
			// in an encoded word) must not hide the domain from DMARC.
			for _, m := range addrDomain.FindAllStringSubmatch(v, -1) {
				domains = append(domains, m[1])
			}
		}
		if len(domains) == 0 {
			domains = []string{""}
		}
		for _, d := range domains {
			d = strings.ToLower(strings.TrimSuffix(d, "."))
			if !seen[d] {
				out, seen[d] = append(out, d), true
			}
		}
	}
	return out
}

// addrDomain finds the domain of each addr-spec in a From value.
var addrDomain = regexp.MustCompile(`@([A-Za-z0-9.-]+)\s*(?:>|,|$)`)

func dkimSummary(ds []DKIM) string {
	if len(ds) == 0 {
		return "none"
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Result + ":" + d.Domain
	}
	return strings.Join(parts, ",")
}

func dmarcSummary(ds []DMARC) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Result + ":" + d.From + ":" + d.Disposition
		if d.TrustedSealer != "" {
			parts[i] += ":overridden-by-arc:" + d.TrustedSealer
		}
	}
	return strings.Join(parts, ",")
}

// StripForged is the submission side of RFC 8601 §5: a subscriber's
// message may not carry Authentication-Results in our name either (it
// would reach local recipients as if we had judged it).
type StripForged struct{ AuthservID string }

func (s StripForged) Name() string { return "authres-strip" }

// CheckMessage implements verdict.MessageStage.
func (s StripForged) CheckMessage(_ context.Context, _ *verdict.Client, m *verdict.Message, _ *verdict.Verdict) verdict.Result {
	body, n := RemoveForged(m.Body, s.AuthservID)
	if n == 0 {
		return verdict.Result{}
	}
	return verdict.Result{Body: body, Log: []any{"forged_authres_removed", n}}
}

// dmarcFailed reports whether any From domain's DMARC check failed: the
// sender is then not who the message claims (RFC 7489 §6.6.2).
func dmarcFailed(ds []DMARC) bool {
	for _, d := range ds {
		if d.Result == "fail" && d.TrustedSealer == "" {
			return true
		}
	}
	return false
}
