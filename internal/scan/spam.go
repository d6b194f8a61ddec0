package scan

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"

	"mailgate/internal/verdict"
)

// What a subscriber's spam goes through (Prefs.Action).
const (
	SpamHeader = "header" // only our X-Spam-* fields
	SpamTag    = "tag"    // the fields and a tag before the subject
	SpamJunk   = "junk"   // the fields and delivery into the Junk folder
)

// NoteSpam is the verdict note the spam stage leaves: the engine's *Spam.
const NoteSpam = "spam"

// Prefs is one subscriber's spam-check service.
type Prefs struct {
	Enabled bool
	Action  string // SpamHeader, SpamTag or SpamJunk
	// Threshold: a message scoring at least this much is spam; 0 leaves
	// the judgement to the engine's action.
	Threshold float64
	Tag       string // the subject tag for SpamTag
}

// PrefsFunc returns the preferences of the account a recipient address
// delivers to.
type PrefsFunc func(ctx context.Context, rcpt string) (Prefs, error)

// SpamStage judges incoming mail with a spam engine: it replaces every
// X-Spam-* field the message came with by ours, refuses what the engine
// says to refuse, and applies each subscriber's choice to the rest.
type SpamStage struct {
	Engine   Scanner
	Defaults Prefs     // for recipients without their own choice
	Prefs    PrefsFunc // nil: Defaults for everyone
	// RejectAction refuses the engine's "reject" with 550; off, such a
	// message is spam like any other and delivered per the account.
	RejectAction bool
	// Greylist honours the engine's "greylist" with 451 (rspamd's
	// greylisting needs Redis); off, greylist counts as "no action".
	Greylist bool
	// OnError is Accept (X-Spam-Flag: UNCHECKED) or Tempfail.
	OnError string
	// ScoreOnly scores without touching the message: submission, where
	// the score is a signal for the abuse control and nothing else.
	ScoreOnly bool
	// MaxBytes: larger messages are not scanned (marked unchecked).
	MaxBytes int64
	MTAName  string
	Log      *slog.Logger
}

// Name implements verdict.MessageStage.
func (s *SpamStage) Name() string { return "spam" }

var replySpamTempfail = &verdict.Reply{Code: 451, Enhanced: [3]int{4, 7, 1}, Text: "spam check unavailable, try again later"}

// CheckMessage implements verdict.MessageStage.
func (s *SpamStage) CheckMessage(ctx context.Context, c *verdict.Client, m *verdict.Message, v *verdict.Verdict) verdict.Result {
	var res verdict.Result
	body := m.Body
	if !s.ScoreOnly {
		// Forged verdicts go first, so neither the engine nor the
		// subscriber's filters ever see them.
		if b, removed := removeFields(body, ourField); removed {
			body, res.Body = b, b
		}
	}
	engine := s.Engine.Name()
	if s.MaxBytes > 0 && int64(len(body)) > s.MaxBytes {
		return s.unchecked(res, fmt.Sprintf("over the scan limit of %d bytes", s.MaxBytes))
	}
	r, err := s.Engine.Scan(ctx, &Request{Body: body, IP: c.IP, Helo: c.Helo, Hostname: c.RDNS, From: m.From,
		Rcpts: m.Rcpts, User: c.Account, QueueID: m.ID, MTAName: s.MTAName})
	if err == nil && r.Spam == nil {
		err = fmt.Errorf("%s gave no spam judgement", engine)
	}
	if err != nil {
		ErrorCounter(engine).Inc()
		s.log().Warn("scanner unavailable", "scanner", engine, "id", m.ID, "err", err, "policy", s.OnError)
		if s.OnError == Tempfail && !s.ScoreOnly {
			res.Reply = replySpamTempfail
			return res
		}
		return s.unchecked(res, engine+" unavailable")
	}
	sp := r.Spam
	v.Note(NoteSpam, sp)
	res.Log = []any{"spam_action", sp.Action, "score", sp.Score, "account", c.Account}
	if s.ScoreOnly {
		return res
	}
	switch {
	case sp.Action == ActionReject && s.RejectAction:
		res.Reply = &verdict.Reply{Code: 550, Enhanced: [3]int{5, 7, 1}, Text: "message refused as spam" + reason(sp)}
		return res
	case sp.Action == ActionSoftReject || sp.Action == ActionGreylist && s.Greylist:
		res.Reply = &verdict.Reply{Code: 451, Enhanced: [3]int{4, 7, 1}, Text: "try again later" + reason(sp)}
		return res
	}
	d, err := s.decide(ctx, sp, m.Rcpts)
	if err != nil {
		// Without the subscribers' choices we cannot deliver as they
		// asked; the client tries again.
		s.log().Warn("spam preferences unavailable", "id", m.ID, "err", err)
		res.Reply = &verdict.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "local error, try again later"}
		return res
	}
	res.Fields = statusFields(sp, d.flag, d.required)
	switch d.action {
	case SpamTag:
		body = tagSubject(body, d.tag)
		res.Body = body
	case SpamJunk:
		res.Junk = true
	}
	res.Log = append(res.Log, "spam", d.flag, "applied", d.action)
	return res
}

