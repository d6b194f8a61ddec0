package web

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"

	"mailgate/internal/quotawarn"
	"mailgate/internal/store"
)

// apiQuota is an account's storage quota in the API: the quota in force
// and whether it is the account's own or the node's [mailbox] quota, and
// the Maildir's usage when the Maildir is on the node that answers. In a
// fleet the Maildir lives on its home node only: another node names it
// (home_node) and leaves usage out rather than guess; ask the home node.
type apiQuota struct {
	Bytes    int64          `json:"bytes"`   // 0: unlimited
	Setting  string         `json:"setting"` // "2GiB", "unlimited", as the CLI shows it
	Own      bool           `json:"own"`
	Usage    *apiQuotaUsage `json:"usage,omitempty"`
	HomeNode string         `json:"home_node,omitempty"`
}

type apiQuotaUsage struct {
	Bytes    int64 `json:"bytes"`
	Messages int64 `json:"messages"`
	Percent  *int  `json:"percent,omitempty"` // absent when unlimited
}

func toAPIQuota(q quotaInfo) *apiQuota {
	out := &apiQuota{Bytes: q.Limit, Setting: q.LimitSetting(), Own: q.Own, HomeNode: q.HomeNode}
	if q.Usage != nil {
		out.Usage = &apiQuotaUsage{Bytes: q.Usage.Bytes, Messages: q.Usage.Messages}
		if q.Limit > 0 {
			p := q.Percent()
			out.Usage.Percent = &p
		}
	}
	return out
}

// apiAccountQuota is `user quota ADDRESS`.
func (s *Server) apiAccountQuota(w http.ResponseWriter, r *http.Request) {
	q, err := s.quotaOf(r.Context(), r.PathValue("address"))
	if err != nil {
		s.apiErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIQuota(q))
}

// apiSetAccountQuota is `user quota ADDRESS SIZE`: {"quota": "2GiB"},
// {"quota": 1048576} (octets), "unlimited" (or 0) or "default".
func (s *Server) apiSetAccountQuota(w http.ResponseWriter, r *http.Request) {
	if s.apiApplyQuota(w, r) {
		s.apiAccountQuota(w, r)
	}
}

// apiPatchAccount changes an account's settings given in the body (the
// quota, for now: {"quota": "2GiB"}) and answers with the account.
func (s *Server) apiPatchAccount(w http.ResponseWriter, r *http.Request) {
	if s.apiApplyQuota(w, r) {
		s.apiAccount(w, r)
	}
}

// apiApplyQuota reads {"quota": ...} and sets it; false when it answered
// the request with an error. Strings and numbers both go through
// store.ParseQuota, the CLI's parser, so both refuse the same things
// with the same words.
func (s *Server) apiApplyQuota(w http.ResponseWriter, r *http.Request) bool {
	var req struct {
		Quota json.RawMessage `json:"quota"`
	}
	if !decode(w, r, &req) {
		return false
	}
	var text string
	if err := json.Unmarshal(req.Quota, &text); err != nil {
		var n json.Number
		if err := json.Unmarshal(req.Quota, &n); err != nil {
			apiFail(w, http.StatusBadRequest, "bad_json", `"quota" is a size ("2GiB", "500MB"), octets, "unlimited" or "default"`)
			return false
		}
		text = n.String()
	}
	bytes, err := store.ParseQuota(text)
	if err == nil {
		err = s.setQuota(r.Context(), apiActor(r), r.PathValue("address"), bytes)
	}
	if err != nil {
		s.apiErr(w, err)
		return false
	}
	return true
}

// setQuota is quotawarn.SetQuota for the API and the console: the quota
// set and audited, and the warning a lowered quota crossed stored, as the
// CLI does.
func (s *Server) setQuota(ctx context.Context, actor, addr string, bytes int64) error {
	w := quotawarn.FromConfig(s.cfg, s.log)
	return w.SetQuota(ctx, s.st, filepath.Join(s.cfg.DataDir, "mail"), actor, addr, bytes)
}
