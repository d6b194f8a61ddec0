package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"mailgate/internal/address"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// The console is the API's operations for a human: the same store and
// spool calls, behind a login by an account listed in [web] operators,
// with CSRF-protected forms. Changes are audited as "web:<account>".

// operator lets only logged-in operators through; others get 403 (a
// visitor without a session is sent to the login first, by loggedIn).
func (s *Server) operator(next http.HandlerFunc) http.HandlerFunc {
	return s.loggedIn(func(w http.ResponseWriter, r *http.Request) {
		if !s.isOperator(s.session(r).Account) {
			s.fail(w, r, http.StatusForbidden, "con.forbidden")
			return
		}
		next(w, r)
	})
}

func (s *Server) isOperator(acct string) bool {
	return slices.ContainsFunc(s.cfg.Web.Operators, func(o string) bool {
		n, err := address.Normalize(o)
		return err == nil && n == acct
	})
}

func (s *Server) consoleRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /console", s.tlsOnly(s.operator(s.consoleHome)))
	m.HandleFunc("GET /console/queue", s.tlsOnly(s.operator(s.consoleQueue)))
	m.HandleFunc("GET /console/charts", s.tlsOnly(s.operator(s.consoleCharts)))
	m.HandleFunc("POST /console/queue/{id}/{action}", s.tlsOnly(s.csrf(s.operator(s.consoleQueueAction))))
	m.HandleFunc("GET /console/accounts", s.tlsOnly(s.operator(s.consoleAccounts)))
	m.HandleFunc("POST /console/domains", s.tlsOnly(s.csrf(s.operator(s.consoleAddDomain))))
	m.HandleFunc("POST /console/accounts/{address}/status", s.tlsOnly(s.csrf(s.operator(s.consoleSetStatus))))
	s.consoleAccountRoutes(m)
	s.consoleEdgeRoutes(m)
}

type consoleHomeData struct {
	Queued   int
	Domains  int
	Attempts []store.AttemptRecord
}

func (s *Server) consoleHome(w http.ResponseWriter, r *http.Request) {
	var d consoleHomeData
	if s.spool != nil {
		ids, _ := s.spool.IDs()
		d.Queued = len(ids)
	}
	ds, err := s.st.Domains(r.Context())
	if err == nil {
		d.Domains = len(ds)
		d.Attempts, err = s.st.AttemptsReport(r.Context(), 10)
	}
	if err != nil {
		s.log.Error("web: console", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	s.render(w, r, http.StatusOK, "console", d)
}

type consoleQueueData struct {
	Entries []spool.Entry
	Actions []string
	Done    string
	Error   string
}

func (s *Server) showQueue(w http.ResponseWriter, r *http.Request, status int, done, fail string) {
	d := consoleQueueData{Actions: []string{"retry", "hold", "release", "remove"}, Done: done, Error: fail}
	if s.spool != nil {
		var err error
		if d.Entries, err = s.spool.Entries(); err != nil {
			s.fail(w, r, http.StatusInternalServerError, "err.internal")
			return
		}
	}
	s.render(w, r, status, "console_queue", d)
}

func (s *Server) consoleQueue(w http.ResponseWriter, r *http.Request) {
	s.showQueue(w, r, http.StatusOK, "", "")
}

// consoleQueueAction is `queue retry|hold|release|remove ID`.
func (s *Server) consoleQueueAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	var err error
	switch change, ok := spool.Actions[action]; {
	case s.spool == nil:
		err = spool.ErrNotFound
	case ok:
		err = s.spool.Change(id, change)
	case action == "remove":
		err = s.spool.Remove(id)
	default:
		s.fail(w, r, http.StatusNotFound, "err.notfound")
		return
	}
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, spool.ErrNotFound) {
			status = http.StatusNotFound
		}
		s.showQueue(w, r, status, "", err.Error())
		return
	}
	s.log.Info("console queue action", "actor", "web:"+s.session(r).Account, "id", id, "action", action)
	s.showQueue(w, r, http.StatusOK, id+": "+action, "")
}

type consoleAccountsData struct {
	Domains  []store.Domain
	Domain   string
	Accounts []store.Account
	Done     string
	Error    string
}

func (s *Server) showAccounts(w http.ResponseWriter, r *http.Request, status int, domain, done, fail string) {
	d := consoleAccountsData{Domain: domain, Done: done, Error: fail}
	var err error
	if d.Domains, err = s.st.Domains(r.Context()); err == nil && domain != "" {
		d.Accounts, err = s.st.Accounts(r.Context(), domain)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	s.render(w, r, status, "console_accounts", d)
}

func (s *Server) consoleAccounts(w http.ResponseWriter, r *http.Request) {
	s.showAccounts(w, r, http.StatusOK, r.URL.Query().Get("domain"), "", "")
}

// formErr shows a domain error's own message with a 4xx status.
func formStatus(err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrInUse):
		return http.StatusConflict
	case errors.Is(err, store.ErrInvalid), errors.Is(err, address.ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (s *Server) consoleAddDomain(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if err := s.st.AddDomain(r.Context(), "web:"+s.session(r).Account, name); err != nil {
		s.showAccounts(w, r, formStatus(err), "", "", err.Error())
		return
	}
	s.showAccounts(w, r, http.StatusOK, strings.ToLower(name), name+": added", "")
}

// consoleSetStatus is `user suspend|resume`.
func (s *Server) consoleSetStatus(w http.ResponseWriter, r *http.Request) {
	addr := r.PathValue("address")
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	status, reason := r.PostFormValue("status"), r.PostFormValue("reason")
	if reason == "" {
		reason = "console"
	}
	if err := s.st.SetStatus(r.Context(), "web:"+s.session(r).Account, addr, status, reason); err != nil {
		s.showAccounts(w, r, formStatus(err), domain, "", err.Error())
		return
	}
	s.showAccounts(w, r, http.StatusOK, domain, addr+": "+status, "")
}
