package authres

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/dmarc"
)

// ARC is the validation of a message's Authenticated Received Chain (RFC
// 8617 §5.2), as the "arc" method of Authentication-Results reports it
// (RFC 8617 §6 and its IANA registration: smtp.remote-ip,
// header.oldest-pass).
type ARC struct {
	Result string // none, pass or fail (RFC 8617 §4.4)
	Reason string // why it failed
	// OldestPass is header.oldest-pass: the oldest instance whose AMS
	// still validates, 0 when all do (§5.2 step 6). Only with pass.
	OldestPass int
	// Sets are the chain's sets, i=1 first, only with pass.
	Sets []ARCSet
	// RemoteIP is the SMTP client's address (smtp.remote-ip).
	RemoteIP netip.Addr
}

// ARCSet is one set of a validated chain.
type ARCSet struct {
	Instance         int
	Sealer, Selector string // the ARC-Seal's d= (lower case) and s=
	// Results is the ARC-Authentication-Results value after its i= tag:
	// the sealer's authserv-id and results (RFC 8617 §4.1.1).
	Results string
}

// ARCVerifier validates the ARC chain of a CRLF message (package arc's
// Validate: package arc builds on this one, so the stage is handed it).
// It fetches keys through r, with the key rules DKIM's (LookupKey).
type ARCVerifier func(ctx context.Context, r TXTResolver, msg []byte) ARC

// resinfo renders the arc result for Authentication-Results.
func (a *ARC) resinfo() string {
	parts := []string{"arc=" + a.Result}
	if a.Reason != "" {
		parts = append(parts, reason(a.Reason))
	}
	if n := len(a.Sets); a.Result == "pass" && n > 0 {
		last := a.Sets[n-1]
		parts = append(parts, comment(fmt.Sprintf("i=%d d=%s s=%s", last.Instance, last.Sealer, last.Selector)),
			fmt.Sprintf("header.oldest-pass=%d", a.OldestPass))
	}
	if a.RemoteIP.IsValid() && a.Result != "none" {
		parts = append(parts, "smtp.remote-ip="+a.RemoteIP.Unmap().String())
	}
	return fold(parts)
}

// trustedARC is the receiver's local policy of RFC 7489 §6.7 applied as
// RFC 8617 §7.2 describes (a receiver may use the results an intermediary
// it trusts recorded before the message was changed): when DMARC failed
// for from, the chain passes, its newest set was sealed by one of
// trusted, and that sealer's own ARC-Authentication-Results say the
// message passed DMARC for from there, it returns the sealer (for the
// override); else "".
//
// Only the newest set's AAR is read: it is the only one written by a
// party we trust. An older set's AAR (the i=1 one, nearest the author) is
// vouched for by its own sealer alone, whom we do not know; a trusted
// sealer that relayed such a chain said what it found in its own AAR.
func trustedARC(a *ARC, trusted []string, d DMARC) string {
	if a == nil || a.Result != "pass" || len(a.Sets) == 0 || len(trusted) == 0 {
		return ""
	}
	last := a.Sets[len(a.Sets)-1]
	if !slices.Contains(trusted, last.Sealer) {
		return ""
	}
	if aarPasses(last.Results, d) {
		return last.Sealer
	}
	return ""
}

// aarPasses reports whether an AAR's results say the message passed DMARC
// for the From domain: its own dmarc result for that domain when it has
// one (a dmarc=fail is final), else a DKIM or SPF pass aligned with it
// under the domain's record's alignment modes (RFC 7489 §3.1).
func aarPasses(results string, d DMARC) bool {
	_, rs := ParseResults(results)
	for _, r := range rs {
		if r.Method == "dmarc" && strings.EqualFold(strings.TrimSuffix(r.Props["header.from"], "."), d.From) {
			return r.Result == "pass"
		}
	}
	var dkimMode, spfMode dmarc.AlignmentMode = dmarc.AlignmentRelaxed, dmarc.AlignmentRelaxed
	if d.Record != nil {
		if d.Record.DKIMAlignment != "" {
			dkimMode = d.Record.DKIMAlignment
		}
		if d.Record.SPFAlignment != "" {
			spfMode = d.Record.SPFAlignment
		}
	}
	for _, r := range rs {
		if r.Result != "pass" {
			continue
		}
		switch r.Method {
		case "dkim":
			if aligned(r.Props["header.d"], d.From, dkimMode) {
				return true
			}
		case "spf":
			mf := r.Props["smtp.mailfrom"]
			if i := strings.LastIndexByte(mf, '@'); i >= 0 {
				mf = mf[i+1:]
			}
			if aligned(mf, d.From, spfMode) {
				return true
			}
		}
	}
	return false
}
