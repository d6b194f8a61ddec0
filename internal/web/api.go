package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mailgate/internal/address"
	"mailgate/internal/delivery"
	"mailgate/internal/dkim"
	"mailgate/internal/dnsrecords"
	"mailgate/internal/password"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// The admin API (/api/v1/): JSON over HTTPS with a bearer token made by
// `mailgate api token add NAME --scope ...`. Each handler parses, calls
// the one function the CLI calls too (store, spool), and prints; the
// store validates and audits, with "api:NAME" as the actor.

type apiCtxKey struct{}

// apiError is the one error shape: {"error": {"code": ..., "message": ...}}.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func apiFail(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]apiError{"error": {code, msg}})
}

// apiErr maps a domain error to its status: the message is the domain
// package's own, which names the object and says what to do.
// apiDone answers an operation that returns nothing: 204 No Content, or
// its error as apiErr says.
func (s *Server) apiDone(w http.ResponseWriter, err error) {
	if err != nil {
		s.apiErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, spool.ErrNotFound), errors.Is(err, dkim.ErrNoKey):
		apiFail(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrExists), errors.Is(err, dkim.ErrExists):
		apiFail(w, http.StatusConflict, "exists", err.Error())
	case errors.Is(err, store.ErrInUse), errors.Is(err, dkim.ErrActive):
		apiFail(w, http.StatusConflict, "in_use", err.Error())
	case errors.Is(err, store.ErrInvalid), errors.Is(err, address.ErrInvalid), errors.Is(err, password.ErrTooShort),
		errors.Is(err, dkim.ErrInvalid), errors.Is(err, dnsrecords.ErrInvalid):
		apiFail(w, http.StatusBadRequest, "invalid", err.Error())
	case errors.Is(err, dnsrecords.ErrNotConfigured):
		apiFail(w, http.StatusServiceUnavailable, "not_configured", err.Error())
	default:
		s.log.Error("api: internal error", "err", err)
		apiFail(w, http.StatusInternalServerError, "internal", "internal error; see the server log")
	}
}

// apiBodyLimit is the most a request body may hold: a JSON object of
// this API is small. apiBulkBody lists the routes that take more.
const apiBodyLimit = 64 << 10

var apiBulkBody = map[string]int64{"POST /api/v1/pools/import": 16 << 20, "POST /api/v1/edge/impact": impactBodyLimit}

// api authenticates the token and checks its scope; GET needs "read".
// maxBody 0 is apiBodyLimit.
func (s *Server) api(scope string, maxBody int64, next http.HandlerFunc) http.HandlerFunc {
	if maxBody == 0 {
		maxBody = apiBodyLimit
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			apiFail(w, http.StatusForbidden, "https_required", "the API is served over HTTPS only (tokens are secrets)")
			return
		}
		h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mailgate api"`)
			apiFail(w, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer TOKEN (mailgate api token add NAME --scope ...)")
			return
		}
		tok, err := s.st.APITokenFor(r.Context(), strings.TrimSpace(h))
		if errors.Is(err, store.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mailgate api", error="invalid_token"`)
			apiFail(w, http.StatusUnauthorized, "unauthorized", "unknown or revoked token")
			return
		} else if err != nil {
			s.apiErr(w, err)
			return
		}
		if !tok.Has(scope) {
			apiFail(w, http.StatusForbidden, "forbidden", "this token lacks the "+scope+" scope: an operator makes one that has it with `mailgate api token add NAME --scope "+scope+"` (scopes cannot be added to an existing token)")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next(w, r.WithContext(context.WithValue(r.Context(), apiCtxKey{}, tok)))
	}
}

func apiActor(r *http.Request) string {
	return "api:" + r.Context().Value(apiCtxKey{}).(*store.APIToken).Name
}

// decode reads a JSON body into v, refusing unknown fields.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		apiFail(w, http.StatusBadRequest, "bad_json", "the body is not the JSON object this endpoint takes: "+err.Error())
		return false
	}
	return true
}

// page is ?limit (default 100, at most 1000) and ?offset over a list.
func paginate[T any](w http.ResponseWriter, r *http.Request, all []T) {
	limit, offset := 100, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			apiFail(w, http.StatusBadRequest, "invalid", "limit must be 1..1000")
			return
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			apiFail(w, http.StatusBadRequest, "invalid", "offset must be 0 or more")
			return
		}
		offset = n
	}
	items := []T{}
	if offset < len(all) {
		items = all[offset:min(len(all), offset+limit)]
	}
	resp := map[string]any{"items": items, "total": len(all)}
	// offset < len(all) first: offset+limit overflows for an offset near
	// the largest int, which would give a negative next_offset.
	if offset < len(all) && offset+limit < len(all) {
		resp["next_offset"] = offset + limit
	}
	writeJSON(w, http.StatusOK, resp)
}

