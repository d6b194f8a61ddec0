package sieve

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mailgate/internal/address"
	"strings"
)

// Vacation (RFC 5230) and the RFC 3834 rules on when not to answer.

const (
	vacationDefaultDays = 7  // RFC 5230 §4.1
	vacationMinDays     = 1  // RFC 5230 §4.1: at least a day
	vacationMaxDays     = 60 // Pigeonhole's sieve_vacation_max_period
)

func (r *run) vacation(c *Command) error {
	a := &c.args
	v := &Vacation{Days: vacationDefaultDays}
	if d, ok := a.tags["days"]; ok {
		v.Days = int(min(max(d.Num, vacationMinDays), vacationMaxDays))
	}
	if s, ok := a.tags["subject"]; ok {
		v.Subject = r.str(s)
	}
	if s, ok := a.tags["from"]; ok {
		v.From = r.str(s)
	}
	if s, ok := a.tags["addresses"]; ok {
		v.Addresses = r.strs(s)
	}
	_, v.Mime = a.tags["mime"]
	reason := r.str(a.pos[0])
	if h, ok := a.tags["handle"]; ok {
		v.Handle = r.str(h)
	} else {
		// RFC 5230 §4.2: without :handle, the reason, subject, from and
		// mime together identify the response.
		sum := sha256.Sum256([]byte(reason + "\x00" + v.Subject + "\x00" + v.From + "\x00" + map[bool]string{true: "mime"}[v.Mime]))
		v.Handle = hex.EncodeToString(sum[:16])
	}
	// The conflicts of RFC 5429 §2.1 and RFC 5230 §4.7 hold even when
	// RFC 3834 then keeps the reply from going.
	for _, old := range r.res.Actions {
		if isReject(old.Kind) {
			return fmt.Errorf("%s: vacation conflicts with an earlier %s (RFC 5429 §2.1)", c.Pos, old.Kind)
		}
	}
	if r.vacationAsked {
		return fmt.Errorf("%s: a second vacation action (RFC 5230 §4.7 allows one)", c.Pos)
	}
	r.vacationAsked = true
	if why := r.vacationSkip(v); why != "" {
		r.res.Notes = append(r.res.Notes, "vacation not sent: "+why)
		return nil
	}
	v.To = r.env.Envelope.From
	return r.addAction(Action{Kind: ActVacation, Reason: reason, Vacation: v}, c.Pos)
}

// vacationSkip says why no reply may go, or "" (RFC 5230 §4.5, RFC 3834 §2).
func (r *run) vacationSkip(v *Vacation) string {
	sender := strings.ToLower(envelopeAddress(r.env.Envelope.From).all)
	if sender == "" {
		return "null sender"
	}
	local := sender
	if at := strings.LastIndexByte(sender, '@'); at >= 0 {
		local = sender[:at]
	}
	switch {
	case local == "mailer-daemon", local == "listserv", local == "majordomo",
		strings.HasPrefix(local, "owner-"), strings.HasSuffix(local, "-request"):
		return "the sender is a mailing list or a mailer"
	}
	mine := append([]string{r.env.Envelope.To}, r.env.UserAddresses...)
	mine = append(mine, v.Addresses...)
	if isMine(mine, sender) {
		return "the sender is the recipient"
	}
	for _, as := range r.msg.Header("Auto-Submitted") {
		if !strings.EqualFold(strings.TrimSpace(strings.SplitN(as, ";", 2)[0]), "no") {
			return "Auto-Submitted: " + strings.TrimSpace(as)
		}
	}
	for _, p := range r.msg.Header("Precedence") {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "bulk", "list", "junk":
			return "Precedence: " + strings.TrimSpace(p)
		}
	}
	for _, h := range []string{"List-Id", "List-Help", "List-Subscribe", "List-Unsubscribe", "List-Post", "List-Owner", "List-Archive"} {
		if len(r.msg.Header(h)) > 0 {
			return "a mailing list message (" + h + ")"
		}
	}
	// RFC 5230 §4.5: only when one of the user's addresses is in a
	// recipient field.
	for _, h := range []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"} {
		for _, val := range r.msg.Header(h) {
			for _, ad := range headerAddresses(val) {
				if isMine(mine, ad.all) {
					return ""
				}
			}
		}
	}
	return "none of the recipient's addresses is in To, Cc or Bcc"
}

// isMine says whether addr is one of mine, also without a +detail (RFC
// 5233): mail to me+work@ is often addressed to me@ in its header.
func isMine(mine []string, addr string) bool {
	for _, m := range mine {
		m = envelopeAddress(m).all
		if strings.EqualFold(addr, m) || strings.EqualFold(addr, withoutDetail(m)) {
			return true
		}
	}
	return false
}

func withoutDetail(addr string) string {
	base, _ := address.WithoutDetail(addr)
	return base
}
