package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"mailgate/internal/store"
)

// ImpactQuery is `edge impact`'s what-if and options as the CLI's flags,
// the API's query parameters and the console's form give them, so the
// three replay the same way: ImpactFromStore reads them all.
type ImpactQuery struct {
	At     string         // the what-if moment (ParseWhen); "": none
	Loc    *time.Location // At's zone when it names none
	WhatIf ImpactWhatIf
	Top    int
	// NfdumpTZ is the zone of nfdump's ts column (ParseFlowZone): ""
	// is UTC.
	NfdumpTZ string
	// Resolver resolves carrier domains' MX hosts; nil: not resolved.
	// The domains it failed on are the Impact's Warnings.
	Resolver Resolver
}

// ImpactWhatIf is the policy change of a what-if as given, not yet read:
// --scope, --exempt, --unexempt and --pools FILE (the API's scope,
// exempt, unexempt and pools file, the console's fields).
type ImpactWhatIf struct {
	Scope            string
	Exempt, Unexempt []string
	// Pools is a pool file as `pool import` reads it (CSV pool,kind,prefix
	// or TOML): its prefixes are added to their pools, or moved there.
	// PoolsName is its name: TOML when it ends in .toml, as pool import
	// decides.
	Pools     []byte
	PoolsName string
}

// QueryError is a bad what-if value: Param names the flag or query
// parameter (at, scope, exempt, unexempt, pools, nfdump-tz) or "flows" for an input
// neither format reads. The caller prefixes it its own way (--at).
type QueryError struct {
	Param string
	Err   error
}

func (e *QueryError) Error() string { return e.Param + ": " + e.Err.Error() }
func (e *QueryError) Unwrap() error { return e.Err }

// ParseImpactChange reads a what-if: the scope and exemptions held to the
// rules of edge scope and edge exempt add, the pool file to those of pool
// import.
func ParseImpactChange(w ImpactWhatIf) (PolicyChange, error) {
	c := PolicyChange{Scope: w.Scope}
	if w.Scope != "" && w.Scope != store.ScopeAll && w.Scope != store.ScopeCarriers {
		return c, &QueryError{"scope", fmt.Errorf("%q: want all or carriers", w.Scope)}
	}
	for _, e := range w.Exempt {
		p, err := store.ParsePrefix(e)
		if err != nil {
			return c, &QueryError{"exempt", err}
		}
		c.AddExemptions = append(c.AddExemptions, p)
	}
	for _, e := range w.Unexempt {
		p, err := store.ParsePrefix(e)
		if err != nil {
			return c, &QueryError{"unexempt", err}
		}
		c.DropExemptions = append(c.DropExemptions, p)
	}
	if w.Pools == nil {
		return c, nil
	}
	rows, err := ParsePoolFile(w.Pools, IsTOMLPoolFile(w.PoolsName))
	if err == nil && len(rows) == 0 {
		err = errors.New("no pool prefixes in the file (CSV pool,kind,prefix or TOML [[pool]])")
	}
	if err == nil {
		c.Pools, err = store.CheckPoolRows(rows)
	}
	if err != nil {
		return c, &QueryError{"pools", err}
	}
	return c, nil
}

// IsTOMLPoolFile says a pool file is the TOML form by its name.
func IsTOMLPoolFile(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".toml")
}

// ImpactFromStore is `edge impact`: the flows replayed against the
// store's policy now and, given a moment or a change, the what-if's.
// Nothing is written to the store. Errors of q or of the flows' first
// line are *QueryError; a read error of flows is returned as is.
func ImpactFromStore(ctx context.Context, st *store.Store, flows io.Reader, q ImpactQuery) (*Impact, error) {
	now := time.Now()
	when := now
	if q.At != "" {
		loc := q.Loc
		if loc == nil {
			loc = time.Local
		}
		var err error
		if when, err = ParseWhen(q.At, loc); err != nil {
			return nil, &QueryError{"at", err}
		}
	}
	// The query is checked before the store is read or a carrier resolved.
	change, err := ParseImpactChange(q.WhatIf)
	if err != nil {
		return nil, err
	}
	zone, err := ParseFlowZone(q.NfdumpTZ)
	if err != nil {
		return nil, &QueryError{"nfdump-tz", err}
	}
	snap, err := st.EdgeSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	var mx map[string][]MXHost
	var warnings []string
	if q.Resolver != nil {
		var errs []error
		mx, errs = ResolveCarriers(ctx, q.Resolver, snap.Carriers, nil)
		for _, e := range errs {
			warnings = append(warnings, e.Error())
		}
	}
	cur := Compile(snap, mx, now)
	var then *Policy
	if q.At != "" || !change.IsZero() {
		if then, err = WhatIf(snap, mx, when, change); err != nil {
			return nil, &QueryError{"unexempt", err}
		}
	}
	in := &readErr{r: flows}
	fr := NewFlowReader(in)
	fr.Zone = zone
	im, err := ReplayImpact(fr, cur, then, ImpactOptions{
		Top: q.Top, Now: now,
		Subscriber: func(ip netip.Addr, t time.Time) string { return st.SubscriberLabel(ctx, ip, t) },
	})
	if err != nil && in.err == nil {
		return nil, &QueryError{"flows", err} // the first line, not the reading
	}
	if im != nil {
		im.Warnings = warnings
	}
	return im, err
}

// readErr keeps the error of a read that failed, to tell it from the
// flow reader's own (an input neither format reads).
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
