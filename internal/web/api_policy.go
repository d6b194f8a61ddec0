package web

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mailgate/internal/dns"
	"mailgate/internal/edge"
	"mailgate/internal/store"
)

// The edge policy's changes over the API: the operations of `mailgate pool`
// and `mailgate edge relay|exempt|carrier|scope|action|plan`. Each handler
// calls the store function the CLI calls; the store validates (prefix
// syntax, host bits, the exemption width limit) and audits as api:NAME.
// Changes need the "edge" scope, reads "read".

func (s *Server) apiPolicyRoutes() []apiRoute {
	return []apiRoute{
		{"GET /api/v1/pools/{name}", "read", s.apiPoolPrefixes},
		{"POST /api/v1/pools", "edge", s.apiAddPool},
		{"POST /api/v1/pools/import", "edge", s.apiImportPools},
		{"DELETE /api/v1/pools/{name}", "edge", s.apiRemovePool},
		{"DELETE /api/v1/pools/{name}/prefixes/{prefix...}", "edge", s.apiRemovePoolPrefix},
		{"GET /api/v1/edge/pool-check", "read", s.apiPoolCheck},
		{"GET /api/v1/exemptions", "read", s.apiExemptions},
		{"POST /api/v1/exemptions", "edge", s.apiAddExemption},
		{"DELETE /api/v1/exemptions/{prefix...}", "edge", s.apiRemoveExemption},
		{"GET /api/v1/relays", "read", s.apiRelays},
		{"POST /api/v1/relays", "edge", s.apiAddRelays},
		{"DELETE /api/v1/relays/{prefix...}", "edge", s.apiRemoveRelay},
		{"GET /api/v1/carriers", "read", s.apiCarriers},
		{"POST /api/v1/carriers", "edge", s.apiAddCarrier},
		{"DELETE /api/v1/carriers/{name}", "edge", s.apiRemoveCarrier},
		{"DELETE /api/v1/carriers/{name}/entries/{entry...}", "edge", s.apiRemoveCarrierEntry},
		{"GET /api/v1/edge/plan", "read", s.apiEdgePlan},
		{"GET /api/v1/edge/ruleset", "read", s.apiEdgeRuleset},
		{"POST /api/v1/edge/scope", "edge", s.apiSetScope},
		{"DELETE /api/v1/edge/scope/{from}", "edge", s.apiRemoveScopeChange},
		{"PUT /api/v1/edge/action", "edge", s.apiSetAction},
	}
}

type apiPrefix struct {
	Pool   string    `json:"pool"`
	Kind   string    `json:"kind"`
	Prefix string    `json:"prefix"`
	Added  time.Time `json:"added"`
}

// apiPoolPrefixes is `pool list NAME`.
func (s *Server) apiPoolPrefixes(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ps, err := s.st.PoolPrefixes(r.Context(), name)
	if err == nil && len(ps) == 0 {
		err = s.poolExists(r, name)
	}
	paginateEach(s, w, r, ps, err, func(p store.PoolPrefix) apiPrefix {
		return apiPrefix{p.Pool, p.Kind, p.Prefix.String(), p.Added.UTC()}
	})
}

// poolExists is nil for a pool (even an empty one), else ErrNotFound.
func (s *Server) poolExists(r *http.Request, name string) error {
	pools, err := s.st.Pools(r.Context())
	if err != nil {
		return err
	}
	for _, p := range pools {
		if p.Name == name {
			return nil
		}
	}
	return fmt.Errorf("pool %s: %w", name, store.ErrNotFound)
}

// apiAddPool is `pool add NAME --kind dynamic|static PREFIX...`: the pool
// is created when new; IPv4 and IPv6 prefixes may be mixed.
func (s *Server) apiAddPool(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string   `json:"name"`
		Kind     string   `json:"kind"`
		Prefixes []string `json:"prefixes"`
	}
	if !decode(w, r, &req) {
		return
	}
	if len(req.Prefixes) == 0 {
		apiFail(w, http.StatusBadRequest, "invalid", "give the pool's prefixes (or addresses) in \"prefixes\"")
		return
	}
	n, err := s.st.AddPoolPrefixes(r.Context(), apiActor(r), req.Name, req.Kind, req.Prefixes)
	if err != nil {
		s.apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"name": req.Name, "kind": req.Kind, "added": n})
}

