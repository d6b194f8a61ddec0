package web

import (
	"errors"
	"net/http"
	"strconv"

	"mailgate/internal/login"
	"mailgate/internal/password"
	"mailgate/internal/sieve"
	"mailgate/internal/store"
)

// filterRow is one filter rule as the page numbers it (the number
// RemoveFilterRule and `mailgate filter list` use).
type filterRow struct {
	N int
	sieve.Rule
}

type accountData struct {
	Account              string
	Messages, Recipients int
	MsgLimit, RcptLimit  string
	Spam                 store.SpamSettings
	Logins               []store.WebLogin
	Filters              []filterRow
	Actions              []string
	Done, Error          string
	Quota                *quotaInfo // nil: no storage limit
}

func (s *Server) accountData(r *http.Request) (*accountData, error) {
	ws := s.session(r)
	d := &accountData{Account: ws.Account, Actions: store.SpamActions, Quota: s.subscriberQuota(r)}
	var err error
	if d.Recipients, d.Messages, err = s.st.SendUsage(r.Context(), ws.Account); err != nil {
		return nil, err
	}
	o, err := s.st.LimitOverride(r.Context(), ws.Account)
	if err != nil {
		return nil, err
	}
	lim := o.Apply(store.SendLimits{RecipientsPerDay: s.cfg.Limits.RecipientsPerDay, MessagesPerDay: s.cfg.Limits.MessagesPerDay})
	d.MsgLimit, d.RcptLimit = limitText(lim.MessagesPerDay), limitText(lim.RecipientsPerDay)
	if d.Spam, err = s.st.AccountSpam(r.Context(), ws.Account); err != nil {
		return nil, err
	}
	if d.Logins, err = s.st.WebLogins(r.Context(), ws.Account, 10); err != nil {
		return nil, err
	}
	rules, err := s.st.FilterRules(r.Context(), ws.Account)
	if err != nil {
		return nil, err
	}
	for i, rule := range rules {
		d.Filters = append(d.Filters, filterRow{N: i + 1, Rule: rule})
	}
	return d, nil
}

func limitText(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func (s *Server) showAccount(w http.ResponseWriter, r *http.Request, status int, done, fail string) {
	d, err := s.accountData(r)
	if err != nil {
		s.log.Error("web: account page", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	d.Done, d.Error = done, fail
	s.render(w, r, status, "account", d)
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	s.showAccount(w, r, http.StatusOK, "", "")
}

// changePassword checks the current password through login.CheckFrom (the
// same throttling as a login), the new one through password.CheckNew (the
// CLI's rule), then stores it and ends the account's other web sessions.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	ws := s.session(r)
	cur, pw, again := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("again")
	if _, err := login.CheckFrom(r.Context(), s.st, clientNetAddr(r), ws.Account, cur); err != nil {
		if errors.Is(err, login.ErrFailed) {
			s.metrics.logins.WithLabelValues("failed").Inc()
			s.showAccount(w, r, http.StatusUnauthorized, "", "acct.pw.wrong")
			return
		}
		s.showAccount(w, r, http.StatusServiceUnavailable, "", "login.later")
		return
	}
	if pw != again {
		s.showAccount(w, r, http.StatusBadRequest, "", "acct.pw.differ")
		return
	}
	if err := password.CheckNew(pw); err != nil {
		s.showAccount(w, r, http.StatusBadRequest, "", "acct.pw.short")
		return
	}
	hash, err := password.Hash(pw)
	if err == nil {
		err = s.st.SetPassword(r.Context(), "web:"+ws.Account, ws.Account, hash)
	}
	if err != nil {
		s.log.Error("web: set password", "account", ws.Account, "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	// SetPassword ended every session of the account, whoever knew the
	// old password's among them; this browser gets a new one.
	if err := s.startSession(w, r, ws.Account); err != nil {
		s.log.Error("web: start session after a password change", "account", ws.Account, "err", err)
	}
	s.showAccount(w, r, http.StatusOK, "acct.pw.done", "")
}

// changeSpam stores the spam-check choice; store.SetAccountSpam validates
// and audits it.
func (s *Server) changeSpam(w http.ResponseWriter, r *http.Request) {
	ws := s.session(r)
	set, err := s.st.AccountSpam(r.Context(), ws.Account)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	set.Enabled = r.PostFormValue("enabled") == "on"
	set.Action = r.PostFormValue("action")
	if err := s.st.SetAccountSpam(r.Context(), "web:"+ws.Account, ws.Account, set); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			s.showAccount(w, r, http.StatusBadRequest, "", "err.internal")
			return
		}
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	s.showAccount(w, r, http.StatusOK, "acct.spam.done", "")
}

// addFilter adds one rule to the account's managed Sieve section through
// store.AddFilterRule, the operation `mailgate filter add` runs (it checks
// the regular expression and the folder, and audits).
func (s *Server) addFilter(w http.ResponseWriter, r *http.Request) {
	ws := s.session(r)
	rule := sieve.Rule{Header: r.PostFormValue("header"), Regex: r.PostFormValue("regex"), Folder: r.PostFormValue("folder")}
	if err := s.st.AddFilterRule(r.Context(), "web:"+ws.Account, ws.Account, rule); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			s.showAccount(w, r, http.StatusBadRequest, "", "acct.filter.bad")
			return
		}
		s.log.Error("web: add filter", "account", ws.Account, "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	s.showAccount(w, r, http.StatusOK, "acct.filter.added", "")
}

// removeFilter removes rule n (as the page numbers them), as `mailgate
// filter remove` does.
func (s *Server) removeFilter(w http.ResponseWriter, r *http.Request) {
	ws := s.session(r)
	n, err := strconv.Atoi(r.PostFormValue("n"))
	if err == nil {
		err = s.st.RemoveFilterRule(r.Context(), "web:"+ws.Account, ws.Account, n)
	}
	if err != nil {
		s.showAccount(w, r, http.StatusBadRequest, "", "acct.filter.bad")
		return
	}
	s.showAccount(w, r, http.StatusOK, "acct.filter.removed", "")
}
