package delivery

import (
	"cmp"
	"fmt"
	"time"

	"mailgate/internal/spool"
)

// ReturnToSender is the operator's bounce (`mailgate queue bounce`, the
// API's queue bounce): every recipient still pending fails with the
// message's last error, the sender gets one DSN (RFC 3464; none to the
// null sender, RFC 5321 §4.5.5), and the message leaves the queue. The
// DSN is durable before the message goes, so the two are never both lost.
func ReturnToSender(sp *spool.Spool, hostname, id string) error {
	m, err := sp.Open(id)
	if err != nil {
		return fmt.Errorf("%s: %w (see `mailgate queue list`)", id, err)
	}
	defer m.Close()
	st, err := sp.State(&m.Envelope)
	if err != nil {
		return err
	}
	var failed []spool.RcptState
	for _, r := range st.Rcpts {
		if r.Status == spool.Pending {
			// As when the queue gives up: the recipient's own last error,
			// else the message's; a message never tried has none.
			last := cmp.Or(r.Error, st.LastError)
			r.Status = spool.Failed
			r.Error = "550 5.0.0 message returned by the mail administrator"
			if last != "" {
				r.Error += "; last error: " + last
			}
			failed = append(failed, r)
		}
	}
	if m.Envelope.From != "" && len(failed) > 0 {
		env, body := BuildDSN(hostname, m, failed, ActionFailed, time.Now(), time.Time{})
		if err := sp.Put(env, body); err != nil {
			return err
		}
	}
	return sp.Remove(id)
}
