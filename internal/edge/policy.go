package edge

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gaissmai/bart"

	"mailgate/internal/store"
)

// SMTPPort is the only port OP25B ever filters. RFC 5068 §3.2: providers
// MUST NOT block 587; RFC 8314 §3.3 extends that to 465.
const SMTPPort = 25

// poolEntry is what a pool prefix's LPM hit carries.
type poolEntry struct {
	Pool    string
	Prefix  netip.Prefix
	Dynamic bool
	Added   time.Time
}

// carrierEntry is one resolved destination of a carrier set.
type carrierEntry struct {
	Carrier string
	Prefix  netip.Prefix
	Via     string // "" for a configured prefix, else "MX host of domain"
}

// Policy is the store's policy compiled for one moment: the scope in force
// and the exemptions not yet expired. It is immutable and safe for
// concurrent use; recompile at NextChange.
type Policy struct {
	At       time.Time
	Scope    string
	ScopeSet time.Time // when the scope in force took effect; zero: default
	Action   string
	Version  int64

	pools    *bart.Fast[int32]
	poolInfo []poolEntry
	exempt   *bart.Table[int32]
	exInfo   []store.Exemption
	relays   *bart.Table[int32]
	relInfo  []netip.Prefix
	carriers *bart.Table[int32]
	carInfo  []carrierEntry

	schedule   []store.ScopeChange
	nextChange time.Time

	// kernel view
	Dyn4, Dyn6, Exempt4, Exempt6, Relay4, Relay6, Carrier4, Carrier6 []Range

	fastOnce sync.Once
	fast     *fastPath
	poolOnce sync.Once

	listedOnce sync.Once
	listed     []ListedPrefix
	listedLPM  *bart.Table[int32]
}

// poolTable is the LPM table over every pool prefix, built on first use:
// apply and render work from the ranges alone.
func (p *Policy) poolTable() *bart.Fast[int32] {
	p.poolOnce.Do(func() {
		p.pools = new(bart.Fast[int32])
		for i, e := range p.poolInfo {
			p.pools.Insert(e.Prefix, int32(i))
		}
	})
	return p.pools
}

// MXHost is a carrier domain's mail host with its addresses.
type MXHost struct {
	Host  string
	Addrs []netip.Addr
}

// Compile builds the policy in force at `at`. mx maps carrier domains to
// their resolved MX hosts (see ResolveCarriers); domains missing from it
// contribute nothing until resolved.
func Compile(snap *store.EdgeSnapshot, mx map[string][]MXHost, at time.Time) *Policy {
	p := &Policy{
		At: at, Scope: store.ScopeAll, Action: snap.Action, Version: snap.Version,
		exempt: new(bart.Table[int32]),
		relays: new(bart.Table[int32]), carriers: new(bart.Table[int32]),
		schedule: slices.Clone(snap.Schedule),
	}
	if p.Action == "" {
		p.Action = store.ActionReset
	}
	slices.SortFunc(p.schedule, func(a, b store.ScopeChange) int { return a.From.Compare(b.From) })
	for _, c := range p.schedule {
		if !c.From.After(at) {
			p.Scope, p.ScopeSet = c.Scope, c.From
		} else if p.nextChange.IsZero() {
			p.nextChange = c.From
		}
	}
	labeled := make([]Labeled, 0, len(snap.Prefixes))
	p.poolInfo = make([]poolEntry, 0, len(snap.Prefixes))
	for _, pp := range snap.Prefixes {
		dyn := pp.Kind == store.PoolDynamic
		p.poolInfo = append(p.poolInfo, poolEntry{pp.Pool, pp.Prefix, dyn, pp.Added})
		labeled = append(labeled, Labeled{pp.Prefix, dyn})
	}
	p.Dyn4, p.Dyn6 = SelectedRanges(labeled)

	var exPfx []netip.Prefix
	for _, e := range snap.Exemptions {
		if !e.Until.IsZero() {
			if !e.Until.After(at) {
				continue // expired
			}
			if p.nextChange.IsZero() || e.Until.Before(p.nextChange) {
				p.nextChange = e.Until
			}
		}
		p.exempt.Insert(e.Prefix, int32(len(p.exInfo)))
		p.exInfo = append(p.exInfo, e)
		exPfx = append(exPfx, e.Prefix)
	}
	p.Exempt4, p.Exempt6 = Union(exPfx)

	var relPfx []netip.Prefix
	for _, r := range snap.Relays {
		p.relays.Insert(r.Prefix, int32(len(p.relInfo)))
		p.relInfo = append(p.relInfo, r.Prefix)
		relPfx = append(relPfx, r.Prefix)
	}
	p.Relay4, p.Relay6 = Union(relPfx)

	var carPfx []netip.Prefix
	addCarrier := func(ce carrierEntry) {
		if _, ok := p.carriers.Get(ce.Prefix); ok {
			return
		}
		p.carriers.Insert(ce.Prefix, int32(len(p.carInfo)))
		p.carInfo = append(p.carInfo, ce)
		carPfx = append(carPfx, ce.Prefix)
	}
	for _, c := range snap.Carriers {
		switch c.Kind {
		case store.CarrierPrefix:
			if pfx, err := netip.ParsePrefix(c.Entry); err == nil {
				addCarrier(carrierEntry{c.Name, pfx, ""})
			}
		case store.CarrierDomain:
			for _, h := range mx[c.Entry] {
				for _, a := range h.Addrs {
					a = a.Unmap()
					addCarrier(carrierEntry{c.Name, netip.PrefixFrom(a, a.BitLen()), "MX " + h.Host + " of " + c.Entry})
				}
			}
		}
	}
	p.Carrier4, p.Carrier6 = Union(carPfx)
	return p
}

