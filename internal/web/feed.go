package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"mailgate/internal/edge"
	"mailgate/internal/store"
)

var feedTypes = map[string]string{
	"dynamic.txt":  "text/plain; charset=utf-8",
	"dynamic.csv":  "text/csv; charset=utf-8",
	"dynamic.json": "application/json",
}

// feed serves our dynamic prefixes to authorised carriers (a token each,
// `mailgate web feed-token add`), as `mailgate edge feed` prints them. The
// token comes as "Authorization: Bearer" (RFC 6750 §2.1) or ?token= for
// fetchers that only take a URL. The ETag is the body's hash, so
// If-None-Match (RFC 9110 §13.1.2) answers 304 until a prefix changes.
func (s *Server) feed(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	ctype, ok := feedTypes[file]
	if !ok {
		http.NotFound(w, r)
		return
	}
	token := r.URL.Query().Get("token")
	if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = strings.TrimSpace(h)
	}
	carrier, err := s.st.FeedCarrier(r.Context(), token)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("web: feed token lookup", "err", err)
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="mailgate feed"`)
		http.Error(w, "a carrier feed token is required (ask the operator: mailgate web feed-token add)", http.StatusUnauthorized)
		return
	}
	// The feed is the DNSBL's listed space (edge.Feed): dynamic pools
	// without static holes and exemptions, as `edge feed` prints it.
	// Compiled afresh: carriers poll rarely, and must see a change at once.
	p, _, err := edge.Load(r.Context(), s.st, nil, nil, time.Now(), s.log)
	if err != nil {
		s.log.Error("web: feed policy", "err", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	var b bytes.Buffer
	if err := edge.WriteFeed(&b, strings.TrimPrefix(file, "dynamic."), edge.Feed(p)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(b.Bytes())
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, no-cache")
	s.metrics.feedFetches.WithLabelValues(carrier).Inc()
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", ctype)
	w.Write(b.Bytes())
}

// etagMatch is If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
