package web

import (
	"net/http"
	"strings"
	"time"

	"mailgate/internal/edge"
	"mailgate/internal/store"
)

// The console's edge policy page: subscriber pools and exemptions, listed,
// added and removed through the store functions `mailgate pool` and
// `mailgate edge exempt` call (the store validates and audits, as
// web:<account>); relays, carriers, scope and action are in
// console_edge_dest.go.

func (s *Server) consoleEdgeRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /console/edge", s.tlsOnly(s.operator(s.consoleEdge)))
	m.HandleFunc("POST /console/edge/pools", s.tlsOnly(s.csrf(s.operator(s.consoleAddPool))))
	m.HandleFunc("POST /console/edge/pools/remove", s.tlsOnly(s.csrf(s.operator(s.consoleRemovePool))))
	m.HandleFunc("POST /console/edge/exemptions", s.tlsOnly(s.csrf(s.operator(s.consoleAddExemption))))
	m.HandleFunc("POST /console/edge/exemptions/remove", s.tlsOnly(s.csrf(s.operator(s.consoleRemoveExemption))))
	s.consoleEdgePolicyRoutes(m)
	s.consoleEdgeImpactRoutes(m)
	m.HandleFunc("GET /console/dkim", s.tlsOnly(s.operator(s.consoleDKIM)))
	m.HandleFunc("POST /console/dkim/{action}", s.tlsOnly(s.csrf(s.operator(s.consoleDKIMAction))))
}

// webActor is who a console change is audited as.
func (s *Server) webActor(r *http.Request) string { return "web:" + s.session(r).Account }

type consoleEdgeData struct {
	Pools      []store.Pool
	Prefixes   map[string][]store.PoolPrefix
	Exemptions []store.Exemption
	Relays     []store.Relay
	Carriers   []carrierSet
	Now        time.Time
	Zone       string // the server's zone: dates without one are read in it
	Plan       edge.Timeline
	Actions    []string
	Limit4     int
	Limit6     int
	Done       string
	Error      string
}

func (s *Server) showEdge(w http.ResponseWriter, r *http.Request, status int, done, fail string) {
	d := consoleEdgeData{Prefixes: map[string][]store.PoolPrefix{}, Now: time.Now(), Done: done, Error: fail,
		Actions: []string{store.ActionReset, store.ActionDrop, store.ActionICMP},
		Limit4:  s.cfg.Edge.MaxExemptPrefixV4, Limit6: s.cfg.Edge.MaxExemptPrefixV6}
	d.Zone, _ = d.Now.Zone()
	ctx := r.Context()
	var err error
	var ps []store.PoolPrefix
	if d.Pools, err = s.st.Pools(ctx); err == nil {
		ps, err = s.st.PoolPrefixes(ctx, "")
	}
	if err == nil {
		d.Exemptions, err = s.st.Exemptions(ctx)
	}
	if err == nil {
		d.Relays, err = s.st.Relays(ctx)
	}
	var cs []store.CarrierEntry
	if err == nil {
		cs, err = s.st.Carriers(ctx)
	}
	var p *edge.Policy
	if err == nil {
		p, _, err = edge.Load(ctx, s.st, nil, nil, d.Now, s.log)
	}
	if err != nil {
		s.log.Error("web: console edge", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	for _, x := range ps {
		d.Prefixes[x.Pool] = append(d.Prefixes[x.Pool], x)
	}
	d.Carriers = groupCarriers(cs)
	d.Plan = edge.PlanTimeline(p)
	s.render(w, r, status, "console_edge", d)
}

func (s *Server) consoleEdge(w http.ResponseWriter, r *http.Request) {
	s.showEdge(w, r, http.StatusOK, "", "")
}

// consoleAddPool is `pool add NAME --kind KIND PREFIX...`: prefixes are
// separated by spaces, commas or lines.
func (s *Server) consoleAddPool(w http.ResponseWriter, r *http.Request) {
	name, kind := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("kind")
	prefixes := formList(r.PostFormValue("prefixes"))
	if len(prefixes) == 0 {
		s.showEdge(w, r, http.StatusBadRequest, "", pickLang(r).T("con.err.pool"))
		return
	}
	n, err := s.st.AddPoolPrefixes(r.Context(), s.webActor(r), name, kind, prefixes)
	if err != nil {
		s.showEdge(w, r, formStatus(err), "", err.Error())
		return
	}
	s.showEdge(w, r, http.StatusOK, pickLang(r).T("con.done.pooladd", name, kind, n), "")
}

// consoleRemovePool is `pool remove NAME [PREFIX]`.
func (s *Server) consoleRemovePool(w http.ResponseWriter, r *http.Request) {
	name, prefix := r.PostFormValue("name"), r.PostFormValue("prefix")
	l := pickLang(r)
	var prefixes []string
	done := l.T("con.done.poolremove", name)
	if prefix != "" {
		prefixes, done = []string{prefix}, l.T("con.done.poolprefixremove", prefix, name)
	}
	if err := s.st.RemovePool(r.Context(), s.webActor(r), name, prefixes); err != nil {
		s.showEdge(w, r, formStatus(err), "", err.Error())
		return
	}
	s.showEdge(w, r, http.StatusOK, done, "")
}

// consoleAddExemption is `edge exempt add PREFIX --reason --until [--force]`.
func (s *Server) consoleAddExemption(w http.ResponseWriter, r *http.Request) {
	prefix, reason := strings.TrimSpace(r.PostFormValue("prefix")), r.PostFormValue("reason")
	until, err := edge.ParseOptionalWhen(r.PostFormValue("until"), time.Local)
	if err != nil {
		s.showEdge(w, r, http.StatusBadRequest, "", "until: "+err.Error())
		return
	}
	force := r.PostFormValue("force") == "on"
	if err := s.st.AddExemption(r.Context(), s.webActor(r), prefix, reason, until, edge.ExemptLimit(s.cfg.Edge, force)); err != nil {
		s.showEdge(w, r, formStatus(err), "", err.Error())
		return
	}
	s.showEdge(w, r, http.StatusOK, pickLang(r).T("con.done.exemptadd", prefix), "")
}

// consoleRemoveExemption is `edge exempt remove PREFIX`.
func (s *Server) consoleRemoveExemption(w http.ResponseWriter, r *http.Request) {
	prefix := r.PostFormValue("prefix")
	if err := s.st.RemoveExemption(r.Context(), s.webActor(r), prefix); err != nil {
		s.showEdge(w, r, formStatus(err), "", err.Error())
		return
	}
	s.showEdge(w, r, http.StatusOK, pickLang(r).T("con.done.exemptremove", prefix), "")
}
