package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"mailgate/internal/login"
	"mailgate/internal/store"
)

// The session cookie is only ever set over HTTPS (the login pages are
// tlsOnly): Secure, HttpOnly, SameSite=Lax (a link from a mail still lands
// logged in; forms are covered by CSRF tokens), and __Host- so no other
// host or path can set it (RFC 6265bis §4.1.3.2). Its value is a random
// token whose SHA-256 the store keeps, so any node of a fleet finds it.
const sessionCookie = "__Host-mg_session"

type ctxKey struct{}

// session returns the request's live session, or nil.
func (s *Server) session(r *http.Request) *store.WebSession {
	if ws, ok := r.Context().Value(ctxKey{}).(*store.WebSession); ok {
		return ws
	}
	if r.TLS == nil {
		return nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	ws, err := s.st.WebSession(r.Context(), c.Value, s.cfg.Web.SessionLifetime)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("web: session lookup failed", "err", err)
		}
		return nil
	}
	return ws
}

// loggedIn sends visitors without a session to the login page.
func (s *Server) loggedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ws := s.session(r)
		if ws == nil {
			http.Redirect(w, r, "/login?next="+r.URL.Path, http.StatusSeeOther)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ws)))
	}
}

type loginData struct {
	User  string
	Next  string
	Error string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// safeNext keeps the post-login redirect on our site: a path, never
// "//host" or a URL. A browser drops tabs and newlines anywhere in a URL
// and reads a backslash as "/" (WHATWG URL Standard, basic URL parser), so
// "/\t/evil.example" is "//evil.example" to it: no control character and
// no backslash pass.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") ||
		strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/account"
	}
	return n
}

// loginSubmit checks the password exactly as submission, POP3 and IMAP do
// (login.CheckFrom: unknown users cost the same hash, suspended accounts
// fail alike, sources with recent failures wait behind the others).
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.PostFormValue("user"))
	pw := r.PostFormValue("password")
	d := loginData{User: user, Next: safeNext(r.PostFormValue("next"))}
	src := clientNetAddr(r)
	// login.CheckFrom also throttles per source (internal/login's
	// throttle, [abuse.login]), as for IMAP, POP3 and SMTP AUTH.
	acct, err := login.CheckFrom(r.Context(), s.st, src, user, pw)
	switch {
	case err == nil:
	case errors.Is(err, login.ErrBlocked):
		s.metrics.logins.WithLabelValues("throttled").Inc()
		s.log.Warn("web login blocked", "user", user, "client", r.RemoteAddr)
		d.Error = "login.later"
		w.Header().Set("Retry-After", "900")
		s.render(w, r, http.StatusTooManyRequests, "login", d)
		return
	case errors.Is(err, login.ErrFailed):
		s.metrics.logins.WithLabelValues("failed").Inc()
		s.log.Info("web login failed", "user", user, "client", r.RemoteAddr)
		d.Error = "login.failed"
		s.render(w, r, http.StatusUnauthorized, "login", d)
		return
	default: // unavailable, or a throttle inside login
		s.metrics.logins.WithLabelValues("unavailable").Inc()
		s.log.Warn("web login could not be checked", "user", user, "client", r.RemoteAddr, "err", err)
		d.Error = "login.later"
		s.render(w, r, http.StatusServiceUnavailable, "login", d)
		return
	}
	if err := s.startSession(w, r, acct.Address); err != nil {
		s.log.Error("web: start session", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	s.metrics.logins.WithLabelValues("ok").Inc()
	newCSRFCookie(w, r)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// startSession logs this browser in as account: a new session in the
// store, its token in the cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, account string) error {
	token, err := s.st.StartWebSession(r.Context(), account, clientAddr(r).String(), s.cfg.Web.SessionLifetime)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.st.EndWebSession(r.Context(), c.Value); err != nil {
			s.log.Error("web: end session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
