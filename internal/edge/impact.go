package edge

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"io"
	"net/netip"
	"slices"
	"time"

	"mailgate/internal/store"
)

// impactChunk is how many flows are decided together: DecideBatch's
// groups of 16 overlap their cache misses, and a chunk this size keeps
// the per-call overhead out of the count.
const impactChunk = 4096

// PolicyChange is a change of the policy not yet made, for `edge impact`:
// the scope replaced (from the what-if moment), pool prefixes added or
// moved to another pool, exemptions added or dropped.
type PolicyChange struct {
	Scope          string
	Pools          []store.PoolPrefix // a prefix already in a pool is moved
	AddExemptions  []netip.Prefix
	DropExemptions []netip.Prefix // each must be an exemption of the store
}

// IsZero reports whether c changes nothing.
func (c PolicyChange) IsZero() bool {
	return c.Scope == "" && len(c.Pools) == 0 && len(c.AddExemptions) == 0 && len(c.DropExemptions) == 0
}

// WhatIf compiles the policy of snap as it will be at `at` with c made:
// `edge impact --at/--scope/--pools/--exempt/--unexempt`. A replaced scope
// takes effect at `at`, so the reasons date it then. snap is not changed.
func WhatIf(snap *store.EdgeSnapshot, mx map[string][]MXHost, at time.Time, c PolicyChange) (*Policy, error) {
	s := *snap
	if c.Scope != "" {
		s.Schedule = []store.ScopeChange{{From: at, Scope: c.Scope}}
		for _, sc := range snap.Schedule {
			if sc.From.After(at) {
				s.Schedule = append(s.Schedule, sc)
			}
		}
	}
	if len(c.Pools) > 0 {
		moved := map[netip.Prefix]bool{}
		for _, pp := range c.Pools {
			moved[pp.Prefix] = true
		}
		s.Prefixes = slices.DeleteFunc(slices.Clone(snap.Prefixes), func(pp store.PoolPrefix) bool { return moved[pp.Prefix] })
		s.Prefixes = append(s.Prefixes, c.Pools...)
	}
	if len(c.DropExemptions)+len(c.AddExemptions) > 0 {
		drop := map[netip.Prefix]bool{}
		for _, d := range c.DropExemptions {
			if !slices.ContainsFunc(snap.Exemptions, func(e store.Exemption) bool { return e.Prefix == d }) {
				return nil, fmt.Errorf("%s is not an exemption (see edge exempt list)", d)
			}
			drop[d] = true
		}
		s.Exemptions = slices.DeleteFunc(slices.Clone(snap.Exemptions), func(e store.Exemption) bool { return drop[e.Prefix] })
		for _, a := range c.AddExemptions {
			s.Exemptions = append(s.Exemptions, store.Exemption{Prefix: a, Reason: "what-if (edge impact)", Actor: "what-if", Created: at})
		}
	}
	return Compile(&s, mx, at), nil
}

// ImpactOptions shape an impact report.
type ImpactOptions struct {
	Top int // sources listed per table; 0: none
	// Subscriber names who held an address at a moment (RADIUS
	// accounting); nil or "-" when unknown.
	Subscriber func(ip netip.Addr, at time.Time) string
	// Now dates flows without a time of their own, for Subscriber.
	Now time.Time
}

// Impact is `edge impact`: what a policy would block of the flows read,
// and, given a second policy, what changes between the two.
type Impact struct {
	Format    FlowFormat     `json:"format"`
	Flows     uint64         `json:"flows"`      // every flow read
	TCP25     uint64         `json:"tcp25"`      // TCP flows to port 25
	Malformed int            `json:"malformed"`  // lines skipped
	Errors    []LineError    `json:"errors"`     // the first few of them
	Now       ImpactSide     `json:"now"`        // the policy in force now
	Then      *ImpactSide    `json:"then"`       // the what-if policy, if any
	ToBlocked *VerdictChange `json:"to_blocked"` // allowed now, blocked then
	ToAllowed *VerdictChange `json:"to_allowed"` // blocked now, allowed then
	// Warnings are the carrier domains that did not resolve: flows to
	// their MX hosts count by the carriers' prefixes only.
	Warnings []string `json:"warnings,omitempty"`
}

// ImpactSide is one policy's verdicts on the flows.
type ImpactSide struct {
	At           time.Time   `json:"at"`
	Scope        string      `json:"scope"`
	Phase        string      `json:"phase"`
	Blocked      uint64      `json:"blocked"`      // flows
	Sources      int         `json:"sources"`      // distinct blocked sources
	Destinations int         `json:"destinations"` // distinct destinations of blocked flows
	Top          []SourceRow `json:"top"`
}

// VerdictChange is the flows whose verdict differs between the two policies.
type VerdictChange struct {
	Flows   uint64      `json:"flows"`
	Sources int         `json:"sources"`
	Top     []SourceRow `json:"top"`
}

// SourceRow is one source of a top list: how many of its flows, to how
// many destinations, its pool, who held it, and the reason chain (the
// slow path, Check) for one of its flows (the lowest destination) under
// the policy that blocks it (for ToAllowed: the one that allows it).
type SourceRow struct {
	Source       netip.Addr `json:"source"`
	Flows        uint64     `json:"flows"`
	Destinations int        `json:"destinations"`
	Pool         string     `json:"pool"`
	Subscriber   string     `json:"subscriber"`
	Example      netip.Addr `json:"example_destination"`
	Reasons      []string   `json:"reasons"`
}

