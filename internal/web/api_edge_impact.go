package web

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"mailgate/internal/dns"
	"mailgate/internal/edge"
)

// impactBodyLimit caps a flow file sent to edge impact, as pool import's
// file is capped: a day of one BNG's port-25 flows in nfdump CSV is a
// few MiB; a bigger capture is for `mailgate edge impact` on the host.
const impactBodyLimit = 16 << 20

// impactTopDefault is edge impact's --top default.
const impactTopDefault = 20

// impactQuery reads edge impact's what-if from the API's query (or form
// fields) or the console's form, named as the CLI's flags: at, scope,
// exempt and unexempt (repeatable; a value may hold several, space- or
// comma-separated), top, resolve (true, the default, or false) and
// nfdump-tz (the zone of nfdump's ts, UTC unless given);
// pools is the uploaded pool file (--pools), nil for none.
func (s *Server) impactQuery(v url.Values, pools []byte, poolsName string) (edge.ImpactQuery, error) {
	q := edge.ImpactQuery{At: strings.TrimSpace(v.Get("at")), Top: impactTopDefault, NfdumpTZ: strings.TrimSpace(v.Get("nfdump-tz")), WhatIf: edge.ImpactWhatIf{
		Scope: strings.TrimSpace(v.Get("scope")), Exempt: fields(v["exempt"]), Unexempt: fields(v["unexempt"]),
		Pools: pools, PoolsName: poolsName,
	}}
	if t := strings.TrimSpace(v.Get("top")); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > 1000 {
			return q, &edge.QueryError{Param: "top", Err: errors.New("want 0..1000 (sources listed per table)")}
		}
		q.Top = n
	}
	switch v.Get("resolve") {
	case "", "true":
		// As the CLI's --resolve, with the node's [dns] servers.
		q.Resolver = dns.Carriers(s.cfg.DNS.Servers, s.cfg.DNS.Timeout)
	case "false":
	default:
		return q, &edge.QueryError{Param: "resolve", Err: errors.New("want true or false")}
	}
	return q, nil
}

// fields splits each value at spaces and commas.
func fields(vs []string) []string {
	var out []string
	for _, v := range vs {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' || r == '\r' })...)
	}
	return out
}

// replayImpact is edge impact over the web, the CLI's what-ifs included.
func (s *Server) replayImpact(ctx context.Context, flows io.Reader, v url.Values, pools []byte, poolsName string) (*edge.Impact, error) {
	q, err := s.impactQuery(v, pools, poolsName)
	if err != nil {
		return nil, err
	}
	return edge.ImpactFromStore(ctx, s.st, flows, q)
}

// impactPools reads the optional pool file of a multipart form: nil when
// none was chosen.
func impactPools(r *http.Request) ([]byte, string, error) {
	f, fh, err := r.FormFile("pools")
	if errors.Is(err, http.ErrMissingFile) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	if fh.Filename == "" && fh.Size == 0 { // a file input left empty
		return nil, "", nil
	}
	data, err := io.ReadAll(f)
	return data, fh.Filename, err
}

// apiEdgeImpact is `edge impact - --json`: the body is the flow file
// (nfdump CSV or SRC DST [PORT] lines), the query the what-if. A
// multipart/form-data body carries the flow file as the part "flows", a
// pool file (--pools) as "pools" and the what-if as fields or in the
// query. It reads the store and changes nothing.
func (s *Server) apiEdgeImpact(w http.ResponseWriter, r *http.Request) {
	flows, v := io.Reader(r.Body), r.URL.Query()
	var pools []byte
	var poolsName string
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		err := r.ParseMultipartForm(4 << 20)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiFail(w, http.StatusRequestEntityTooLarge, "too_large", "the flow file is over 16 MiB: replay it in parts, or run mailgate edge impact on the host")
			return
		}
		if err != nil {
			apiFail(w, http.StatusBadRequest, "invalid", "multipart body: "+err.Error())
			return
		}
		defer r.MultipartForm.RemoveAll()
		f, _, err := r.FormFile("flows")
		if err != nil {
			apiFail(w, http.StatusBadRequest, "invalid", "flows: the multipart body needs the flow file as the part flows")
			return
		}
		defer f.Close()
		if pools, poolsName, err = impactPools(r); err != nil {
			apiFail(w, http.StatusBadRequest, "invalid", "pools: "+err.Error())
			return
		}
		flows, v = f, r.Form // the query and the form's fields
	}
	im, err := s.replayImpact(r.Context(), flows, v, pools, poolsName)
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
