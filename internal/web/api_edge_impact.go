package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"mailgate/internal/edge"
)

// impactBodyLimit caps a flow file sent to edge impact, as pool import's
// file is capped: a day of one BNG's port-25 flows in nfdump CSV is a
// few MiB; a bigger capture is for `mailgate edge impact` on the host.
const impactBodyLimit = 16 << 20

// impactTopDefault is edge impact's --top default.
const impactTopDefault = 20

// impactQuery reads edge impact's what-if from the API's query or the
// console's form, named as the CLI's flags: at, scope, exempt and
// unexempt (repeatable; the console's field holds them space-separated)
// and top. The pool file what-if is the CLI's only: the body is the flows.
func impactQuery(v url.Values) (edge.ImpactQuery, error) {
	q := edge.ImpactQuery{At: strings.TrimSpace(v.Get("at")), Top: impactTopDefault}
	if t := strings.TrimSpace(v.Get("top")); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > 1000 {
			return q, &edge.QueryError{Param: "top", Err: errors.New("want 0..1000 (sources listed per table)")}
		}
		q.Top = n
	}
	var err error
	q.Change, err = edge.ParseImpactChange(strings.TrimSpace(v.Get("scope")), fields(v["exempt"]), fields(v["unexempt"]))
	return q, err
}

// fields splits each value at spaces and commas.
func fields(vs []string) []string {
	var out []string
	for _, v := range vs {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' || r == '\r' })...)
	}
	return out
}

// replayImpact is edge impact over the web: carrier domains are not
// resolved (as the edge check is not), so carrier-bound flows count by
// the carriers' prefixes only.
func (s *Server) replayImpact(ctx context.Context, flows io.Reader, v url.Values) (*edge.Impact, error) {
	q, err := impactQuery(v)
	if err != nil {
		return nil, err
	}
	return edge.ImpactFromStore(ctx, s.st, flows, q)
}

// apiEdgeImpact is `edge impact - --json`: the body is the flow file
// (nfdump CSV or SRC DST [PORT] lines), the query the what-if. It reads
// the store and changes nothing.
func (s *Server) apiEdgeImpact(w http.ResponseWriter, r *http.Request) {
	im, err := s.replayImpact(r.Context(), r.Body, r.URL.Query())
	var qe *edge.QueryError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		apiFail(w, http.StatusRequestEntityTooLarge, "too_large", "the flow file is over 16 MiB: replay it in parts, or run mailgate edge impact on the host")
	case errors.As(err, &qe) && qe.Param == "flows":
		apiFail(w, http.StatusBadRequest, "invalid", "body: "+qe.Err.Error())
	case errors.As(err, &qe):
		apiFail(w, http.StatusBadRequest, "invalid", err.Error())
	case err != nil:
		s.apiErr(w, err)
	default:
		writeJSON(w, http.StatusOK, im)
	}
}