// tally counts one set of flows by source and destination. The distinct
// source-destination pairs are kept as 64-bit hashes, a third of the
// memory of the pairs themselves at millions of flows; a collision (odds
// about n²/2⁶⁵ for n pairs) would count a source one destination short.
type tally struct {
	flows uint64
	src   map[netip.Addr]*srcCount
	dst   map[netip.Addr]struct{}
	pairs map[uint64]struct{}
	seed  maphash.Seed
}

type srcCount struct {
	flows   uint64
	dsts    int
	example netip.Addr
	last    time.Time
}

func newTally() *tally {
	return &tally{src: map[netip.Addr]*srcCount{}, dst: map[netip.Addr]struct{}{}, pairs: map[uint64]struct{}{}, seed: maphash.MakeSeed()}
}

func (t *tally) add(f *Flow) {
	t.flows++
	s := t.src[f.Src]
	if s == nil {
		s = &srcCount{example: f.Dst}
		t.src[f.Src] = s
	}
	s.flows++
	if f.Dst.Less(s.example) {
		s.example = f.Dst // the lowest: the same whatever order the flows come in
	}
	if f.Seen.After(s.last) {
		s.last = f.Seen
	}
	t.dst[f.Dst] = struct{}{}
	if h := maphash.Comparable(t.seed, [2]netip.Addr{f.Src, f.Dst}); !has(t.pairs, h) {
		t.pairs[h] = struct{}{}
		s.dsts++
	}
}

func has(m map[uint64]struct{}, k uint64) bool { _, ok := m[k]; return ok }

// ReplayImpact reads every flow of fr and decides the TCP/25 ones with
// now's fast path (DecideBatch), and with then's when then is not nil.
// Only the sources listed get the slow path's reasons.
func ReplayImpact(fr *FlowReader, now, then *Policy, o ImpactOptions) (*Impact, error) {
	im := &Impact{Errors: []LineError{}}
	nowT, thenT := newTally(), newTally()
	toB, toA := newTally(), newTally()
	chunk := make([]Flow, 0, impactChunk)
	srcs := make([]netip.Addr, impactChunk)
	dsts := make([]netip.Addr, impactChunk)
	vNow := make([]Verdict, impactChunk)
	vThen := make([]Verdict, impactChunk)
	decide := func() {
		n := len(chunk)
		for i := range chunk {
			srcs[i], dsts[i] = chunk[i].Src, chunk[i].Dst
		}
		now.DecideBatch(srcs[:n], dsts[:n], SMTPPort, vNow)
		if then != nil {
			then.DecideBatch(srcs[:n], dsts[:n], SMTPPort, vThen)
		}
		for i := range chunk {
			f := &chunk[i]
			if vNow[i] == Block {
				nowT.add(f)
			}
			if then == nil {
				continue
			}
			if vThen[i] == Block {
				thenT.add(f)
			}
			switch {
			case vNow[i] == Allow && vThen[i] == Block:
				toB.add(f)
			case vNow[i] == Block && vThen[i] == Allow:
				toA.add(f)
			}
		}
		chunk = chunk[:0]
	}
	for {
		f, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		im.Flows++
		if !f.TCP || f.Port != SMTPPort {
			continue // never filtered (RFC 5068 §3.2, RFC 8314 §3.3)
		}
		im.TCP25++
		chunk = append(chunk, f)
		if len(chunk) == impactChunk {
			decide()
		}
	}
	decide()
	im.Format, im.Malformed = fr.Format(), fr.Malformed
	im.Errors = append(im.Errors, fr.Errors...)
	im.Now = side(now, nowT, now, o)
	if then != nil {
		s := side(then, thenT, then, o)
		im.Then = &s
		im.ToBlocked = change(toB, then, o)
		im.ToAllowed = change(toA, then, o)
	}
	return im, nil
}

func side(p *Policy, t *tally, why *Policy, o ImpactOptions) ImpactSide {
	return ImpactSide{At: p.At.UTC(), Scope: p.Scope, Phase: Phase(p.Scope), Blocked: t.flows,
		Sources: len(t.src), Destinations: len(t.dst), Top: top(t, why, o)}
}

func change(t *tally, why *Policy, o ImpactOptions) *VerdictChange {
	return &VerdictChange{Flows: t.flows, Sources: len(t.src), Top: top(t, why, o)}
}

// top lists t's sources with the most flows (ties: lower address first),
// each with the reasons why gives for its example flow.
func top(t *tally, why *Policy, o ImpactOptions) []SourceRow {
	rows := make([]SourceRow, 0, len(t.src))
	for a, s := range t.src {
		rows = append(rows, SourceRow{Source: a, Flows: s.flows, Destinations: s.dsts, Example: s.example})
	}
	// Most first, then by address.
	slices.SortFunc(rows, func(a, b SourceRow) int { return cmp.Or(cmp.Compare(b.Flows, a.Flows), a.Source.Compare(b.Source)) })
	rows = rows[:min(len(rows), max(o.Top, 0))]
	for i := range rows {
		r := &rows[i]
		r.Pool = "-"
		if pool, _, _, ok := why.Lookup(r.Source); ok {
			r.Pool = pool
		}
		_, r.Reasons = why.Check(r.Source, r.Example, SMTPPort)
		r.Subscriber = "-"
		if o.Subscriber != nil {
			at := t.src[r.Source].last
			if at.IsZero() {
				at = o.Now
			}
			r.Subscriber = o.Subscriber(r.Source, at)
		}
	}
	return rows
}
