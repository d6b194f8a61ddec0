package web

import (
	"net/http"

	"mailgate/internal/store"
)

// apiLimitsBody is an account's daily send limits: its own values (null:
// the [limits] default), what applies, and what it sent in the last 24 h.
type apiLimitsBody struct {
	RecipientsPerDay *int `json:"recipients_per_day"`
	MessagesPerDay   *int `json:"messages_per_day"`
}

// apiLimits is `user limits ADDRESS`.
func (s *Server) apiLimits(w http.ResponseWriter, r *http.Request) {
	addr := r.PathValue("address")
	if _, err := s.st.Account(r.Context(), addr); err != nil {
		s.apiErr(w, err)
		return
	}
	o, err := s.st.LimitOverride(r.Context(), addr)
	if err != nil {
		s.apiErr(w, err)
		return
	}
	rcpts, msgs, err := s.st.SendUsage(r.Context(), addr)
	if err != nil {
		s.apiErr(w, err)
		return
	}
	eff := o.Apply(store.SendLimits{RecipientsPerDay: s.cfg.Limits.RecipientsPerDay, MessagesPerDay: s.cfg.Limits.MessagesPerDay})
	writeJSON(w, http.StatusOK, map[string]any{
		"account":  addr,
		"override": apiLimitsBody{o.RecipientsPerDay, o.MessagesPerDay},
		"limits":   map[string]int{"recipients_per_day": eff.RecipientsPerDay, "messages_per_day": eff.MessagesPerDay},
		"sent_24h": map[string]int{"recipients": rcpts, "messages": msgs},
	})
}

// apiSetLimits is `user limits ADDRESS --recipients-per-day N
// --messages-per-day N`: the body's values replace the account's own
// limits (null or absent: the default; 0: no limit). store.SetLimitOverride
// validates and audits.
func (s *Server) apiSetLimits(w http.ResponseWriter, r *http.Request) {
	var req apiLimitsBody
	if !decode(w, r, &req) {
		return
	}
	o := store.LimitOverride{RecipientsPerDay: req.RecipientsPerDay, MessagesPerDay: req.MessagesPerDay}
	if err := s.st.SetLimitOverride(r.Context(), apiActor(r), r.PathValue("address"), o); err != nil {
		s.apiErr(w, err)
		return
	}
	s.apiLimits(w, r)
}
