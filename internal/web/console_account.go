package web

import (
	"net/http"
	"strings"

	"mailgate/internal/store"
)

// The console's account page: the account's storage quota and its
// Maildir's usage, and a form to change the quota (`mailgate user quota
// ADDRESS SIZE`, the same parser and store call, audited as web:<operator>).

type consoleAccountData struct {
	Account *store.Account
	Quota   *quotaInfo
	Done    string
	Error   string
}

func (s *Server) consoleAccountRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /console/accounts/{address}", s.tlsOnly(s.operator(s.consoleAccount)))
	m.HandleFunc("POST /console/accounts/{address}/quota", s.tlsOnly(s.csrf(s.operator(s.consoleSetQuota))))
}

func (s *Server) consoleAccount(w http.ResponseWriter, r *http.Request) {
	s.showConsoleAccount(w, r, http.StatusOK, "", "")
}

func (s *Server) showConsoleAccount(w http.ResponseWriter, r *http.Request, status int, done, fail string) {
	a, err := s.st.Account(r.Context(), r.PathValue("address"))
	if err != nil {
		s.showAccounts(w, r, formStatus(err), "", "", err.Error())
		return
	}
	q, err := s.quotaOf(r.Context(), a.Address)
	if err != nil {
		s.log.Error("console: mailbox quota", "account", a.Address, "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	s.render(w, r, status, "console_account", consoleAccountData{Account: a, Quota: &q, Done: done, Error: fail})
}

// consoleSetQuota is `user quota ADDRESS SIZE|default|unlimited`.
func (s *Server) consoleSetQuota(w http.ResponseWriter, r *http.Request) {
	addr := r.PathValue("address")
	value := strings.TrimSpace(r.PostFormValue("quota"))
	bytes, err := store.ParseQuota(value)
	if err == nil {
		err = s.setQuota(r.Context(), "web:"+s.session(r).Account, addr, bytes)
	}
	if err != nil {
		s.showConsoleAccount(w, r, formStatus(err), "", err.Error())
		return
	}
	s.showConsoleAccount(w, r, http.StatusOK, pickLang(r).T("quota.done", strings.ToLower(addr), value), "")
}
