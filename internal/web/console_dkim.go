package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"mailgate/internal/dkim"
	"mailgate/internal/dns"
	"mailgate/internal/dnsrecords"
	"mailgate/internal/store"
)

// The console's DKIM and DNS page for one domain: its keys with the
// records to publish, a new key (rotation), activate, retire — `mailgate
// dkim` — and what `mailgate dns records` prints. No private key is shown.

type consoleDKIMData struct {
	Domains []store.Domain
	Domain  string
	Keys    []dkim.KeyInfo
	Zone    *dnsrecords.Zone
	ZoneErr string
	// Findings is the live check (?check=1), one per record of Zone.
	Findings []dnsrecords.Finding
	Done     string
	Error    string
}

func (s *Server) showDKIM(w http.ResponseWriter, r *http.Request, status int, domain, done, fail string) {
	d := consoleDKIMData{Domain: domain, Done: done, Error: fail}
	var err error
	if d.Domains, err = s.st.Domains(r.Context()); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	if domain != "" {
		if d.Keys, err = s.dkimKeys("").KeysOf(domain); err != nil {
			if d.Error == "" {
				d.Error = err.Error()
			}
			if status == http.StatusOK {
				status = dkimStatus(err)
			}
		}
		if d.Zone, err = dnsrecords.Expected(s.cfg, s.dkimKeys(""), domain); err != nil {
			d.ZoneErr = err.Error()
		} else if r.Method == http.MethodGet && r.URL.Query().Get("check") == "1" {
			ctx, cancel := context.WithTimeout(r.Context(), 45*time.Second)
			d.Findings = dnsrecords.Check(ctx, dns.New(s.cfg.DNS.Servers, s.cfg.DNS.Timeout), d.Zone)
			cancel()
		}
	}
	s.render(w, r, status, "console_dkim", d)
}

// dkimStatus is a DKIM error's HTTP status.
func dkimStatus(err error) int {
	switch {
	case errors.Is(err, dkim.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, dkim.ErrNoKey), errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, dkim.ErrExists), errors.Is(err, dkim.ErrActive), errors.Is(err, store.ErrInUse):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func (s *Server) consoleDKIM(w http.ResponseWriter, r *http.Request) {
	s.showDKIM(w, r, http.StatusOK, strings.ToLower(r.URL.Query().Get("domain")), "", "")
}

// consoleDKIMAction is `dkim keygen|activate|retire`.
func (s *Server) consoleDKIMAction(w http.ResponseWriter, r *http.Request) {
	domain := strings.ToLower(strings.TrimSpace(r.PostFormValue("domain")))
	sel := strings.TrimSpace(r.PostFormValue("selector"))
	k := s.dkimKeys(s.webActor(r))
	var err error
	var done string
	switch r.PathValue("action") {
	case "keygen":
		_, err = k.Generate(domain, sel, r.PostFormValue("algorithm"), r.PostFormValue("activate") == "on")
		done = "key " + sel + " generated: publish its record, then activate it"
		if active, _, _ := k.Active(domain); err == nil && active == sel {
			done = "key " + sel + " generated and signing now: publish its record"
		}
	case "activate":
		err = k.Activate(domain, sel)
		done = domain + " now signs with " + sel
	case "retire":
		err = k.Retire(domain, sel)
		done = "key " + sel + " retired: withdraw its record"
	default:
		s.fail(w, r, http.StatusNotFound, "err.notfound")
		return
	}
	if err != nil {
		s.showDKIM(w, r, dkimStatus(err), domain, "", err.Error())
		return
	}
	s.showDKIM(w, r, http.StatusOK, domain, done, "")
}
