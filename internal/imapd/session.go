package imapd

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailgate/internal/login"
	"mailgate/internal/mailbox"
	"mailgate/internal/netlimit"
)

// session is one IMAP connection.
type session struct {
	srv     *Server
	conn    *imapserver.Conn
	account string
	mailDir string
	sel     *selected
	fails   int
}

// selected is the session's view of its selected folder.
type selected struct {
	name      string
	folder    *mailbox.Folder
	box       *sharedBox
	tracker   *imapserver.SessionTracker
	readOnly  bool
	searchRes imap.UIDSet
}

var (
	_ imapserver.SessionIMAP4rev2 = (*session)(nil)
	_ imapserver.SessionCondStore = (*session)(nil)
)

var (
	errAuthTemp = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
		Text: "Authentication temporarily unavailable, try again later"}
	// RFC 5530 §3: UNAVAILABLE, temporary; login throttling blocked
	// the client's address (issue 11 §2).
	errAuthBlocked = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
		Text: "Too many failed logins from your address, try again later"}
	errNoMailbox = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent,
		Text: "No such mailbox"}
	errTryCreate = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate,
		Text: "No such mailbox"}
	errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: "READ-ONLY",
		Text: "Mailbox is read-only (EXAMINE)"}
)

// Login checks credentials like submission does: unknown users cost one
// dummy hash, suspended accounts fail like wrong passwords (RFC 9051
// §6.2.3: one NO [AUTHENTICATIONFAILED] for every failure).
func (s *session) Login(username, pw string) error {
	err := s.login(username, pw)
	if err == imapserver.ErrAuthFailed {
		// Guessing passwords costs a new connection every few tries.
		if s.fails++; s.fails >= s.srv.maxFailures() {
			s.conn.Bye("Too many failed logins")
		}
	}
	return err
}

func (s *session) login(username, pw string) error {
	acct, err := login.CheckFrom(context.Background(), s.srv.Dir, s.conn.NetConn().RemoteAddr(), username, pw)
	switch err {
	case nil:
	case login.ErrUnavailable:
		return errAuthTemp
	case login.ErrBlocked:
		return errAuthBlocked
	default:
		return imapserver.ErrAuthFailed
	}
	if done, err := s.proxy(acct.Address, pw); done {
		return err
	}
	dir, err := mailbox.Dir(s.srv.MailRoot, acct.Address)
	if err == nil {
		err = mailbox.EnsureDefaults(dir)
	}
	if err != nil {
		s.srv.log().Error("imap: creating default folders", "account", acct.Address, "err", err)
		return errAuthTemp
	}
	s.account, s.mailDir = acct.Address, dir
	netlimit.LoggedIn(s.conn.NetConn())
	s.srv.log().Info("imap login", "account", acct.Address)
	return nil
}

// Unauthenticate (RFC 8437) returns to the not-authenticated state.
func (s *session) Unauthenticate() error {
	s.Unselect()
	s.account, s.mailDir = "", ""
	return nil
}

func (s *session) Close() error {
	if s.account == "" {
		sayLoginTimedOut(s.conn)
	}
	if s.sel != nil {
		s.Unselect()
	}
	return nil
}

// openFolder opens an existing folder by IMAP name.
func (s *session) openFolder(name string) (*mailbox.Folder, error) {
	if !mailbox.IsInbox(name) && !mailbox.FolderExists(s.mailDir, name) {
		return nil, errNoMailbox
	}
	dir, err := mailbox.FolderDir(s.mailDir, name)
	if err != nil {
		return nil, errNoMailbox
	}
	return mailbox.OpenFolder(dir)
}

