package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"mailgate/internal/verdict"
)

// What a stage does when its scanner gives no judgement, or with a
// message over the scan limit.
const (
	// Tempfail answers 451: the client keeps the message and tries again
	// (Postfix's milter_default_action = tempfail).
	Tempfail = "tempfail"
	// Accept takes the message with a header field saying it went
	// unchecked.
	Accept = "accept"
	// Reject refuses it for good (only for messages over the scan limit).
	Reject = "reject"
)

// NoteVirus is the verdict note a virus stage leaves when it found one: a
// *VirusFound. On submission it is a sign of a compromised account.
const NoteVirus = "virus"

// VirusFound is what a virus stage found in one message.
type VirusFound struct {
	Engine, Name string
	Account      string // the authenticated sender, "" on the MX
}

// VirusStage refuses messages a virus scanner flags, at the end of DATA on
// the MX and on submission alike: a 554 the client reports to its user,
// never an accepted message bounced later (no backscatter).
type VirusStage struct {
	Engine Scanner
	// MaxBytes: larger messages are not sent to the scanner; Oversize
	// (Reject or Accept) says what happens to them. 0 means no limit.
	MaxBytes int64
	Oversize string
	// OnError is Tempfail or Accept, for a scanner that is down or errs.
	OnError string
	// OnVirus, when set, hears of every virus found (the abuse control's
	// compromised-account signal on submission).
	OnVirus func(VirusFound)
	MTAName string
	Log     *slog.Logger
}

// Name implements verdict.MessageStage.
func (s *VirusStage) Name() string { return "virus" }

var (
	replyVirusTempfail = &verdict.Reply{Code: 451, Enhanced: [3]int{4, 7, 0}, Text: "virus scan unavailable, try again later"}
	replyVirusTooBig   = &verdict.Reply{Code: 552, Enhanced: [3]int{5, 3, 4}, Text: "message too big for the virus scan"}
)

// CheckMessage implements verdict.MessageStage.
func (s *VirusStage) CheckMessage(ctx context.Context, c *verdict.Client, m *verdict.Message, v *verdict.Verdict) verdict.Result {
	var res verdict.Result
	// Whatever the message says about a virus scan is not ours.
	if body, removed := removeFields(m.Body, func(n string) bool { return strings.EqualFold(n, virusField) }); removed {
		res.Body = body
	}
	body := m.Body
	if res.Body != nil {
		body = res.Body
	}
	engine := s.Engine.Name()
	if s.MaxBytes > 0 && int64(len(body)) > s.MaxBytes {
		return s.oversize(res, engine, fmt.Sprintf("over the scan limit of %d bytes", s.MaxBytes))
	}
	r, err := s.Engine.Scan(ctx, &Request{Body: body, IP: c.IP, Helo: c.Helo, Hostname: c.RDNS, From: m.From,
		Rcpts: m.Rcpts, User: c.Account, QueueID: m.ID, MTAName: s.MTAName})
	if errors.Is(err, ErrTooLarge) {
		return s.oversize(res, engine, "over "+engine+"'s size limit")
	}
	if err != nil {
		ErrorCounter(engine).Inc()
		s.log().Warn("scanner unavailable", "scanner", engine, "id", m.ID, "err", err, "policy", s.OnError)
		if s.OnError != Accept {
			res.Reply = replyVirusTempfail
			return res
		}
		res.Fields = []string{"X-Virus-Scan: unchecked, " + engine + " unavailable"}
		res.Log = []any{"virus", "unchecked", "scanner", engine}
		return res
	}
	if r.Virus == "" {
		res.Fields = []string{"X-Virus-Scan: clean (" + engine + ")"}
		return res
	}
	name := printable(r.Virus)
	found := VirusFound{Engine: engine, Name: name, Account: c.Account}
	v.Note(NoteVirus, &found)
	if s.OnVirus != nil {
		s.OnVirus(found)
	}
	res.Log = []any{"virus", name, "scanner", engine, "account", c.Account, "from", m.From}
	// RFC 3463 §3.8: X.7.0 "other or undefined security status".
	res.Reply = &verdict.Reply{Code: 554, Enhanced: [3]int{5, 7, 0}, Text: "message contains a virus (" + name + "), not accepted"}
	return res
}

func (s *VirusStage) oversize(res verdict.Result, engine, why string) verdict.Result {
	if s.Oversize == Accept {
		res.Fields = []string{"X-Virus-Scan: unchecked, " + why}
		res.Log = []any{"virus", "unchecked", "why", why}
		return res
	}
	res.Reply = replyVirusTooBig
	res.Log = []any{"virus", "not scanned", "why", why}
	return res
}

func (s *VirusStage) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// printable keeps a scanner's text safe for an SMTP reply or a header
// field: printable ASCII only, at most 100 bytes.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}
