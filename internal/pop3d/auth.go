package pop3d

import (
	"encoding/base64"
	"strings"

	"github.com/emersion/go-sasl"

	"mailgate/internal/login"
)

// auth serves AUTH (RFC 5034). Only PLAIN, and only under TLS; without a
// mechanism it lists them (RFC 5034 §4 via CAPA's SASL line is preferred).
func (s *session) auth(cmd command) {
	if !s.requireTLS() {
		return
	}
	if len(cmd.Args) == 0 {
		// Not in RFC 5034, but clients probe with a bare AUTH (the
		// Microsoft convention): list the mechanisms.
		s.reply("+OK SASL mechanisms follow")
		s.reply("PLAIN")
		s.reply(".")
		return
	}
	if len(cmd.Args) > 2 {
		s.reply("-ERR usage: AUTH PLAIN [initial-response]")
		return
	}
	if !strings.EqualFold(cmd.Args[0], sasl.Plain) {
		s.reply("-ERR unsupported SASL mechanism")
		return
	}
	var resp string
	if len(cmd.Args) == 2 {
		resp = cmd.Args[1]
	} else {
		// RFC 5034 §4: an empty challenge is "+ " and the client answers
		// with one base64 line, or "*" to cancel.
		s.reply("+ ")
		if err := s.w.Flush(); err != nil {
			s.state = stateDone
			return
		}
		line, err := s.readLine()
		if err != nil {
			s.state = stateDone
			return
		}
		resp = strings.TrimRight(line, "\r\n")
	}
	if resp == "*" {
		s.reply("-ERR authentication cancelled")
		return
	}
	if resp == "=" {
		resp = ""
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		s.reply("-ERR invalid base64 in SASL response")
		return
	}
	var user, pw string
	var ok bool
	srv := sasl.NewPlainServer(func(identity, username, pass string) error {
		if identity != "" && identity != username {
			return login.ErrFailed // no proxy authorization
		}
		user, pw, ok = username, pass, true
		return nil
	})
	if _, _, err := srv.Next(raw); err != nil || !ok {
		s.fails++
		s.reply("-ERR [AUTH] authentication failed")
		if s.fails >= s.srv.MaxFailures() {
			s.state = stateDone
		}
		return
	}
	s.login(user, pw)
}
