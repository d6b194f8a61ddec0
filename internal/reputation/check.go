// Package reputation judges where inbound mail comes from, before it is
// received: DNS block lists (RFC 5782), dynamic (end-user) address space
// talking straight to our MX (IP25B, the receiving side of OP25B: other
// ISPs' imported feeds, PBL-style list answers, our own dynamic pools) and
// the client's reverse DNS. The worst sources are refused; the rest get a
// score that the message carries (X-Mailgate-Reputation) and later stages
// read (verdict note "reputation").
package reputation

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/dns"
	"mailgate/internal/edge"
	"mailgate/internal/store"
	"mailgate/internal/verdict"
)

// Scores added by the checks that only score (rDNS always; dynamic space
// and lists when configured to score).
const (
	ScoreNoPTR       = 2.0
	ScoreUnconfirmed = 1.5
	ScoreGeneric     = 1.0
	ScoreDynamic     = 3.0
)

// Checker runs every check for an address.
type Checker struct {
	cfg      config.Reputation
	lists    []*List
	resolver dns.Resolver
	spaces   *spaces // nil without a store
	log      *slog.Logger

	mu   sync.Mutex
	memo map[netip.Addr]memoEntry // the last report per client, for the message stage
}

type memoEntry struct {
	r  *Report
	at time.Time
}

const (
	memoTTL  = 10 * time.Minute
	memoSize = 10000
)

// New builds a checker. resolver answers the rDNS questions and the lists
// without servers of their own; dnsTimeout is the per-query timeout of
// lists that have. st may be nil: no imported ranges, no own pools.
func New(cfg config.Reputation, resolver dns.Resolver, dnsTimeout time.Duration, st *store.Store, log *slog.Logger) (*Checker, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &Checker{cfg: cfg, resolver: resolver, log: log, memo: map[netip.Addr]memoEntry{}}
	for _, lc := range cfg.DNSBL {
		l, err := newList(lc, resolver, dnsTimeout)
		if err != nil {
			return nil, err
		}
		c.lists = append(c.lists, l)
	}
	if st != nil {
		c.spaces = &spaces{st: st, recheck: 2 * time.Second}
	}
	return c, nil
}

// Check runs every check for the client: the lists and the rDNS lookups
// in parallel, each bounded by dnsbl_timeout.
func (c *Checker) Check(ctx context.Context, client *verdict.Client) *Report {
	ip := client.IP.Unmap()
	rep := &Report{IP: ip}
	var answers []Answer
	var rd RDNS
	var wg sync.WaitGroup
	if len(c.lists) > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); answers = lookupAll(ctx, c.lists, ip, c.cfg.DNSBLTimeout) }()
	}
	if c.cfg.RDNS != config.RDNSOff {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(ctx, c.cfg.DNSBLTimeout)
			defer cancel()
			rd = lookupRDNS(rctx, c.resolver, ip, client.RDNS)
		}()
	}
	wg.Wait()

	var dynamic []string // why the client is in dynamic space, most specific first
	for _, a := range answers {
		rep.add(c.listFinding(ip, a))
		if a.Dynamic {
			dynamic = append(dynamic, "listed by "+a.List.Zone)
		}
	}
	c.dynamicFindings(ctx, rep, client, dynamic)
	if c.cfg.RDNS != config.RDNSOff {
		rep.add(c.rdnsFinding(ip, rd))
	}
	return rep
}

func (c *Checker) listFinding(ip netip.Addr, a Answer) Finding {
	f := Finding{Check: "dnsbl " + a.List.Zone}
	switch {
	case a.Err != nil:
		f.Result = "no answer (" + a.Err.Error() + "): not listed"
	case a.Listed:
		f.Result = "listed (" + joinAddrs(a.Codes) + ")"
		if a.List.Reject {
			// RFC 5321 §4.2.2, Postfix's reject_rbl_client wording.
			f.Reply = &verdict.Reply{Code: 554, Enhanced: [3]int{5, 7, 1},
				Text: fmt.Sprintf("Service unavailable; client [%s] blocked using %s; see %s", ip, a.List.Zone, a.List.lookupURL(ip))}
			f.Result += ": reject"
		} else {
			f.Score = a.List.Score
			f.Result += fmt.Sprintf(": score %g", a.List.Score)
		}
	case a.Dynamic:
		f.Result = "dynamic address space (" + joinAddrs(a.Codes) + ")"
	case len(a.Ignored) > 0:
		f.Result = "not listed (ignored answers " + joinAddrs(a.Ignored) + ": error codes or codes not configured)"
	default:
		f.Result = "not listed"
	}
	return f
}

// dynamicFindings reports dynamic (end-user) space: our own pools for an
// unauthenticated client, other ISPs' imported ranges, and PBL-style list
// answers (in dynamic). One refusal or one score for all of them.
func (c *Checker) dynamicFindings(ctx context.Context, rep *Report, client *verdict.Client, dynamic []string) {
	own := ""
	if c.spaces != nil {
		ranges, policy := c.readSpaces(ctx)
		dynamic = importedFinding(rep, ranges, dynamic)
		own = c.ownPoolFinding(rep, client, policy)
	}
	c.dynamicFinding(rep, own, dynamic)
}

