package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"mailgate/internal/edge"
	"mailgate/internal/store"
)

// policyCache holds the compiled edge policy, recompiled when the store's
// edge version moves (checked at most every few seconds), as `edge run`
// does: the self-check answers what the router enforces.
type policyCache struct {
	st  *store.Store
	log *slog.Logger

	mu      sync.Mutex
	p       *edge.Policy
	version int64
	checked time.Time
}

func (c *policyCache) get(ctx context.Context) (*edge.Policy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	// A scheduled change (scope, an exemption's expiry) due by now
	// makes the compiled policy stale whatever the version says.
	due := c.p != nil && !c.p.NextChange().IsZero() && !c.p.NextChange().After(now)
	if c.p != nil && !due && now.Sub(c.checked) < 3*time.Second {
		return c.p, nil
	}
	v, err := c.st.EdgeVersion(ctx)
	if err != nil {
		return nil, err
	}
	if c.p == nil || v != c.version || due {
		// No resolver: carrier domains' MX hosts matter to the router's
		// phase-1 sets, not to which pool a visitor is in.
		p, _, err := edge.Load(ctx, c.st, nil, nil, now, c.log)
		if err != nil {
			return nil, err
		}
		c.p, c.version = p, v
	}
	c.checked = now
	return c.p, nil
}

// Pool kinds the self-check reports.
const (
	kindDynamic  = "dynamic"
	kindFixed    = "fixed"
	kindExempted = "exempted"
	kindOutside  = "outside"
)

// poolStatus is where a visitor's address stands.
type poolStatus struct {
	Addr    netip.Addr
	Kind    string
	Pool    string
	Phase1  bool     // dynamic, and only carrier-bound port 25 is blocked
	Reasons []string // edge.Explain's chain, for the curious
}

// foreignMX stands for "some other provider's MX" when asking the policy
// about a visitor (TEST-NET-1, RFC 5737: never a relay of ours).
var foreignMX = netip.MustParseAddr("192.0.2.25")

// classify asks the edge policy what happens to port 25 from a.
func classify(p *edge.Policy, a netip.Addr) poolStatus {
	st := poolStatus{Addr: a}
	d := p.Evaluate(a, foreignMX, edge.SMTPPort)
	st.Reasons = p.Explain(a, foreignMX, edge.SMTPPort, d)
	pool, _, _, _ := p.Lookup(a)
	st.Pool = pool
	switch d.Step {
	case edge.StepNoPool:
		st.Kind = kindOutside
	case edge.StepStatic:
		st.Kind = kindFixed
	case edge.StepExempt:
		st.Kind = kindExempted
	default:
		st.Kind = kindDynamic
		st.Phase1 = p.Scope == store.ScopeCarriers
	}
	return st
}

// Answers to the self-check's questions.
const (
	serverOurs    = "ours"
	serverOther   = "other"
	serverOwn     = "own"
	serverUnknown = "unknown"
)

// advice is the plain-words answer: whether mail sent the visitor's way
// gets through, and what to change. Lines are catalog keys; their one
// argument (if any) is our client host name.
type advice struct {
	Affected bool
	OK       bool // the settings given work as they are
	Lines    []string
}

// advise walks the seeds' flowchart: pool, then server, then port.
func advise(kind, server, port string) advice {
	switch kind {
	case kindOutside, kindFixed, kindExempted:
		a := advice{Lines: []string{"adv.not_affected"}}
		if port == "25" {
			a.Lines = append(a.Lines, "adv.recommend587")
		}
		return a
	}
	// A dynamic line. RFC 5068 §3.2 / RFC 8314: 587 and 465 are never
	// filtered; 25 is allowed only to our own relays.
	switch {
	case server == serverUnknown || port == "unknown" || port == "":
		return advice{Lines: []string{"adv.find_settings", "adv.use_ours"}}
	case port == "587" || port == "465":
		return advice{OK: true, Lines: []string{"adv.ok"}}
	case server == serverOurs:
		return advice{OK: true, Lines: []string{"adv.port25_ours", "adv.use_ours"}}
	case server == serverOwn:
		return advice{Affected: true, Lines: []string{"adv.affected", "adv.own_server"}}
	default:
		return advice{Affected: true, Lines: []string{"adv.affected", "adv.use_ours", "adv.other_587"}}
	}
}

type checkData struct {
	Status    poolStatus
	Host      string // our client host name
	Server    string
	Port      string
	Answered  bool
	Advice    advice
	Servers   []string
	Ports     []string
	Probe     *probeReport
	ProbeHost string
}

func (s *Server) checkData(r *http.Request) (*checkData, error) {
	p, err := s.policy.get(r.Context())
	if err != nil {
		return nil, err
	}
	d := &checkData{Status: classify(p, clientAddr(r)), Host: s.cfg.ClientHostFor(s.defaultDomain(r)),
		Servers: []string{serverOurs, serverOther, serverOwn, serverUnknown},
		Ports:   []string{"25", "587", "465", "unknown"}}
	q := r.URL.Query()
	d.Server, d.Port = q.Get("server"), q.Get("port")
	if d.Server != "" || d.Port != "" {
		d.Answered = true
		d.Advice = advise(d.Status.Kind, d.Server, d.Port)
	}
	return d, nil
}

func (s *Server) selfCheck(w http.ResponseWriter, r *http.Request) {
	d, err := s.checkData(r)
	if err != nil {
		s.log.Error("web: self-check policy", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	s.render(w, r, http.StatusOK, "check", d)
}

// defaultDomain is the mail domain a page speaks of: the one in the Host
// name (mail.example.jp serves example.jp's subscribers) when it is ours,
// else the first domain in the store.
func (s *Server) defaultDomain(r *http.Request) string {
	ds, err := s.st.Domains(r.Context())
	if err != nil || len(ds) == 0 {
		return s.cfg.Hostname
	}
	host := hostOnly(r.Host)
	for _, d := range ds {
		if host == d.Name || len(host) > len(d.Name) && host[len(host)-len(d.Name)-1:] == "."+d.Name {
			return d.Name
		}
	}
	return ds[0].Name
}
