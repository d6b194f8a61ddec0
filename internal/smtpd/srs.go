package smtpd

import (
	"strings"

	"github.com/emersion/go-smtp"

	"mailgate/internal/address"
	"mailgate/internal/srs"
)

var (
	// RFC 3463 §3.2 X.1.1: a bad destination mailbox. A forged SRS
	// address, or one past max_age, names no one we will send to.
	errSRSInvalid = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such address: invalid or expired SRS address"}
	// Only a bounce may go back through an SRS address; see srsRecipient.
	errSRSNotBounce = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "SRS addresses accept only bounces (MAIL FROM:<>)"}
)

// srsRecipient takes a recipient in our SRS domain whose local part is an
// SRS address (srs.IsSRS): it returns the address the bounce goes on to,
// the original sender of the mail we forwarded (or, for SRS1, the SRS0
// address of the first forwarder), or a refusal. handled is false for any
// other recipient, which the caller then checks as usual. The raw RCPT
// argument is read, not address.Normalize's form: SRS local parts often
// pass RFC 5321's 64 octets, and the case of the original's is kept.
//
// The address relays to a remote site, so it must not be an open relay:
// the hash (HMAC, our secret) means only an address we made passes, and
// max_age bounds how long. Beyond that, and unlike PostSRSd, which
// reverses any sender's mail, only the null reverse-path is accepted:
// what comes back to a forwarded message's sender is a DSN, which RFC
// 5321 §4.5.5 sends from <>, as RFC 3834 §3.3 asks of auto-replies. Mail
// from a real sender to an SRS address is someone using an address seen
// in our forwarded mail to reach its sender through us: 550 5.7.1.
func (ms *mxSession) srsRecipient(to string) (orig string, handled bool, err error) {
	rw := ms.srv.SRS
	if rw == nil {
		return "", false, nil
	}
	at := strings.LastIndexByte(to, '@')
	if at <= 0 || !srs.IsSRS(to[:at]) {
		return "", false, nil
	}
	if d, derr := address.CanonicalDomain(to[at+1:]); derr != nil || d != rw.Domain() {
		return "", false, nil
	}
	orig, err = rw.Reverse(to)
	if err == nil && address.Domain(orig) == "" {
		// Remote delivery routes by address.Domain: an address it cannot
		// split (a local part over 64 octets, a quoted one) would only
		// wait in the queue and expire.
		err = srs.ErrMalformed
	}
	if err != nil {
		ms.log.Warn("SRS recipient refused", "rcpt", to, "from", ms.from, "err", err)
		return "", true, errSRSInvalid
	}
	if ms.from != "" {
		ms.log.Warn("SRS recipient refused: not a bounce", "rcpt", to, "from", ms.from, "to", orig)
		return "", true, errSRSNotBounce
	}
	return orig, true, nil
}