// NextChange is when the policy must be recompiled: the next scheduled
// scope change or exemption expiry; zero if none.
func (p *Policy) NextChange() time.Time { return p.nextChange }

// Expiring returns the exemptions in force that have an expiry, soonest
// first: each is a scheduled change of the policy too.
func (p *Policy) Expiring() []store.Exemption {
	var out []store.Exemption
	for _, e := range p.exInfo {
		if !e.Until.IsZero() {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b store.Exemption) int { return a.Until.Compare(b.Until) })
	return out
}

// Schedule returns the scope changes, oldest first.
func (p *Policy) Schedule() []store.ScopeChange { return slices.Clone(p.schedule) }

// Step names the rule that settled a decision, in evaluation order.
type Step uint8

const (
	StepPort   Step = iota // not TCP 25: never filtered
	StepNoPool             // source is in none of our pools
	StepStatic             // longest match is a static pool
	StepExempt             // source has an exemption
	StepRelay              // destination is one of our relays
	StepScope              // phase 1 and the destination is no carrier
	StepBlock              // dynamic source, port 25, foreign destination
)

// Decision is the outcome of Evaluate; Explain turns it into the reason
// chain.
type Decision struct {
	Block   bool
	Step    Step
	pool    int32
	exempt  int32
	relay   int32
	carrier int32
}

// Verdict is the outcome of Decide.
type Verdict bool

const (
	Allow Verdict = false
	Block Verdict = true
)

func (v Verdict) String() string {
	if v == Block {
		return "block"
	}
	return "allow"
}

// Decide is the hot path: the verdict for a TCP connection attempt from
// src to dst on port, without reasons. It allocates nothing and agrees
// with Evaluate (tests hold the two and the kernel sets to each other).
func (p *Policy) Decide(src, dst netip.Addr, port uint16) Verdict {
	if port != SMTPPort {
		return Allow
	}
	// Built on first use: apply and render never need it.
	p.fastOnce.Do(func() { p.fast = newFastPath(p) })
	return Verdict(p.fast.block(src.Unmap(), dst.Unmap()))
}

