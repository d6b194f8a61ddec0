package web

import (
	"net/http"
	"strings"
	"time"

	"mailgate/internal/edge"
	"mailgate/internal/store"
)

// The rest of the edge policy on the console's edge page: relays, carrier
// sets, the scope schedule and the action — `mailgate edge
// relay|carrier|scope|action`. Each form calls the store function the CLI
// and the API call (the store validates and audits as web:<account>);
// dates are read by edge.ParseWhen in the server's zone, as there.

func (s *Server) consoleEdgePolicyRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /console/edge/relays", s.tlsOnly(s.csrf(s.operator(s.consoleAddRelays))))
	m.HandleFunc("POST /console/edge/relays/remove", s.tlsOnly(s.csrf(s.operator(s.consoleRemoveRelay))))
	m.HandleFunc("POST /console/edge/carriers", s.tlsOnly(s.csrf(s.operator(s.consoleAddCarrier))))
	m.HandleFunc("POST /console/edge/carriers/remove", s.tlsOnly(s.csrf(s.operator(s.consoleRemoveCarrier))))
	m.HandleFunc("POST /console/edge/scope", s.tlsOnly(s.csrf(s.operator(s.consoleSetScope))))
	m.HandleFunc("POST /console/edge/scope/remove", s.tlsOnly(s.csrf(s.operator(s.consoleRemoveScopeChange))))
	m.HandleFunc("POST /console/edge/action", s.tlsOnly(s.csrf(s.operator(s.consoleSetAction))))
}

// carrierSet is one carrier's entries, for the page.
type carrierSet struct {
	Name    string
	Entries []store.CarrierEntry
}

// groupCarriers groups the store's entries (sorted by name) by carrier.
func groupCarriers(cs []store.CarrierEntry) []carrierSet {
	var out []carrierSet
	for _, c := range cs {
		if len(out) == 0 || out[len(out)-1].Name != c.Name {
			out = append(out, carrierSet{Name: c.Name})
		}
		out[len(out)-1].Entries = append(out[len(out)-1].Entries, c)
	}
	return out
}

// formList splits a form field of several addresses, prefixes or domains:
// separated by spaces, commas or lines.
func formList(v string) []string {
	return strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' })
}

// consoleAddRelays is `edge relay add ADDR|PREFIX...`.
func (s *Server) consoleAddRelays(w http.ResponseWriter, r *http.Request) {
	l := pickLang(r)
	prefixes := formList(r.PostFormValue("prefixes"))
	if len(prefixes) == 0 {
		s.showEdge(w, r, http.StatusBadRequest, "", l.T("con.err.relays"))
		return
	}
	if err := s.st.AddRelays(r.Context(), s.webActor(r), prefixes); err != nil {
		s.showEdge(w, r, formStatus(err), "", err.Error())
		return
	}
	s.showEdge(w, r, http.StatusOK, l.T("con.done.relayadd", strings.Join(prefixes, ", ")), "")
}

// consoleRemoveRelay is `edge relay remove ADDR|PREFIX`.
func (s *Server) consoleRemoveRelay(w http.ResponseWriter, r *http.Request) {
	prefix := r.PostFormValue("prefix")
	if err := s.st.RemoveRelay(r.Context(), s.webActor(r), prefix); err != nil {
		s.showEdge(w, r, formStatus(err), "", err.Error())
		return
	}
	s.showEdge(w, r, http.StatusOK, pickLang(r).T("con.done.relayremove", prefix), "")
}

// consoleAddCarrier is `edge carrier add NAME PREFIX|DOMAIN...`.
func (s *Server) consoleAddCarrier(w http.ResponseWriter, r *http.Request) {
	l := pickLang(r)
	name, entries := strings.TrimSpace(r.PostFormValue("name")), formList(r.PostFormValue("entries"))
	if len(entries) == 0 {
		s.showEdge(w, r, http.StatusBadRequest, "", l.T("con.err.carrier"))
		return
	}
	if err := s.st.AddCarrierEntries(r.Context(), s.webActor(r), name, entries); err != nil {
		s.showEdge(w, r, formStatus(err), "", err.Error())
		return
	}
	s.showEdge(w, r, http.StatusOK, l.T("con.done.carrieradd", name, strings.Join(entries, ", ")), "")
}

// consoleRemoveCarrier is `edge carrier remove NAME [ENTRY]`.
func (s *Server) consoleRemoveCarrier(w http.ResponseWriter, r *http.Request) {
	l := pickLang(r)
	name, entry := r.PostFormValue("name"), r.PostFormValue("entry")
	var entries []string
	done := l.T("con.done.carrierremove", name)
	if entry != "" {
		entries, done = []string{entry}, l.T("con.done.carrierentryremove", entry, name)
	}
	if err := s.st.RemoveCarrier(r.Context(), s.webActor(r), name, entries); err != nil {
		s.showEdge(w, r, formStatus(err), "", err.Error())
		return
	}
	s.showEdge(w, r, http.StatusOK, done, "")
}

// consoleSetScope is `edge scope all|carriers [--from WHEN]`: an empty
// "from" is now.
func (s *Server) consoleSetScope(w http.ResponseWriter, r *http.Request) {
	l := pickLang(r)
	scope := r.PostFormValue("scope")
	from, err := edge.ParseOptionalWhen(r.PostFormValue("from"), time.Local)
	if err != nil {
		s.showEdge(w, r, http.StatusBadRequest, "", "from: "+err.Error())
		return
	}
	if err := s.st.SetScope(r.Context(), s.webActor(r), scope, from); err != nil {
		s.showEdge(w, r, formStatus(err), "", err.Error())
		return
	}
	done := l.T("con.done.scopenow", l.T("con.scope."+scope))
	if !from.IsZero() {
		done = l.T("con.done.scopefrom", l.T("con.scope."+scope), from.Format("2006-01-02 15:04 MST"))
	}
	s.showEdge(w, r, http.StatusOK, done, "")
}

// consoleRemoveScopeChange is `edge scope remove WHEN`.
func (s *Server) consoleRemoveScopeChange(w http.ResponseWriter, r *http.Request) {
	at, err := edge.ParseWhen(r.PostFormValue("from"), time.Local)
	if err != nil {
		s.showEdge(w, r, http.StatusBadRequest, "", err.Error())
		return
	}
	if err := s.st.RemoveScopeChange(r.Context(), s.webActor(r), at); err != nil {
		s.showEdge(w, r, formStatus(err), "", err.Error())
		return
	}
	s.showEdge(w, r, http.StatusOK, pickLang(r).T("con.done.scoperemove", at.Local().Format("2006-01-02 15:04 MST")), "")
}

// consoleSetAction is `edge action reset|drop|icmp`.
func (s *Server) consoleSetAction(w http.ResponseWriter, r *http.Request) {
	action := r.PostFormValue("action")
	if err := s.st.SetAction(r.Context(), s.webActor(r), action); err != nil {
		s.showEdge(w, r, formStatus(err), "", err.Error())
		return
	}
	s.showEdge(w, r, http.StatusOK, pickLang(r).T("con.done.action", action), "")
}
