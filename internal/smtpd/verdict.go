package smtpd

import (
	"net/netip"

	"github.com/emersion/go-smtp"

	"mailgate/internal/spool"
	"mailgate/internal/verdict"
)

// clientInfo is what the verdict stages know of this session's client.
func (s *session) clientInfo(rdns string) *verdict.Client {
	ip, _ := netip.ParseAddr(s.client)
	c := &verdict.Client{IP: ip.Unmap(), Helo: s.helo(), RDNS: rdns, Service: s.service}
	_, c.TLS = s.tlsState()
	return c
}

// verdictMessage is the transaction as the message stages see it.
func (s *session) verdictMessage(env *spool.Envelope, body []byte) *verdict.Message {
	return &verdict.Message{ID: env.ID, From: env.From, Rcpts: env.To, Body: body}
}

// smtpReply turns a stage's refusal into go-smtp's reply.
func smtpReply(r *verdict.Reply) *smtp.SMTPError {
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: smtp.EnhancedCode(r.Enhanced), Message: r.Text}
}