// paginateEach answers a list request with the store's rows (or err),
// each turned into its API form by conv, a page at a time.
func paginateEach[T, U any](s *Server, w http.ResponseWriter, r *http.Request, rows []T, err error, conv func(T) U) {
	if err != nil {
		s.apiErr(w, err)
		return
	}
	out := make([]U, len(rows))
	for i, x := range rows {
		out[i] = conv(x)
	}
	paginate(w, r, out)
}

// apiRoute is one endpoint: its pattern, the scope a token needs, the
// handler. Every route is in apiRouteTable, which a test holds against
// openapi.json.
type apiRoute struct {
	pattern, scope string
	h              http.HandlerFunc
}

func (s *Server) apiRouteTable() []apiRoute {
	rs := []apiRoute{
		{"GET /api/v1/domains", "read", s.apiDomains},
		{"POST /api/v1/domains", "directory", s.apiAddDomain},
		{"DELETE /api/v1/domains/{name}", "directory", s.apiRemoveDomain},
		{"GET /api/v1/domains/{name}/accounts", "read", s.apiAccounts},
		{"POST /api/v1/accounts", "directory", s.apiAddAccount},
		{"GET /api/v1/accounts/{address}", "read", s.apiAccount},
		{"PATCH /api/v1/accounts/{address}", "directory", s.apiPatchAccount},
		{"DELETE /api/v1/accounts/{address}", "directory", s.apiRemoveAccount},
		{"PUT /api/v1/accounts/{address}/status", "directory", s.apiSetStatus},
		{"GET /api/v1/accounts/{address}/quota", "read", s.apiAccountQuota},
		{"PUT /api/v1/accounts/{address}/quota", "directory", s.apiSetAccountQuota},
		{"GET /api/v1/accounts/{address}/limits", "read", s.apiLimits},
		{"PUT /api/v1/accounts/{address}/limits", "directory", s.apiSetLimits},
		{"GET /api/v1/accounts/{address}/aliases", "read", s.apiAliases},
		{"POST /api/v1/aliases", "directory", s.apiAddAlias},
		{"DELETE /api/v1/aliases/{alias}", "directory", s.apiRemoveAlias},
		{"GET /api/v1/pools", "read", s.apiPools},
		{"GET /api/v1/edge/check", "read", s.apiEdgeCheck},
		{"GET /api/v1/edge/report", "read", s.apiEdgeReport},
		{"POST /api/v1/edge/impact", "edge", s.apiEdgeImpact},
		{"GET /api/v1/queue", "read", s.apiQueue},
		{"GET /api/v1/queue/{id}", "read", s.apiQueueShow},
		{"POST /api/v1/queue/{id}/{action}", "queue", s.apiQueueAction},
		{"DELETE /api/v1/queue/{id}", "queue", s.apiQueueRemove},
	}
	rs = append(rs, s.apiPolicyRoutes()...)
	rs = append(rs, s.apiDKIMRoutes()...)
	return rs
}

func (s *Server) apiRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/openapi.json", s.openAPI)
	for _, r := range s.apiRouteTable() {
		m.HandleFunc(r.pattern, s.api(r.scope, apiBulkBody[r.pattern], r.h))
	}
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		apiFail(w, http.StatusNotFound, "not_found", "no such endpoint; see /api/v1/openapi.json")
	})
}

type apiDomain struct {
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	Accounts int       `json:"accounts"`
}

type apiAccount struct {
	Address string    `json:"address"`
	Domain  string    `json:"domain"`
	Status  string    `json:"status"`
	Created time.Time `json:"created"`
}

func toAPIAccount(a store.Account) apiAccount {
	return apiAccount{a.Address, a.Domain, a.Status, a.Created.UTC()}
}

func (s *Server) apiDomains(w http.ResponseWriter, r *http.Request) {
	ds, err := s.st.Domains(r.Context())
	paginateEach(s, w, r, ds, err, func(d store.Domain) apiDomain { return apiDomain{d.Name, d.Created.UTC(), d.Accounts} })
}

func (s *Server) apiAddDomain(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := s.st.AddDomain(r.Context(), apiActor(r), req.Name); err != nil {
		s.apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"name": strings.ToLower(req.Name)})
}

func (s *Server) apiRemoveDomain(w http.ResponseWriter, r *http.Request) {
	s.apiDone(w, s.st.RemoveDomain(r.Context(), apiActor(r), r.PathValue("name")))
}

func (s *Server) apiAccounts(w http.ResponseWriter, r *http.Request) {
	as, err := s.st.Accounts(r.Context(), r.PathValue("name"))
	paginateEach(s, w, r, as, err, toAPIAccount)
}