// Evaluate applies the policy step by step, in the same order as the
// kernel ruleset: exemption, relay, scope, then the dynamic-pool block,
// remembering what matched so Explain can name it.
func (p *Policy) Evaluate(src, dst netip.Addr, port uint16) (d Decision) {
	d = Decision{pool: -1, exempt: -1, relay: -1, carrier: -1}
	defer countDecision(&d)
	if port != SMTPPort {
		d.Step = StepPort
		return d
	}
	src, dst = src.Unmap(), dst.Unmap()
	pi, ok := p.poolTable().Lookup(src)
	if !ok {
		d.Step = StepNoPool
		return d
	}
	d.pool = pi
	if !p.poolInfo[pi].Dynamic {
		d.Step = StepStatic
		return d
	}
	if ei, ok := p.exempt.Lookup(src); ok {
		d.exempt, d.Step = ei, StepExempt
		return d
	}
	if ri, ok := p.relays.Lookup(dst); ok {
		d.relay, d.Step = ri, StepRelay
		return d
	}
	if p.Scope == store.ScopeCarriers {
		ci, ok := p.carriers.Lookup(dst)
		if !ok {
			d.Step = StepScope
			return d
		}
		d.carrier = ci
	}
	d.Block, d.Step = true, StepBlock
	return d
}

// Phase names the scope the way the rollout announcements do: phase 1
// blocks only carrier-bound mail, phase 2 all of it.
func Phase(scope string) string {
	if scope == store.ScopeCarriers {
		return "phase 1"
	}
	return "phase 2"
}

// Explain returns the reason chain of a decision, one line per step.
func (p *Policy) Explain(src, dst netip.Addr, port uint16, d Decision) []string {
	var out []string
	if d.Step == StepPort {
		return []string{fmt.Sprintf("port %d is not filtered: OP25B applies to TCP 25 only (587 and 465 are never filtered, RFC 5068 §3.2, RFC 8314)", port)}
	}
	out = append(out, "port 25: OP25B applies")
	if d.Step == StepNoPool {
		return append(out, fmt.Sprintf("source %s is in none of our subscriber pools", src))
	}
	pe := p.poolInfo[d.pool]
	kind := store.PoolStatic
	if pe.Dynamic {
		kind = store.PoolDynamic
	}
	out = append(out, fmt.Sprintf("source %s matches pool %s (%s) via %s (longest prefix)", src, pe.Pool, kind, pe.Prefix))
	if d.Step == StepStatic {
		return append(out, "static pools are not filtered")
	}
	if d.Step == StepExempt {
		e := p.exInfo[d.exempt]
		line := fmt.Sprintf("exemption %s: %s (by %s, %s", e.Prefix, e.Reason, e.Actor, e.Created.UTC().Format("2006-01-02"))
		if !e.Until.IsZero() {
			line += ", until " + e.Until.UTC().Format(time.RFC3339)
		}
		return append(out, line+")")
	}
	out = append(out, "no exemption for the source")
	if d.Step == StepRelay {
		return append(out, fmt.Sprintf("destination %s is our relay %s", dst, p.relInfo[d.relay]))
	}
	out = append(out, fmt.Sprintf("destination %s is not one of our relays", dst))
	scope := "scope " + p.Scope + " (" + Phase(p.Scope)
	if !p.ScopeSet.IsZero() {
		scope += " since " + p.ScopeSet.UTC().Format(time.RFC3339)
	} else {
		scope += ", the default"
	}
	scope += ")"
	if ci, ok := p.carriers.Lookup(dst); ok && d.carrier < 0 {
		d.carrier = ci // phase 2 skips the lookup; the reason still names it
	}
	if d.carrier >= 0 {
		c := p.carInfo[d.carrier]
		via := c.Prefix.String()
		if c.Via != "" {
			via = c.Via
		}
		out = append(out, fmt.Sprintf("destination is in carrier set %s (%s)", c.Carrier, via))
	} else if p.Scope == store.ScopeCarriers {
		out = append(out, "destination is in no carrier set")
	}
	out = append(out, scope)
	if d.Step == StepScope {
		return append(out, "phase 1 blocks only carrier-bound port 25")
	}
	return append(out, "action "+p.Action)
}

// Check is Decide plus Explain: the library call behind `mailgate edge
// check`, the subscriber self-check and the admin API.
func (p *Policy) Check(src, dst netip.Addr, port uint16) (block bool, reasons []string) {
	d := p.Evaluate(src, dst, port)
	return d.Block, p.Explain(src.Unmap(), dst.Unmap(), port, d)
}

// FormatCheck is the CLI form: "allow" or "block", then the reasons.
func FormatCheck(block bool, reasons []string) string {
	var b strings.Builder
	b.WriteString(Verdict(block).String() + "\n")
	for _, r := range reasons {
		b.WriteString("  " + r + "\n")
	}
	return b.String()
}
