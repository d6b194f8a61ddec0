package web

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"mailgate/internal/edge"
)

// The console's what-if page: a flow file uploaded and replayed as
// `mailgate edge impact` and POST /api/v1/edge/impact replay it (the same
// edge.ImpactFromStore), with the what-if fields of their flags. It reads
// the store and changes nothing, so it is not audited (as no console read
// is).

func (s *Server) consoleEdgeImpactRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /console/edge/impact", s.tlsOnly(s.operator(s.consoleEdgeImpact)))
	m.HandleFunc("POST /console/edge/impact", s.tlsOnly(s.operator(s.impactForm(s.csrf(s.consoleReplayImpact)))))
}

type consoleImpactData struct {
	Zone   string     // the server's zone: dates without one are read in it
	Form   url.Values // the what-if fields as sent, shown again
	Impact *edge.Impact
	Error  string
}

// Last is the table of top blocked sources: the what-if's when there is
// one, as the CLI prints it.
func (d consoleImpactData) Last() []edge.SourceRow {
	if d.Impact.Then != nil {
		return d.Impact.Then.Top
	}
	return d.Impact.Now.Top
}

func (s *Server) showImpact(w http.ResponseWriter, r *http.Request, status int, d consoleImpactData) {
	d.Zone, _ = time.Now().Zone()
	if d.Form == nil {
		d.Form = url.Values{"top": {"20"}, "nfdump-tz": {"UTC"}}
	}
	s.render(w, r, status, "console_edge_impact", d)
}

func (s *Server) consoleEdgeImpact(w http.ResponseWriter, r *http.Request) {
	s.showImpact(w, r, http.StatusOK, consoleImpactData{})
}

// impactForm reads the multipart form before csrf looks at it (csrf caps
// a body at 64 KiB), as the compose form does; the flow file is capped as
// the API caps it. A form over the cap is lost: an empty page says why.
func (s *Server) impactForm(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, impactBodyLimit+64<<10)
		err := r.ParseMultipartForm(4 << 20)
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			s.showImpact(w, r, http.StatusRequestEntityTooLarge, consoleImpactData{Error: pickLang(r).T("con.impact.toolarge")})
			return
		case err != nil && !errors.Is(err, http.ErrNotMultipart):
			s.showImpact(w, r, http.StatusBadRequest, consoleImpactData{Error: pickLang(r).T("con.impact.nofile")})
			return
		}
		if r.MultipartForm != nil {
			defer r.MultipartForm.RemoveAll()
		}
		next(w, r)
	}
}

// consoleReplayImpact is `edge impact FILE --at --scope --pools FILE
// --exempt --unexempt --top --resolve --nfdump-tz`.
func (s *Server) consoleReplayImpact(w http.ResponseWriter, r *http.Request) {
	d := consoleImpactData{Form: url.Values{}}
	for _, k := range []string{"at", "scope", "exempt", "unexempt", "top", "resolve", "nfdump-tz"} {
		d.Form.Set(k, r.PostFormValue(k))
	}
	f, fh, err := r.FormFile("flows")
	if err != nil {
		d.Error = pickLang(r).T("con.impact.nofile")
		s.showImpact(w, r, http.StatusBadRequest, d)
		return
	}
	defer f.Close()
	if fh.Size > impactBodyLimit { // the form's cap leaves room for the other fields
		d.Error = pickLang(r).T("con.impact.toolarge")
		s.showImpact(w, r, http.StatusRequestEntityTooLarge, d)
		return
	}
	pools, poolsName, err := impactPools(r)
	if err != nil {
		d.Error = "pools: " + err.Error()
		s.showImpact(w, r, http.StatusBadRequest, d)
		return
	}
	d.Impact, err = s.replayImpact(r.Context(), f, d.Form, pools, poolsName)
	var qe *edge.QueryError
	switch {
	case errors.As(err, &qe) && qe.Param == "flows":
		d.Error = pickLang(r).T("con.impact.flowfile") + ": " + qe.Err.Error()
	case errors.As(err, &qe):
		d.Error = err.Error()
	case err != nil:
		s.log.Error("web: console edge impact", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	status := http.StatusOK
	if d.Error != "" {
		d.Impact, status = nil, http.StatusBadRequest
	}
	s.showImpact(w, r, status, d)
}
