package smtpd

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/emersion/go-smtp"

	"mailgate/internal/verdict"
)

// After a refusal at connect, a client has this long in all, and this many
// commands, to send QUIT (RFC 5321 §3.1) before the MX closes: a bot must
// not hold a connection slot by talking on.
const (
	refusedWait     = 30 * time.Second
	refusedCommands = 10
)

// judgeConnect runs the MX's connect stages (verdict.ConnectStage: the DNS
// lists, imported dynamic ranges) for a client just accepted, for at most
// ConnectWait, and returns the reply to give it instead of the greeting;
// nil greets it. What has not answered in time does not refuse. Our own
// subscribers' pools (OwnNetwork) are not judged here: they may
// authenticate on port 25, and their checks run after EHLO as before.
func (s *Server) judgeConnect(c net.Conn) *smtp.SMTPError {
	if s.Config.ConnectWait <= 0 || s.MXChecks == nil || len(s.MXChecks.Connect) == 0 {
		return nil
	}
	ip, err := netip.ParseAddr(remoteIP(c))
	if err != nil {
		return nil
	}
	ip = ip.Unmap()
	if s.OwnNetwork != nil {
		if _, ours := s.OwnNetwork.Pool(ip); ours {
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.Config.ConnectWait)
	defer cancel()
	if r := s.MXChecks.CheckConnect(ctx, ip); r != nil {
		return greetingReply(r)
	}
	return nil
}

// greetingReply is a stage's refusal as a connection opening may give it.
// RFC 5321 §4.3.2 allows only 220 and 554 there, §3.1 also 421 (closing
// at once): a 550 (dynamic address space at MAIL FROM) becomes 554 with
// the same enhanced code and text, a 4xx becomes 421.
func greetingReply(r *verdict.Reply) *smtp.SMTPError {
	e := smtpReply(r)
	if e.Code >= 500 {
		e.Code = 554
	} else {
		e.Code = 421
	}
	return e
}

// greetingRefusal is the go-smtp Greeting hook: the refusal the listener
// found for this connection, if any.
func greetingRefusal(c *smtp.Conn) *smtp.SMTPError {
	if tc := tracked(c.Conn()); tc != nil {
		return tc.refusal
	}
	return nil
}
