package web

import (
	"net/http"
	"slices"
)

var guideClients = []string{"thunderbird", "outlook", "apple", "android"}

type guideData struct {
	Client    string
	Clients   []string
	Domain    string
	Endpoints []endpoint
}

// guide shows one mail program's set-up with our real host names and
// ports for the visitor's domain (?domain=, else the Host's, else ours).
func (s *Server) guide(w http.ResponseWriter, r *http.Request) {
	c := r.PathValue("client")
	if !slices.Contains(guideClients, c) {
		s.fail(w, r, http.StatusNotFound, "guides.unknown")
		return
	}
	domain := s.defaultDomain(r)
	if q := r.URL.Query().Get("domain"); q != "" {
		if d, ok := s.ourDomain(r, q); ok {
			domain = d
		}
	}
	s.render(w, r, http.StatusOK, "guide", guideData{Client: c, Clients: guideClients, Domain: domain, Endpoints: s.endpoints(domain)})
}
