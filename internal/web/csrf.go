package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
)

// CSRF protection is a double-submitted token: a random value in a cookie
// the page's forms repeat in a hidden field. Another site can make the
// browser send the cookie but can neither read it nor set it on our host
// (the __Host- prefix on HTTPS, RFC 6265bis §4.1.3.2), so it cannot fill
// in the field. It holds for forms used before login (login, the probe)
// and needs no server state, so every node of a fleet checks it alike.
// A cross-site Origin header is refused as well.

const csrfField = "csrf"

func csrfCookieName(r *http.Request) string {
	if r.TLS != nil {
		return "__Host-mg_csrf"
	}
	return "mg_csrf"
}

// csrfToken returns the visitor's token, setting the cookie when there is
// none yet; pages put it in their forms.
func csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookieName(r)); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	return newCSRFCookie(w, r)
}

// newCSRFCookie sets a fresh token (at login: a token an attacker planted
// before it must not survive into the session).
func newCSRFCookie(w http.ResponseWriter, r *http.Request) string {
	var b [32]byte
	rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: csrfCookieName(r), Value: v, Path: "/",
		Secure: r.TLS != nil, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	r.AddCookie(&http.Cookie{Name: csrfCookieName(r), Value: v}) // for this request's page
	return v
}

// csrf refuses a form post whose token does not match its cookie, or that
// comes from another origin.
func (s *Server) csrf(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && o != "null" {
			if u, err := url.Parse(o); err != nil || u.Host != r.Host {
				s.metrics.csrfRefused.Inc()
				s.fail(w, r, http.StatusForbidden, "err.csrf")
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		c, err := r.Cookie(csrfCookieName(r))
		form := r.PostFormValue(csrfField)
		if err != nil || len(c.Value) < 32 || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 {
			s.metrics.csrfRefused.Inc()
			s.fail(w, r, http.StatusForbidden, "err.csrf")
			return
		}
		next(w, r)
	}
}
