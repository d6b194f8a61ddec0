package edge

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"time"

	"mailgate/internal/store"
)

// ImpactQuery is `edge impact`'s what-if and options as the CLI's flags,
// the API's query parameters and the console's form give them, so the
// three replay the same way.
type ImpactQuery struct {
	At     string         // the what-if moment (ParseWhen); "": none
	Loc    *time.Location // At's zone when it names none
	Change PolicyChange   // from ParseImpactChange, plus any pool file
	Top    int
	// Resolver resolves carrier domains' MX hosts; nil: not resolved.
	// Warn hears each domain that failed.
	Resolver Resolver
	Warn     func(error)
}

// QueryError is a bad what-if value: Param names the flag or query
// parameter (at, scope, exempt, unexempt) or "flows" for an input
// neither format reads. The caller prefixes it its own way (--at).
type QueryError struct {
	Param string
	Err   error
}

func (e *QueryError) Error() string { return e.Param + ": " + e.Err.Error() }
func (e *QueryError) Unwrap() error { return e.Err }

// ParseImpactChange reads the scope and exemption what-ifs, held to the
// rules of edge scope and edge exempt add.
func ParseImpactChange(scope string, exempt, unexempt []string) (PolicyChange, error) {
	c := PolicyChange{Scope: scope}
	if scope != "" && scope != store.ScopeAll && scope != store.ScopeCarriers {
		return c, &QueryError{"scope", fmt.Errorf("%q: want all or carriers", scope)}
	}
	for _, e := range exempt {
		p, err := store.ParsePrefix(e)
		if err != nil {
			return c, &QueryError{"exempt", err}
		}
		c.AddExemptions = append(c.AddExemptions, p)
	}
	for _, e := range unexempt {
		p, err := store.ParsePrefix(e)
		if err != nil {
			return c, &QueryError{"unexempt", err}
		}
		c.DropExemptions = append(c.DropExemptions, p)
	}
	return c, nil
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
	snap, err := st.EdgeSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	var mx map[string][]MXHost
	if q.Resolver != nil {
		var errs []error
		mx, errs = ResolveCarriers(ctx, q.Resolver, snap.Carriers, nil)
		for _, e := range errs {
			if q.Warn != nil {
				q.Warn(e)
			}
		}
	}
	cur := Compile(snap, mx, now)
	var then *Policy
	if q.At != "" || !q.Change.IsZero() {
		if then, err = WhatIf(snap, mx, when, q.Change); err != nil {
			return nil, &QueryError{"unexempt", err}
		}
	}
	in := &readErr{r: flows}
	im, err := ReplayImpact(NewFlowReader(in), cur, then, ImpactOptions{
		Top: q.Top, Now: now,
		Subscriber: func(ip netip.Addr, t time.Time) string { return st.SubscriberLabel(ctx, ip, t) },
	})
	if err != nil && in.err == nil {
		return nil, &QueryError{"flows", err} // the first line, not the reading
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