// apiAddAccount takes the password in the body (never in a URL), checked
// by password.CheckNew as `user add` checks it.
func (s *Server) apiAddAccount(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Address  string `json:"address"`
		Password string `json:"password"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := password.CheckNew(req.Password); err != nil {
		s.apiErr(w, err)
		return
	}
	hash, err := password.Hash(req.Password)
	if err == nil {
		err = s.st.AddAccount(r.Context(), apiActor(r), req.Address, hash)
	}
	if err != nil {
		s.apiErr(w, err)
		return
	}
	a, err := s.st.Account(r.Context(), req.Address)
	if err != nil {
		s.apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, toAPIAccount(*a))
}

// apiAccount is one account with its storage quota (lists leave the
// quota out: it reads each Maildir).
func (s *Server) apiAccount(w http.ResponseWriter, r *http.Request) {
	a, err := s.st.Account(r.Context(), r.PathValue("address"))
	if err != nil {
		s.apiErr(w, err)
		return
	}
	q, err := s.quotaOf(r.Context(), a.Address)
	if err != nil {
		s.apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		apiAccount
		Quota *apiQuota `json:"quota"`
	}{toAPIAccount(*a), toAPIQuota(q)})
}

func (s *Server) apiRemoveAccount(w http.ResponseWriter, r *http.Request) {
	s.apiDone(w, s.st.RemoveAccount(r.Context(), apiActor(r), r.PathValue("address")))
}

// apiSetStatus suspends, resumes or disables sending (`user suspend`,
// `user resume`).
func (s *Server) apiSetStatus(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := s.st.SetStatus(r.Context(), apiActor(r), r.PathValue("address"), req.Status, req.Reason); err != nil {
		s.apiErr(w, err)
		return
	}
	s.apiAccount(w, r)
}

func (s *Server) apiAliases(w http.ResponseWriter, r *http.Request) {
	type alias struct {
		Address string `json:"address"`
		Account string `json:"account"`
	}
	as, err := s.st.Aliases(r.Context(), r.PathValue("address"))
	paginateEach(s, w, r, as, err, func(a store.Alias) alias { return alias{a.Address, a.Account} })
}

func (s *Server) apiAddAlias(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Alias   string `json:"alias"`
		Account string `json:"account"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := s.st.AddAlias(r.Context(), apiActor(r), req.Alias, req.Account); err != nil {
		s.apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, req)
}

func (s *Server) apiRemoveAlias(w http.ResponseWriter, r *http.Request) {
	s.apiDone(w, s.st.RemoveAlias(r.Context(), apiActor(r), r.PathValue("alias")))
}

type apiQueued struct {
	spool.Envelope
	State *spool.State `json:"state,omitempty"`
	Error string       `json:"error,omitempty"`
}

func (s *Server) needSpool(w http.ResponseWriter) bool {
	if s.spool == nil {
		apiFail(w, http.StatusServiceUnavailable, "no_queue", "this server has no spool")
		return false
	}
	return true
}

func (s *Server) apiQueue(w http.ResponseWriter, r *http.Request) {
	if !s.needSpool(w) {
		return
	}
	es, err := s.spool.Entries()
	if err != nil {
		s.apiErr(w, err)
		return
	}
	out := make([]apiQueued, len(es))
	for i, e := range es {
		out[i] = apiQueued{Envelope: e.Envelope, State: e.State}
		if e.Err != nil {
			out[i].Error = e.Err.Error()
		}
	}
	paginate(w, r, out)
}

func (s *Server) apiQueueShow(w http.ResponseWriter, r *http.Request) {
	if !s.needSpool(w) {
		return
	}
	m, err := s.spool.Open(r.PathValue("id"))
	if err != nil {
		s.apiErr(w, err)
		return
	}
	defer m.Close()
	st, err := s.spool.State(&m.Envelope)
	if err != nil {
		s.apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiQueued{Envelope: m.Envelope, State: st})
}

// apiQueueAction is `queue retry|hold|release|bounce ID`.
func (s *Server) apiQueueAction(w http.ResponseWriter, r *http.Request) {
	if !s.needSpool(w) {
		return
	}
	if r.PathValue("action") == "bounce" {
		// The sender gets a DSN and the message leaves the queue, as with
		// `mailgate queue bounce`.
		s.apiDone(w, delivery.ReturnToSender(s.spool, s.cfg.Hostname, r.PathValue("id")))
		return
	}
	change, ok := spool.Actions[r.PathValue("action")]
	if !ok {
		apiFail(w, http.StatusNotFound, "not_found", "queue actions are retry, hold, release and bounce")
		return
	}
	if err := s.spool.Change(r.PathValue("id"), change); err != nil {
		s.apiErr(w, err)
		return
	}
	s.apiQueueShow(w, r)
}

func (s *Server) apiQueueRemove(w http.ResponseWriter, r *http.Request) {
	if !s.needSpool(w) {
		return
	}
	s.apiDone(w, s.spool.Remove(r.PathValue("id")))
}

// openAPI serves the API's description (OpenAPI 3.1); no token needed.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	b, _ := files.ReadFile("openapi.json")
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