// apiImportPools is `pool import FILE [--replace]`: the body is the pool
// file itself, CSV (pool,kind,prefix) or TOML ([[pool]] name, kind,
// prefixes), chosen by ?format= or the Content-Type; all rows or none.
func (s *Server) apiImportPools(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "csv"
		if ct := r.Header.Get("Content-Type"); strings.Contains(ct, "toml") {
			format = "toml"
		}
	}
	if format != "csv" && format != "toml" {
		apiFail(w, http.StatusBadRequest, "invalid", "format "+strconv.Quote(format)+": want csv or toml")
		return
	}
	replace := q.Get("replace") == "true"
	if v := q.Get("replace"); v != "" && v != "true" && v != "false" {
		apiFail(w, http.StatusBadRequest, "invalid", "replace: want true or false")
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		apiFail(w, http.StatusRequestEntityTooLarge, "too_large", "the pool file is over 16 MiB: import it in parts")
		return
	}
	rows, err := edge.ParsePoolFile(data, format == "toml")
	if err != nil {
		apiFail(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	n, err := s.st.ImportPools(r.Context(), apiActor(r), rows, replace)
	if err != nil {
		s.apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"rows": len(rows), "added": n})
}

// apiRemovePool is `pool remove NAME`.
func (s *Server) apiRemovePool(w http.ResponseWriter, r *http.Request) {
	s.apiDone(w, s.st.RemovePool(r.Context(), apiActor(r), r.PathValue("name"), nil))
}

// apiRemovePoolPrefix is `pool remove NAME PREFIX`; the prefix is the
// rest of the path, slash included (/pools/dyn/prefixes/203.0.113.0/24).
func (s *Server) apiRemovePoolPrefix(w http.ResponseWriter, r *http.Request) {
	s.apiDone(w, s.st.RemovePool(r.Context(), apiActor(r), r.PathValue("name"), []string{r.PathValue("prefix")}))
}

// apiPoolCheck is `pool check`.
func (s *Server) apiPoolCheck(w http.ResponseWriter, r *http.Request) {
	ps, err := s.st.PoolPrefixes(r.Context(), "")
	if err != nil {
		s.apiErr(w, err)
		return
	}
	es, err := s.st.Exemptions(r.Context())
	if err != nil {
		s.apiErr(w, err)
		return
	}
	c := edge.CheckPools(ps, es)
	type overlap struct {
		Inner  apiPrefix `json:"inner"`
		Outer  apiPrefix `json:"outer"`
		Effect string    `json:"effect"`
	}
	out := struct {
		Prefixes int            `json:"prefixes"`
		Overlaps []overlap      `json:"overlaps"`
		Idle     []apiExemption `json:"idle_exemptions"`
	}{Prefixes: c.Prefixes, Overlaps: []overlap{}, Idle: []apiExemption{}}
	for _, o := range c.Overlaps {
		out.Overlaps = append(out.Overlaps, overlap{
			apiPrefix{o.Inner.Pool, o.Inner.Kind, o.Inner.Prefix.String(), o.Inner.Added.UTC()},
			apiPrefix{o.Outer.Pool, o.Outer.Kind, o.Outer.Prefix.String(), o.Outer.Added.UTC()}, o.Effect})
	}
	for _, e := range c.Idle {
		out.Idle = append(out.Idle, toAPIExemption(e))
	}
	writeJSON(w, http.StatusOK, out)
}

type apiExemption struct {
	Prefix  string     `json:"prefix"`
	Reason  string     `json:"reason"`
	Until   *time.Time `json:"until,omitempty"`
	Expired bool       `json:"expired"`
	Actor   string     `json:"actor"`
	Created time.Time  `json:"created"`
}