// Select opens a folder: the index gives counts, UIDs and flags without
// reading a message file, so it is fast on any mailbox size.
func (s *session) Select(name string, options *imap.SelectOptions) (_ *imap.SelectData, err error) {
	defer s.logFailure("SELECT", &err)
	if s.sel != nil {
		s.Unselect()
	}
	f, err := s.openFolder(name)
	if err != nil {
		return nil, err
	}
	box := s.srv.attach(f)
	sel := &selected{name: name, folder: f, box: box, readOnly: options.ReadOnly}
	data := &imap.SelectData{
		Flags:          permanentFlags,
		PermanentFlags: permanentFlags,
		UIDValidity:    f.UIDValidity(),
	}
	if options.ReadOnly {
		data.PermanentFlags = nil
	}
	// The tracker session starts under the folder's lock, so the count
	// reported here and the updates queued for it line up exactly.
	view := func(msgs []mailbox.Message, highestModSeq uint64) {
		sel.tracker = box.tracker.NewSession()
		data.NumMessages = uint32(len(msgs))
		// RFC 7162 §3.1.2.1: go-imap sends it once CONDSTORE is on.
		data.HighestModSeq = highestModSeq
		for i := range msgs {
			if !mailbox.HasFlag(msgs[i].Flags, mailbox.FlagSeen) {
				data.FirstUnseenSeqNum = uint32(i + 1)
				break
			}
		}
	}
	if p := options.QResync; p != nil && p.UIDValidity == data.UIDValidity {
		// RFC 7162 §3.2.5.1: what vanished since the client's
		// mod-sequence, at the instant of the EXISTS; go-imap sends it
		// and fetches what changed. Another UIDVALIDITY makes this a
		// plain SELECT (§3.2.5).
		f.ViewVanished(p.ModSeq, func(msgs []mailbox.Message, highestModSeq uint64, vanished []mailbox.UIDRange, exact bool) {
			view(msgs, highestModSeq)
			data.Vanished = resyncVanished(p, msgs, vanished, exact)
		})
	} else {
		f.ViewModSeq(view)
	}
	data.UIDNext = imap.UID(f.UIDNext())
	s.sel = sel
	return data, nil
}

// HighestModSeq is the selected folder's HIGHESTMODSEQ (RFC 7162 §3.1.1),
// told to a client that enables CONDSTORE with it selected.
func (s *session) HighestModSeq() uint64 {
	return s.sel.folder.HighestModSeq()
}

func (s *session) Unselect() error {
	if s.sel == nil {
		return nil
	}
	s.sel.tracker.Close()
	s.srv.detach(s.sel.folder)
	s.sel.folder.Close()
	s.sel = nil
	return nil
}

func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{
		Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: mailbox.Delim}},
	}, nil
}

func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) (err error) {
	defer s.logFailure("poll for updates", &err) // after any command
	if s.sel == nil {
		return nil
	}
	// Pick up local deliveries (new/) before answering: cheap when
	// nothing changed (one readdir of new/, one stat of cur/).
	if err := s.sel.folder.Sync(); err != nil {
		s.srv.log().Warn("imap: sync", "account", s.account, "folder", s.sel.name, "err", err)
	}
	return s.sel.tracker.Poll(w, allowExpunge)
}

// Idle (RFC 2177 / RFC 9051 §6.3.13) reports changes as they happen; new
// deliveries are noticed by the folder's poller (Server.startIdle).
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) (err error) {
	defer s.logFailure("IDLE", &err)
	if s.sel == nil {
		<-stop
		return nil
	}
	sel := s.sel
	s.srv.startIdle(sel.folder, sel.box)
	defer s.srv.endIdle(sel.box)
	return sel.tracker.Idle(w, stop)
}

// IdleFunc is Idle without a goroutine per idling client
// (imapserver.SessionIdleFunc): the folder's poller queues the changes and
// a goroutine that lives only while it writes them reports them. go-imap
// calls it instead of Idle.
func (s *session) IdleFunc(w *imapserver.UpdateWriter) (func() error, error) {
	if s.sel == nil {
		return func() error { return nil }, nil
	}
	sel := s.sel
	s.srv.startIdle(sel.folder, sel.box)
	stop := sel.tracker.IdleFunc(w)
	return func() (err error) {
		defer s.logFailure("IDLE", &err)
		err = stop()
		s.srv.endIdle(sel.box)
		return err
	}, nil
}

// logFailure logs an error a command returns that is no protocol answer
// (no *imap.Error) with the command, its tag and the account, and turns it
// into the NO [SERVERBUG] go-imap would have sent (it would have logged
// the cause at debug level only). A client that went away mid-answer is
// no failure of ours: debug level, error kept.
func (s *session) logFailure(cmd string, err *error) {
	var answer *imap.Error
	switch {
	case *err == nil || errors.As(*err, &answer):
	case clientGone(*err):
		s.srv.log().Debug("imap: client gone", "command", cmd, "tag", s.conn.Tag(), "account", s.account, "err", *err)
	default:
		s.srv.log().Error("imap: command failed", "command", cmd, "tag", s.conn.Tag(), "account", s.account, "err", *err)
		*err = errServerBug
	}
}

var errServerBug = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug,
	Text: "Internal server error"}

// clientGone reports whether err is the connection failing under a write
// (closed, reset, or past the write deadline go-imap sets).
func clientGone(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, os.ErrDeadlineExceeded)
}
