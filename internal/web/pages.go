package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
)

// page is what every template gets.
type page struct {
	L         Lang
	CSRF      string
	User      string // logged-in account, "" when none
	Operator  bool   // User may use the console
	Path      string
	OtherLang string
	Data      any
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(pageFuncs).ParseFS(files, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		out[base[:len(base)-len(".html")]] = t
	}
	return out, nil
}

// pageFuncs are the helpers templates may call beside their data's
// methods.
var pageFuncs = template.FuncMap{
	"inc":      func(n int) int { return n + 1 },
	"dec":      func(n int) int { return n - 1 },
	"sizeText": sizeText,
}

// sizeText is a size for people: 512 B, 12 KB, 3.4 MB, 2.0 GB.
func sizeText(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%d KB", (n+1023)/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(1024*1024*1024))
}

// render writes a page with the layout; the body is built first so a
// template error becomes a 500, never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	p := page{L: pickLang(r), CSRF: csrfToken(w, r), Path: r.URL.Path, Data: data}
	p.OtherLang = "en"
	if p.L.Code == "en" {
		p.OtherLang = "ja"
	}
	if sess := s.session(r); sess != nil {
		p.User = sess.Account
		p.Operator = s.isOperator(sess.Account)
	}
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		s.log.Error("web: template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", p.L.Code)
	h.Set("Vary", "Accept-Language, Cookie")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail renders the error page with a translated message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, key string) {
	s.render(w, r, status, "error", key)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", nil)
}
