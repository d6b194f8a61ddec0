package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"golang.org/x/text/language"
)

// Lang is the page language, chosen from Accept-Language (RFC 9110
// §12.5.4) or ?lang=; templates call {{.L.T "key"}}.
type Lang struct {
	Code string // "ja" or "en"
}

// Japanese first: without a usable Accept-Language the subscriber sees it.
var langMatcher = language.NewMatcher([]language.Tag{language.Japanese, language.English})

func pickLang(r *http.Request) Lang {
	if q := r.URL.Query().Get("lang"); q == "ja" || q == "en" {
		return Lang{q}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return Lang{"ja"}
	}
	_, i, conf := langMatcher.Match(tags...)
	if i == 1 && conf != language.No {
		return Lang{"en"}
	}
	return Lang{"ja"}
}

// T translates key, formatting args into it; a missing key shows itself
// (a test checks every key has both languages).
func (l Lang) T(key string, args ...any) string {
	m, ok := catalog[key]
	if !ok {
		return key
	}
	s := m[0]
	if l.Code == "en" {
		s = m[1]
	}
	// Extra arguments are dropped: templates pass the same ones to texts
	// that use them and texts that do not.
	if n := strings.Count(s, "%") - 2*strings.Count(s, "%%"); n < len(args) {
		args = args[:n]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// HTML is T for texts that carry markup of ours (<code>, <strong>); the
// arguments are escaped.
func (l Lang) HTML(key string, args ...any) template.HTML {
	esc := make([]any, len(args))
	for i, a := range args {
		esc[i] = template.HTMLEscapeString(fmt.Sprint(a))
	}
	return template.HTML(l.T(key, esc...))
}