// decision is what happens to one message, for all its recipients.
type decision struct {
	flag     bool    // X-Spam-Flag: YES
	action   string  // "" (nothing), SpamHeader, SpamTag or SpamJunk
	tag      string  // for SpamTag
	required float64 // the threshold shown in X-Spam-Status
}

// decide applies the recipients' choices. The message is one: one body
// and one Junk flag for all its recipients, so an action is applied only
// when every recipient's choice leads to it; when they differ the message
// gets the fields alone, which loses nothing for anyone.
func (s *SpamStage) decide(ctx context.Context, sp *Spam, rcpts []string) (decision, error) {
	d := decision{required: sp.Required}
	allEnabled := true
	for i, rc := range rcpts {
		p := s.Defaults
		if s.Prefs != nil {
			var err error
			if p, err = s.Prefs(ctx, rc); err != nil {
				return d, err
			}
		}
		if p.Tag == "" {
			p.Tag = s.Defaults.Tag
		}
		allEnabled = allEnabled && p.Enabled
		spam := IsSpam(sp, p.Threshold)
		d.flag = d.flag || spam
		action := ""
		if spam && p.Enabled {
			action = p.Action
		}
		if i == 0 {
			d.action, d.tag = action, p.Tag
			if p.Threshold > 0 {
				d.required = p.Threshold
			}
		} else if action != d.action {
			d.action = SpamHeader
		}
	}
	// rspamd's own "rewrite subject" asks for the tag whatever the
	// threshold, unless a recipient turned the service off.
	if sp.Action == ActionRewriteSubject && d.action == "" && allEnabled {
		d.action = SpamTag
	}
	return d, nil
}

// IsSpam is the judgement for one threshold: the score against it, or,
// with none (0), the engine's action.
func IsSpam(sp *Spam, threshold float64) bool {
	if threshold > 0 {
		return sp.Score >= threshold
	}
	switch sp.Action {
	case ActionReject, ActionRewriteSubject, ActionAddHeader:
		return true
	}
	return false
}

// statusFields are our verdict in SpamAssassin's field names, which
// subscribers' filters and mail programs already know. X-Spam-Score is a
// non-negative integer so that Sieve's "i;ascii-numeric" comparator
// (RFC 4790 §9.1: digits only) orders it correctly.
func statusFields(sp *Spam, flag bool, required float64) []string {
	yes := "No"
	if flag {
		yes = "Yes"
	}
	names := make([]string, len(sp.Symbols))
	for i, sym := range sp.Symbols {
		names[i] = printable(sym.Name)
	}
	status := fmt.Sprintf("X-Spam-Status: %s, score=%.1f required=%.1f tests=%s", yes, sp.Score, required, fold(names))
	return []string{
		"X-Spam-Flag: " + strings.ToUpper(yes),
		status,
		fmt.Sprintf("X-Spam-Score: %d", int64(math.Max(0, math.Round(sp.Score)))),
	}
}

// fold joins names with commas, starting a continuation line (RFC 5322
// §2.2.3) before a line would pass 78 characters.
func fold(names []string) string {
	var b strings.Builder
	line := 60 // what precedes tests= on the first line, roughly
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
			line++
			if line+len(n) > 78 {
				b.WriteString("\r\n\t")
				line = 1
			}
		}
		b.WriteString(n)
		line += len(n)
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

func (s *SpamStage) unchecked(res verdict.Result, why string) verdict.Result {
	res.Log = []any{"spam", "unchecked", "why", why}
	if s.ScoreOnly {
		return res
	}
	res.Fields = []string{"X-Spam-Flag: UNCHECKED", "X-Spam-Status: Unchecked, " + why}
	return res
}

func reason(sp *Spam) string {
	if sp.Message == "" {
		return ""
	}
	return " (" + printable(sp.Message) + ")"
}

func (s *SpamStage) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}