func toAPIExemption(e store.Exemption) apiExemption {
	out := apiExemption{Prefix: e.Prefix.String(), Reason: e.Reason, Actor: e.Actor, Created: e.Created.UTC()}
	if !e.Until.IsZero() {
		u := e.Until.UTC()
		out.Until, out.Expired = &u, !u.After(time.Now())
	}
	return out
}

// apiExemptions is `edge exempt list`, expired ones included.
func (s *Server) apiExemptions(w http.ResponseWriter, r *http.Request) {
	es, err := s.st.Exemptions(r.Context())
	paginateEach(s, w, r, es, err, toAPIExemption)
}

// apiAddExemption is `edge exempt add PREFIX --reason --until --force`:
// until takes what --until takes (RFC 3339 recommended); a prefix wider
// than [edge] max_exempt_prefix_v4/v6 needs "force": true.
func (s *Server) apiAddExemption(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Prefix string `json:"prefix"`
		Reason string `json:"reason"`
		Until  string `json:"until"`
		Force  bool   `json:"force"`
	}
	if !decode(w, r, &req) {
		return
	}
	until, err := edge.ParseOptionalWhen(req.Until, time.Local)
	if err != nil {
		apiFail(w, http.StatusBadRequest, "invalid", "until: "+err.Error())
		return
	}
	if err := s.st.AddExemption(r.Context(), apiActor(r), req.Prefix, req.Reason, until, edge.ExemptLimit(s.cfg.Edge, req.Force)); err != nil {
		s.apiErr(w, err)
		return
	}
	es, err := s.st.Exemptions(r.Context())
	if err != nil {
		s.apiErr(w, err)
		return
	}
	p, _ := store.ParsePrefix(req.Prefix)
	for _, e := range es {
		if e.Prefix == p {
			writeJSON(w, http.StatusCreated, toAPIExemption(e))
			return
		}
	}
	writeJSON(w, http.StatusCreated, map[string]string{"prefix": p.String()})
}

// apiRemoveExemption is `edge exempt remove PREFIX`.
func (s *Server) apiRemoveExemption(w http.ResponseWriter, r *http.Request) {
	s.apiDone(w, s.st.RemoveExemption(r.Context(), apiActor(r), r.PathValue("prefix")))
}

// apiRelays is `edge relay list`.
func (s *Server) apiRelays(w http.ResponseWriter, r *http.Request) {
	type relay struct {
		Prefix  string    `json:"prefix"`
		Created time.Time `json:"created"`
	}
	rs, err := s.st.Relays(r.Context())
	paginateEach(s, w, r, rs, err, func(x store.Relay) relay { return relay{x.Prefix.String(), x.Created.UTC()} })
}

// apiAddRelays is `edge relay add ADDR|PREFIX...`.
func (s *Server) apiAddRelays(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Prefixes []string `json:"prefixes"`
	}
	if !decode(w, r, &req) {
		return
	}
	if len(req.Prefixes) == 0 {
		apiFail(w, http.StatusBadRequest, "invalid", "give the relays' addresses or prefixes in \"prefixes\"")
		return
	}
	if err := s.st.AddRelays(r.Context(), apiActor(r), req.Prefixes); err != nil {
		s.apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, req)
}

// apiRemoveRelay is `edge relay remove ADDR|PREFIX`.
func (s *Server) apiRemoveRelay(w http.ResponseWriter, r *http.Request) {
	s.apiDone(w, s.st.RemoveRelay(r.Context(), apiActor(r), r.PathValue("prefix")))
}

// apiCarriers is `edge carrier list` (without resolving MX hosts).
func (s *Server) apiCarriers(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		Name  string `json:"name"`
		Kind  string `json:"kind"`
		Entry string `json:"entry"`
	}
	cs, err := s.st.Carriers(r.Context())
	paginateEach(s, w, r, cs, err, func(c store.CarrierEntry) entry { return entry{c.Name, c.Kind, c.Entry} })
}

// apiAddCarrier is `edge carrier add NAME PREFIX|DOMAIN...`.
func (s *Server) apiAddCarrier(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name    string   `json:"name"`
		Entries []string `json:"entries"`
	}
	if !decode(w, r, &req) {
		return
	}
	if len(req.Entries) == 0 {
		apiFail(w, http.StatusBadRequest, "invalid", "give the carrier's prefixes or mail domains in \"entries\"")
		return
	}
	if err := s.st.AddCarrierEntries(r.Context(), apiActor(r), req.Name, req.Entries); err != nil {
		s.apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, req)
}

