package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"mailgate/internal/atomicfile"
	"mailgate/internal/delivery"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// LMTPBackend is the home node's side of a hand-off (RFC 2033): it takes
// mail for mailboxes homed here from the other nodes and answers each
// recipient once the message is in this node's spool, durably. The spool
// then delivers it like mail received here (Sieve, the Junk folder, the
// Maildir name made from the sender's spool ID, so a repeated hand-off is
// recognised: delivery never takes handed-in mail as fresh).
type LMTPBackend struct {
	Homes           *Homes
	Spool           *spool.Spool
	MaxMessageBytes int64
	Log             *slog.Logger
}

// NewServer is the LMTP server for the internal listener.
func (b *LMTPBackend) NewServer() *smtp.Server {
	s := smtp.NewServer(b)
	s.LMTP = true
	s.Domain = b.Homes.Self
	s.EnableSMTPUTF8 = true
	s.EnableDSN = true // the hand-off ID rides in ENVID
	s.MaxMessageBytes = b.MaxMessageBytes
	s.MaxRecipients = 1000
	s.ReadTimeout, s.WriteTimeout = 10*time.Minute, time.Minute
	return s
}

// NewSession implements smtp.Backend.
func (b *LMTPBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &lmtpSession{b: b, peer: c.Hostname()}, nil
}

type lmtpSession struct {
	b        *LMTPBackend
	peer     string // the sending node's LHLO name
	from     string
	id       string
	received time.Time
	junk     bool
	rcpts    []string
}

func (s *lmtpSession) Reset() { s.from, s.id, s.rcpts = "", "", nil }

func (s *lmtpSession) Logout() error { return nil }

func (s *lmtpSession) Mail(from string, opts *smtp.MailOptions) error {
	if opts == nil || opts.EnvelopeID == "" {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 4}, Message: "a fleet hand-off carries ENVID=<id>.<received>.<j|n>"}
	}
	id, received, junk, err := ParseHandoffID(opts.EnvelopeID)
	if err != nil {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 4}, Message: err.Error()}
	}
	s.from, s.id, s.received, s.junk = from, id, received, junk
	return nil
}

func (s *lmtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.id == "" {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL first"}
	}
	ctx, cancel := ctxTimeout()
	defer cancel()
	acct, err := s.b.Homes.Store.Resolve(ctx, to)
	if errors.Is(err, store.ErrNotFound) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	}
	if err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "directory unavailable"}
	}
	away, err := s.b.Homes.Away(ctx, acct)
	if errors.Is(err, store.ErrMoving) {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "mailbox being moved to another node, try again later"}
	}
	if err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "home lookup failed"}
	}
	if away != "" {
		// The sender looked up an older home (a move in progress): it
		// retries and finds the new one.
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: fmt.Sprintf("mailbox is homed on %s, not here", away)}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *lmtpSession) Data(r io.Reader) error {
	return s.LMTPData(r, nopStatus{})
}

// LMTPData spools the message for every accepted recipient at once: one
// durable write covers them all, so they share one status.
func (s *lmtpSession) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err // go-smtp answers a size or read error itself
	}
	env := &spool.Envelope{ID: s.id, From: s.from, To: append([]string(nil), s.rcpts...), Received: s.received,
		Origin: delivery.OriginFleet + s.peer, Junk: s.junk}
	if err := s.putHandoff(env, body); err != nil {
		s.b.Log.Error("fleet: spool hand-off", "id", s.id, "from_node", s.peer, "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "spool unavailable, try again later"}
	}
	s.b.Log.Info("fleet: handed in", "id", s.id, "from_node", s.peer, "rcpts", strings.Join(s.rcpts, ","), "size", len(body))
	for _, rc := range s.rcpts {
		status.SetStatus(rc, nil)
	}
	return nil
}

// putHandoff spools a handed-in message. A repeated hand-off of a message
// still queued here finds its ID taken, and the recipients in that entry
// are done. Any others are not: a recipient refused the first time (451
// while its mailbox was moving here, say) and handed in again now. They
// go into a sibling entry whose ID adds a digest of their addresses, so a
// repeat of that hand-off is recognised in turn, and delivery, which
// names the Maildir file after the ID, never takes one for the other.
func (s *lmtpSession) putHandoff(env *spool.Envelope, body []byte) error {
	base := env.ID
	for range 4 {
		err := s.b.Spool.Put(env, body)
		if !errors.Is(err, atomicfile.ErrExist) {
			return err
		}
		queued, err := s.b.Spool.Open(env.ID)
		if errors.Is(err, spool.ErrNotFound) {
			continue // delivered and removed since: put it again
		}
		if err != nil {
			return err
		}
		missing := recipientsNotIn(env.To, queued.Envelope.To)
		queued.Close()
		if len(missing) == 0 {
			return nil
		}
		sum := sha256.Sum256([]byte(strings.Join(missing, "\n")))
		next := *env
		// Queue IDs are at most 64 hex digits; ours are about 22.
		next.ID, next.To = base[:min(len(base), 56)]+hex.EncodeToString(sum[:4]), missing
		env = &next
	}
	return fmt.Errorf("fleet: hand-off %s: its queue ID stays taken", base)
}

// recipientsNotIn is the addresses of to that have is without, in order.
func recipientsNotIn(to, have []string) []string {
	var out []string
	for _, a := range to {
		if !slices.Contains(have, a) {
			out = append(out, a)
		}
	}
	return out
}

type nopStatus struct{}

func (nopStatus) SetStatus(string, error) {}