// readSpaces returns the imported ranges and our edge policy, the last
// ones read when the store fails.
func (c *Checker) readSpaces(ctx context.Context) (*Ranges, *edge.Policy) {
	ranges, policy, err := c.spaces.get(ctx)
	if err != nil {
		c.log.Warn("reputation: reading imported ranges and pools failed; using the last ones read", "err", err)
	}
	return ranges, policy
}

// importedFinding reports whether the client is in another ISP's imported
// dynamic range; dynamic, the reasons found so far, gets that reason first
// (the most specific).
func importedFinding(rep *Report, ranges *Ranges, dynamic []string) []string {
	if list, prefix, ok := ranges.Lookup(rep.IP); ok {
		rep.add(Finding{Check: "ip25b", Result: fmt.Sprintf("dynamic range %s of imported list %s", prefix, list)})
		return append([]string{fmt.Sprintf("%s, list %s", prefix, list)}, dynamic...)
	}
	rep.add(Finding{Check: "ip25b", Result: "in no imported dynamic range"})
	return dynamic
}

// ownPoolFinding reports an unauthenticated client in one of our own
// dynamic pools, and returns which ("" when it is not).
func (c *Checker) ownPoolFinding(rep *Report, client *verdict.Client, policy *edge.Policy) string {
	if !c.cfg.OwnPools {
		rep.add(Finding{Check: "own pools", Result: "not checked (own_pools = false)"})
		return ""
	}
	if policy == nil {
		return ""
	}
	pool, prefix, ok := policy.Listed(rep.IP)
	switch {
	case ok && client.Account != "":
		rep.add(Finding{Check: "own pools", Result: fmt.Sprintf("our dynamic pool %s (%s), but authenticated as %s", pool, prefix, client.Account)})
	case ok:
		own := fmt.Sprintf("our dynamic pool %s (%s)", pool, prefix)
		rep.add(Finding{Check: "own pools", Result: own + ", unauthenticated"})
		return own
	default:
		rep.add(Finding{Check: "own pools", Result: "in none of our dynamic pools (or exempted)"})
	}
	return ""
}

// dynamicFinding judges a client found in dynamic space (own: our pool
// holding it; dynamic: the other reasons), as the dynamic setting says.
func (c *Checker) dynamicFinding(rep *Report, own string, dynamic []string) {
	if own == "" && len(dynamic) == 0 {
		return
	}
	f := Finding{Check: "dynamic"}
	switch c.cfg.Dynamic {
	case config.ActionOff:
		f.Result = "dynamic address space, not judged (dynamic = \"off\")"
	case config.ActionScore:
		f.Result, f.Score = fmt.Sprintf("dynamic address space: score %g", ScoreDynamic), ScoreDynamic
	default:
		f.Result = "dynamic address space: reject"
		f.Reply = c.dynamicReply(rep.IP, own, dynamic)
	}
	rep.add(f)
}

// dynamicReply tells a sender in end-user space how to send instead: a
// provider's submission service (RFC 6409, port 587 with authentication;
// RFC 5068 §3.1: end users submit, they do not relay to MX hosts).
// The page named is our web self-check (check_url), where a subscriber
// sees what our edge does to its connection.
func (c *Checker) dynamicReply(ip netip.Addr, own string, why []string) *verdict.Reply {
	r := &verdict.Reply{Code: 550, Enhanced: [3]int{5, 7, 1}}
	if own != "" {
		r.Text = fmt.Sprintf("Client [%s] is in %s: send through our submission service (port 587 or 465 with authentication), not port 25", ip, own)
	} else {
		r.Text = fmt.Sprintf("Client [%s] is in dynamic (end-user) address space (%s): send through your provider's submission service (port 587 with authentication)", ip, why[0])
	}
	if c.cfg.CheckURL != "" {
		r.Text += "; see " + c.cfg.CheckURL
	}
	return r
}

func (c *Checker) rdnsFinding(ip netip.Addr, rd RDNS) Finding {
	f := Finding{Check: "rdns"}
	reject := func(text string) {
		// RFC 7372 §3.3: 5.7.25, reverse DNS validation failed.
		f.Reply = &verdict.Reply{Code: 550, Enhanced: [3]int{5, 7, 25}, Text: text}
		f.Result += ": reject"
	}
	switch {
	case rd.Err != nil && rd.Confirmed == "":
		f.Result = "lookup failed (" + rd.Err.Error() + "): not judged"
		return f
	case len(rd.PTR) == 0:
		f.Result, f.Score = fmt.Sprintf("no PTR record: score %g", ScoreNoPTR), ScoreNoPTR
		if c.cfg.RDNS == config.RDNSRejectMissing || c.cfg.RDNS == config.RDNSRejectUnconfirmed {
			reject(fmt.Sprintf("Client [%s] has no reverse DNS (PTR) record", ip))
		}
	case rd.Confirmed == "":
		f.Result, f.Score = fmt.Sprintf("PTR %s does not resolve back to %s: score %g", strings.Join(rd.PTR, ", "), ip, ScoreUnconfirmed), ScoreUnconfirmed
		if c.cfg.RDNS == config.RDNSRejectUnconfirmed {
			reject(fmt.Sprintf("Client [%s]: reverse DNS name %s does not resolve back to the address", ip, rd.PTR[0]))
		}
	default:
		f.Result = "PTR " + rd.Confirmed + ", forward-confirmed"
	}
	if rd.Generic != "" {
		f.Score += ScoreGeneric
		f.Result += fmt.Sprintf("; generic name, %s: score %g", rd.Generic, ScoreGeneric)
	}
	return f
}