// apiRemoveCarrier is `edge carrier remove NAME`.
func (s *Server) apiRemoveCarrier(w http.ResponseWriter, r *http.Request) {
	s.apiDone(w, s.st.RemoveCarrier(r.Context(), apiActor(r), r.PathValue("name"), nil))
}

// apiRemoveCarrierEntry is `edge carrier remove NAME ENTRY`.
func (s *Server) apiRemoveCarrierEntry(w http.ResponseWriter, r *http.Request) {
	s.apiDone(w, s.st.RemoveCarrier(r.Context(), apiActor(r), r.PathValue("name"), []string{r.PathValue("entry")}))
}

// apiEdgePlan is `edge plan`: the scope and action in force now and the
// changes to come. The policy is compiled afresh (not the self-check's
// cache) so a change just made shows at once.
func (s *Server) apiEdgePlan(w http.ResponseWriter, r *http.Request) {
	p, _, err := edge.Load(r.Context(), s.st, nil, nil, time.Now(), s.log)
	if err != nil {
		s.apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, edge.PlanTimeline(p))
}

// apiEdgeRuleset is `edge render [--format iptables]`: the ruleset `edge
// apply` programs into a router from the policy in force now. What it
// would change in a router's kernel only that router knows (`edge apply
// --dry-run`). Carrier domains' MX hosts are resolved with ?resolve=true,
// as `edge render` does by default.
func (s *Server) apiEdgeRuleset(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "nft"
	}
	if format != "nft" && format != "iptables" {
		apiFail(w, http.StatusBadRequest, "invalid", "format "+strconv.Quote(format)+": want nft or iptables")
		return
	}
	var res edge.Resolver
	switch r.URL.Query().Get("resolve") {
	case "", "false":
	case "true":
		res = dns.Carriers(s.cfg.DNS.Servers, s.cfg.DNS.Timeout) // the node's [dns], as edge impact
	default:
		apiFail(w, http.StatusBadRequest, "invalid", "resolve: want true or false")
		return
	}
	p, _, err := edge.Load(r.Context(), s.st, res, nil, time.Now(), s.log)
	if err != nil {
		s.apiErr(w, err)
		return
	}
	rs := p.Ruleset(s.cfg.Edge.AttemptWindow)
	text := rs.RenderNft()
	if format == "iptables" {
		text = rs.RenderIptables()
	}
	writeJSON(w, http.StatusOK, map[string]any{"format": format, "scope": p.Scope, "action": p.Action, "ruleset": text})
}

// apiSetScope is `edge scope all|carriers [--from WHEN]`.
func (s *Server) apiSetScope(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Scope string `json:"scope"`
		From  string `json:"from"`
	}
	if !decode(w, r, &req) {
		return
	}
	from, err := edge.ParseOptionalWhen(req.From, time.Local)
	if err != nil {
		apiFail(w, http.StatusBadRequest, "invalid", "from: "+err.Error())
		return
	}
	if err := s.st.SetScope(r.Context(), apiActor(r), req.Scope, from); err != nil {
		s.apiErr(w, err)
		return
	}
	s.apiEdgePlan(w, r)
}

// apiRemoveScopeChange is `edge scope remove WHEN`.
func (s *Server) apiRemoveScopeChange(w http.ResponseWriter, r *http.Request) {
	at, err := edge.ParseWhen(r.PathValue("from"), time.Local)
	if err != nil {
		apiFail(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	s.apiDone(w, s.st.RemoveScopeChange(r.Context(), apiActor(r), at))
}

// apiSetAction is `edge action reset|drop|icmp`.
func (s *Server) apiSetAction(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action string `json:"action"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := s.st.SetAction(r.Context(), apiActor(r), req.Action); err != nil {
		s.apiErr(w, err)
		return
	}
	s.apiEdgePlan(w, r)
}
