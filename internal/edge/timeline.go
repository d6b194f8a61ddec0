package edge

import (
	"time"

	"mailgate/internal/config"
	"mailgate/internal/store"
)

// Timeline is `edge plan`: the scope and action in force at a policy's
// moment and the changes to come (scheduled scope changes, exemption
// expiries). The CLI prints it and the API returns it, so both say the same.
type Timeline struct {
	At         time.Time        `json:"at"`
	Scope      string           `json:"scope"`
	Phase      string           `json:"phase"`
	Action     string           `json:"action"`
	Changes    []TimelineChange `json:"changes"`  // every scheduled scope change, oldest first
	Expiring   []TimelineExpiry `json:"expiring"` // exemptions in force with an expiry, soonest first
	NextChange *time.Time       `json:"next_change,omitempty"`
	Defaulted  bool             `json:"defaulted"` // no schedule at all: scope all (phase 2)
}

// TimelineChange is one scheduled scope change; State is "past", "in
// force" or "upcoming".
type TimelineChange struct {
	From  time.Time `json:"from"`
	Scope string    `json:"scope"`
	Phase string    `json:"phase"`
	State string    `json:"state"`
}

// TimelineExpiry is an exemption that lapses at Until.
type TimelineExpiry struct {
	Until  time.Time `json:"until"`
	Prefix string    `json:"prefix"`
	Reason string    `json:"reason"`
}

// PlanTimeline builds the Timeline of p.
func PlanTimeline(p *Policy) Timeline {
	t := Timeline{At: p.At.UTC(), Scope: p.Scope, Phase: Phase(p.Scope), Action: p.Action,
		Changes: []TimelineChange{}, Expiring: []TimelineExpiry{}}
	sched := p.Schedule()
	t.Defaulted = len(sched) == 0
	for _, c := range sched {
		state := "past"
		switch {
		case c.From.After(p.At):
			state = "upcoming"
		case c.From.Equal(p.ScopeSet):
			state = "in force"
		}
		t.Changes = append(t.Changes, TimelineChange{From: c.From.UTC(), Scope: c.Scope, Phase: Phase(c.Scope), State: state})
	}
	for _, e := range p.Expiring() {
		t.Expiring = append(t.Expiring, TimelineExpiry{Until: e.Until.UTC(), Prefix: e.Prefix.String(), Reason: e.Reason})
	}
	if nc := p.NextChange(); !nc.IsZero() {
		u := nc.UTC()
		t.NextChange = &u
	}
	return t
}

// ExemptLimit is the [edge] max_exempt_prefix_v4/v6 bound an exemption
// added by an operator (CLI, API, console) must respect unless forced.
func ExemptLimit(c config.Edge, force bool) store.ExemptLimit {
	return store.ExemptLimit{MinBits4: c.MaxExemptPrefixV4, MinBits6: c.MaxExemptPrefixV6, Force: force}
}

// PoolCheck is `pool check`: prefixes inside other pool prefixes (and how
// longest-prefix match resolves them), and exemptions that have no effect
// because their address is in no dynamic pool.
type PoolCheck struct {
	Prefixes int
	Overlaps []Overlap
	Idle     []store.Exemption
}

// CheckPools checks the pool prefixes ps and the exemptions es.
func CheckPools(ps []store.PoolPrefix, es []store.Exemption) PoolCheck {
	c := PoolCheck{Prefixes: len(ps), Overlaps: CheckOverlaps(ps)}
	// Exemptions only matter inside dynamic space: look them up by LPM
	// over the prefixes given, not a second read of the whole policy.
	p := Compile(&store.EdgeSnapshot{Prefixes: ps}, nil, time.Now())
	for _, e := range es {
		if _, _, dyn, ok := p.Lookup(e.Prefix.Addr()); !ok || !dyn {
			c.Idle = append(c.Idle, e)
		}
	}
	return c
}
