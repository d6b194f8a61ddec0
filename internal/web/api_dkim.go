package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"mailgate/internal/dkim"
	"mailgate/internal/dns"
	"mailgate/internal/dnsrecords"
)

// DKIM keys and DNS records of a domain over the API: `mailgate dkim
// keygen|activate|list|retire` and `mailgate dns records|check`. The
// private key never leaves the server: only the TXT record to publish.

func (s *Server) apiDKIMRoutes() []apiRoute {
	return []apiRoute{
		{"GET /api/v1/domains/{name}/dkim", "read", s.apiDKIMKeys},
		{"POST /api/v1/domains/{name}/dkim", "dkim", s.apiDKIMKeygen},
		{"POST /api/v1/domains/{name}/dkim/{selector}/activate", "dkim", s.apiDKIMActivate},
		{"DELETE /api/v1/domains/{name}/dkim/{selector}", "dkim", s.apiDKIMRetire},
		{"GET /api/v1/domains/{name}/dns", "read", s.apiDNSRecords},
		{"GET /api/v1/domains/{name}/dns/check", "read", s.apiDNSCheck},
	}
}

// dkimKeys are the keys in the store, as the CLI and the signer see them
// (parsed keys cached, the legacy directory copied in once); changes are
// audited under actor. Reads pass "": the node stays the actor of the
// legacy directory's copy, which any read may make.
func (s *Server) dkimKeys(actor string) dkim.Keys {
	k := s.keys
	if actor != "" {
		k.Actor = actor
	}
	return k
}

// apiDKIMKeys is `dkim list DOMAIN`: each key with its TXT record.
func (s *Server) apiDKIMKeys(w http.ResponseWriter, r *http.Request) {
	ks, err := s.dkimKeys("").KeysOf(r.PathValue("name"))
	if err != nil {
		s.apiErr(w, err)
		return
	}
	if ks == nil {
		ks = []dkim.KeyInfo{}
	}
	paginate(w, r, ks)
}

// keyOf answers with one key of the domain.
func (s *Server) keyOf(w http.ResponseWriter, status int, domain, selector string) {
	ks, err := s.dkimKeys("").KeysOf(domain)
	if err != nil {
		s.apiErr(w, err)
		return
	}
	for _, k := range ks {
		if k.Selector == selector {
			writeJSON(w, status, k)
			return
		}
	}
	s.apiErr(w, dkim.ErrNoKey)
}

// apiDKIMKeygen is `dkim keygen DOMAIN --selector S --algo A [--activate]`:
// a rotation is a new selector, activated once its record is published.
func (s *Server) apiDKIMKeygen(w http.ResponseWriter, r *http.Request) {
	req := struct {
		Selector  string `json:"selector"`
		Algorithm string `json:"algorithm"`
		Activate  bool   `json:"activate"`
	}{Algorithm: "rsa"}
	if !decode(w, r, &req) {
		return
	}
	domain := strings.ToLower(strings.TrimSuffix(r.PathValue("name"), "."))
	if _, err := s.dkimKeys(apiActor(r)).Generate(domain, req.Selector, req.Algorithm, req.Activate); err != nil {
		s.apiErr(w, err)
		return
	}
	s.keyOf(w, http.StatusCreated, domain, req.Selector)
}

// apiDKIMActivate is `dkim activate DOMAIN SELECTOR`.
func (s *Server) apiDKIMActivate(w http.ResponseWriter, r *http.Request) {
	domain := strings.ToLower(r.PathValue("name"))
	if err := s.dkimKeys(apiActor(r)).Activate(domain, r.PathValue("selector")); err != nil {
		s.apiErr(w, err)
		return
	}
	s.keyOf(w, http.StatusOK, domain, r.PathValue("selector"))
}

// apiDKIMRetire is `dkim retire DOMAIN SELECTOR`.
func (s *Server) apiDKIMRetire(w http.ResponseWriter, r *http.Request) {
	s.apiDone(w, s.dkimKeys(apiActor(r)).Retire(r.PathValue("name"), r.PathValue("selector")))
}

// apiRecord is one record to publish, as data and as a zone file line.
type apiRecord struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Data string `json:"data"`
	Why  string `json:"why"`
	Zone string `json:"zone_line"`
}

func toAPIRecord(rec dnsrecords.Record) apiRecord {
	return apiRecord{rec.Name, mdns.TypeToString[rec.Type], rec.Data, rec.Why, rec.String()}
}

// apiDNSRecords is `dns records DOMAIN`.
func (s *Server) apiDNSRecords(w http.ResponseWriter, r *http.Request) {
	z, err := dnsrecords.Expected(s.cfg, s.dkimKeys(""), r.PathValue("name"))
	if err != nil {
		s.apiErr(w, err)
		return
	}
	recs := make([]apiRecord, len(z.Records))
	for i, rec := range z.Records {
		recs[i] = toAPIRecord(rec)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"domain": z.Domain, "records": recs, "notes": append([]string{}, z.Notes...),
		"mta_sts_policy": z.STSPolicy, "zone": z.Text(),
	})
}

// apiDNSCheck is `dns check DOMAIN`: each record looked up live through
// the configured resolver, ok, missing, different (with what was found)
// or error. "ok" is true when every record is.
func (s *Server) apiDNSCheck(w http.ResponseWriter, r *http.Request) {
	z, err := dnsrecords.Expected(s.cfg, s.dkimKeys(""), r.PathValue("name"))
	if err != nil {
		s.apiErr(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 45*time.Second)
	defer cancel()
	findings := dnsrecords.Check(ctx, dns.New(s.cfg.DNS.Servers, s.cfg.DNS.Timeout), z)
	type finding struct {
		apiRecord
		Status string   `json:"status"`
		Found  []string `json:"found,omitempty"`
	}
	out := make([]finding, len(findings))
	_, good := dnsrecords.Report(findings)
	for i, f := range findings {
		out[i] = finding{toAPIRecord(f.Record), string(f.Status), f.Found}
	}
	writeJSON(w, http.StatusOK, map[string]any{"domain": z.Domain, "ok": good, "records": out})
}
