package web

import (
	"net/http"
	"time"

	"mailgate/internal/edge"
	"mailgate/internal/store"
)

// apiEdgeCheck is `edge check SRC DST [PORT]`: would this TCP attempt be
// blocked, and why (the reason chain). Carrier domains are not resolved:
// their MX hosts matter to the router, which `edge run` keeps current.
func (s *Server) apiEdgeCheck(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	src, dst, port, err := edge.ParseCheck(q.Get("src"), q.Get("dst"), q.Get("port"))
	if err != nil {
		apiFail(w, http.StatusBadRequest, "invalid", err.Error()+" (give ?src=&dst=[&port=])")
		return
	}
	p, err := s.policy.get(r.Context())
	if err != nil {
		s.apiErr(w, err)
		return
	}
	block, reasons := p.Check(src, dst, port)
	writeJSON(w, http.StatusOK, map[string]any{
		"src": src.String(), "dst": dst.String(), "port": port,
		"verdict": edge.Verdict(block).String(), "reasons": reasons,
	})
}

// apiPools is `pool list`.
func (s *Server) apiPools(w http.ResponseWriter, r *http.Request) {
	type pool struct {
		Name     string    `json:"name"`
		Kind     string    `json:"kind"`
		Prefixes int       `json:"prefixes"`
		Updated  time.Time `json:"updated"`
	}
	ps, err := s.st.Pools(r.Context())
	paginateEach(s, w, r, ps, err, func(p store.Pool) pool { return pool{p.Name, p.Kind, p.Prefixes, p.Updated.UTC()} })
}

// apiEdgeReport is `edge report --store`: blocked port-25 attempts every
// router recorded, with the subscriber who held each source when it was
// last seen (RADIUS accounting).
func (s *Server) apiEdgeReport(w http.ResponseWriter, r *http.Request) {
	rs, err := s.st.AttemptsReport(r.Context(), 0)
	if err != nil {
		s.apiErr(w, err)
		return
	}
	type row struct {
		Source       string    `json:"source"`
		Pool         string    `json:"pool"`
		Attempts     uint64    `json:"attempts"`
		Destinations int       `json:"destinations"`
		FirstSeen    time.Time `json:"first_seen"`
		LastSeen     time.Time `json:"last_seen"`
		Routers      int       `json:"routers"`
		Subscriber   string    `json:"subscriber,omitempty"`
		Account      string    `json:"account,omitempty"`
	}
	out := make([]row, len(rs))
	for i, a := range rs {
		out[i] = row{Source: a.Source.String(), Pool: a.Pool, Attempts: a.Attempts, Destinations: a.Destinations,
			FirstSeen: a.FirstSeen.UTC(), LastSeen: a.LastSeen.UTC(), Routers: a.Routers}
		if ss, err := s.st.SubscriberAt(r.Context(), a.Source, a.LastSeen); err == nil {
			out[i].Subscriber, out[i].Account = ss.Username, ss.Account
		}
	}
	paginate(w, r, out)
}
