// Package imapd serves IMAP (RFC 9051 IMAP4rev2, IMAP4rev1 clients too) on
// emersion/go-imap/v2's imapserver: 143 with STARTTLS and 993 with
// implicit TLS (RFC 8314), over the Maildir++ folders and UID index of
// internal/mailbox.
package imapd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailgate/internal/login"
	"mailgate/internal/mailbox"
	"mailgate/internal/netlimit"
	"mailgate/internal/quotawarn"
)

// Server serves IMAP for one node.
type Server struct {
	TLS      *tls.Config
	Dir      login.Accounts
	MailRoot string // <data_dir>/mail
	Log      *slog.Logger
	// IdlePoll is how often an idling session looks for new mail when
	// inotify is unavailable (default 1s: a stat and a readdir of new/).
	// With inotify, changes wake it at once and it polls only every
	// IdleFallbackPoll.
	IdlePoll time.Duration
	// IdleFallbackPoll is the poll kept beside inotify for changes it
	// cannot see (a Maildir on NFS, an event queue overflow); default 30s.
	IdleFallbackPoll time.Duration
	// MaxMessageBytes limits APPEND (default 50 MiB).
	MaxMessageBytes int64
	// MaxAuthFailures closes the connection after that many failed
	// logins (default 3).
	MaxAuthFailures int
	// OnCopy, when set, hears of every COPY and MOVE (the spam-check
	// service learns from moves into and out of Junk). It runs inside the
	// command, so it must only decide and hand off: files opens the
	// copies, and whoever calls it closes them.
	OnCopy func(account, from, to string, files func() []*os.File)
	// Proxy, in a fleet, serves sessions of mailboxes homed elsewhere.
	Proxy ProxyFunc
	// Quotas, when set, holds APPEND and COPY to the account's mailbox
	// quota (RFC 9208 OVERQUOTA).
	Quotas Quotas
	// QuotaWarner stores a notice in INBOX when an APPEND or COPY takes
	// the usage past one of [mailbox] quota_warnings; nil: none.
	QuotaWarner *quotawarn.Warner
	// Compress offers COMPRESS=DEFLATE (RFC 4978) after login ([imap]
	// compress): each compressed connection keeps a ~40 KiB inflater.
	Compress bool

	once   sync.Once
	srv    *imapserver.Server // 143
	tlsSrv *imapserver.Server // 993

	mu      sync.Mutex
	boxes   map[*mailbox.Folder]*sharedBox
	watcher *dirWatcher // nil without inotify: IDLE polls
	// watchWarn logs the first failed watch only: past the inotify limit
	// every further IDLE would repeat it.
	watchWarn sync.Once
}

// caps: IMAP4rev2 and the IMAP4rev1 extensions it folds in, so rev1
// clients get the same features (RFC 9051 Appendix E).
var caps = imap.CapSet{
	imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {},
	imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapMove: {},
	imap.CapESearch: {}, imap.CapSearchRes: {},
	imap.CapListExtended: {}, imap.CapListStatus: {}, imap.CapStatusSize: {},
	imap.CapChildren: {}, imap.CapSpecialUse: {}, imap.CapLiteralPlus: {},
	imap.CapUnauthenticate: {},
	// RFC 5256 §4 (session.Thread).
	"THREAD=ORDEREDSUBJECT": {}, "THREAD=REFERENCES": {},
	// RFC 5256 §3, RFC 5957 (session.Sort).
	imap.CapSort: {}, imap.CapSortDisplay: {},
	// RFC 7162 §3 (mod-sequences in the folder index, session.HighestModSeq).
	imap.CapCondStore: {},
	// RFC 7162 §3.2 (the folder's expunge history, qresync.go).
	imap.CapQResync: {},
}

func (s *Server) init() {
	s.once.Do(func() {
		s.boxes = map[*mailbox.Folder]*sharedBox{}
		if w, err := startWatcher(); err == nil {
			s.watcher = w
		} else {
			s.log().Warn("imap: no inotify, IDLE polls every "+s.idlePoll().String(), "err", err)
		}
		newSession := func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &session{srv: s, conn: c}, &imapserver.GreetingData{}, nil
		}
		caps := s.caps()
		s.srv = imapserver.New(&imapserver.Options{
			NewSession: newSession,
			Caps:       caps,
			Logger:     logAdapter{s.log()},
			TLSConfig:  s.TLS,
			// RFC 9051 §6.2.3 / RFC 8314: LOGIN and AUTHENTICATE PLAIN
			// only under TLS (LOGINDISABLED before STARTTLS).
			InsecureAuth: false,
		})
		// Port 993 gets its own server: every connection there is TLS
		// from the first byte (tlsListener), wrapped to coalesce writes,
		// which hides the *tls.Conn go-imap looks for, so login is
		// allowed explicitly and STARTTLS is not offered (no TLSConfig).
		s.tlsSrv = imapserver.New(&imapserver.Options{
			NewSession:   newSession,
			Caps:         caps,
			Logger:       logAdapter{s.log()},
			InsecureAuth: true, // safe: the listener only yields TLS connections
		})
	})
}

// caps is the capability set with COMPRESS=DEFLATE when it is on. In a
// fleet the home node's setting is the one a client sees: the front node
// relays the session after login, where COMPRESS is valid (RFC 4978 §5),
// so compression is end to end between the client and the home node.
func (s *Server) caps() imap.CapSet {
	set := caps.Copy()
	if s.Compress {
		set[imapserver.CapCompressDeflate] = struct{}{}
	}
	return set
}

// Refusals are what netlimit writes to connections over the caps: a BYE
// in place of the greeting (RFC 9051 §7.1.5: the server is not willing to
// accept a connection from this client), UNAVAILABLE as RFC 5530 §3 says
// for a temporary failure.
var Refusals = netlimit.Replies{
	PerSource: "* BYE [UNAVAILABLE] Too many connections from your address, try again later\r\n",
	Total:     "* BYE [UNAVAILABLE] Too many connections, try again later\r\n",
}

// sayLoginTimedOut tells a client that go-imap's read loop gave up on
// because the login deadline passed why it is disconnected (RFC 9051
// §7.1.5: BYE for autologout). Called from Session.Close, after the loop
// ended, so nothing else writes to the connection.
func sayLoginTimedOut(c *imapserver.Conn) {
	nc := c.NetConn()
	if !netlimit.LoginExpired(nc) {
		return
	}
	nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(nc, "* BYE Autologout; no login in time\r\n")
}

// ServePlain serves port 143: plaintext greeting, STARTTLS, then login.
func (s *Server) ServePlain(l net.Listener) error {
	s.init()
	return ignoreClosed(s.srv.Serve(l))
}

// ServeTLS serves port 993: TLS from the first byte (RFC 8314 §3.3).
func (s *Server) ServeTLS(l net.Listener) error {
	s.init()
	return ignoreClosed(s.tlsSrv.Serve(tlsListener{l, s.TLS}))
}

// Shutdown closes listeners and sessions. Every IMAP change is durable
// when its command completes, so nothing is lost by cutting sessions
// (an IDLE client reconnects).
func (s *Server) Shutdown(ctx context.Context) {
	s.init()
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Close is Shutdown without waiting.
func (s *Server) Close() error {
	s.init()
	err := s.srv.Close()
	if err2 := s.tlsSrv.Close(); err == nil {
		err = err2
	}
	if s.watcher != nil {
		s.watcher.Close()
	}
	return err
}

func ignoreClosed(err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) || err.Error() == "imapserver: server closed" {
		return nil
	}
	return err
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Server) maxFailures() int {
	if s.MaxAuthFailures > 0 {
		return s.MaxAuthFailures
	}
	return 3
}

func (s *Server) idlePoll() time.Duration {
	if s.IdlePoll > 0 {
		return s.IdlePoll
	}
	return time.Second
}

// startWatcher is newDirWatcher; tests replace it to run without inotify.
var startWatcher = newDirWatcher

func (s *Server) idleFallbackPoll() time.Duration {
	if s.IdleFallbackPoll > 0 {
		return s.IdleFallbackPoll
	}
	return 30 * time.Second
}

type logAdapter struct{ l *slog.Logger }

func (a logAdapter) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	// go-imap logs here what it answered NO [SERVERBUG] ("handling X
	// command (tag T): cause") and panics it recovered from (the
	// connection is gone then): both are ours to look into. The rest is
	// clients going away mid-command.
	if strings.HasPrefix(msg, "handling ") || strings.HasPrefix(msg, "panic ") {
		a.l.Error("imap: internal error", "msg", msg)
		return
	}
	a.l.Debug("imap", "msg", msg)
}

// sharedBox is the go-imap tracker of one open folder, shared by the
// sessions that selected it: the folder's events become the untagged
// EXISTS / EXPUNGE / FETCH updates each session receives.
type sharedBox struct {
	tracker *imapserver.MailboxTracker
	refs    int
	cancel  func()
	idlers  int           // sessions in IDLE on this folder
	stop    chan struct{} // ends the folder's poller when idlers drops to 0
}

// startIdle makes sure one poller syncs the folder every IdlePoll while
// any session idles on it, however many do.
func (s *Server) startIdle(f *mailbox.Folder, b *sharedBox) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.idlers++; b.idlers > 1 {
		return
	}
	stop := make(chan struct{})
	b.stop = stop
	period, changed, unwatch := s.idlePoll(), (<-chan struct{})(nil), func() {}
	if s.watcher != nil {
		if c, done, err := s.watcher.watch(f.Dir()); err == nil {
			period, changed, unwatch = s.idleFallbackPoll(), c, done
		} else {
			// ENOSPC: past fs.inotify.max_user_watches (two per idled folder).
			s.watchWarn.Do(func() {
				s.log().Warn("imap: inotify watch failed, IDLE on such folders polls (raise fs.inotify.max_user_watches if ENOSPC)",
					"folder", f.Dir(), "err", err)
			})
		}
	}
	go func() {
		defer unwatch()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			// Sync first: a delivery between the session's last look and
			// the watch's start made no event.
			if err := f.Sync(); err != nil {
				s.log().Warn("imap: idle sync", "folder", f.Dir(), "err", err)
			}
			select {
			case <-stop:
				return
			case <-changed:
			case <-t.C:
			}
		}
	}()
}

func (s *Server) endIdle(b *sharedBox) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.idlers--; b.idlers == 0 {
		close(b.stop)
	}
}

func (s *Server) attach(f *mailbox.Folder) *sharedBox {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.boxes[f]; b != nil {
		b.refs++
		return b
	}
	b := &sharedBox{refs: 1}
	b.cancel = f.Listen(func(count uint32) func(mailbox.Event) {
		b.tracker = imapserver.NewMailboxTracker(count)
		return func(ev mailbox.Event) {
			switch ev.Kind {
			case mailbox.Expunged:
				// With its UID: VANISHED for QRESYNC (RFC 7162 §3.2.10).
				b.tracker.QueueExpungeUID(ev.Seq, imap.UID(ev.UID))
			case mailbox.Exists:
				b.tracker.QueueNumMessages(ev.Count)
			case mailbox.FlagsChanged:
				src, _ := ev.Source.(*imapserver.SessionTracker)
				b.tracker.QueueMessageFlagsModSeq(ev.Seq, imap.UID(ev.UID), imapFlags(ev.Flags), ev.ModSeq, src)
			}
		}
	})
	s.boxes[f] = b
	return b
}

func (s *Server) detach(f *mailbox.Folder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.boxes[f]
	if b == nil {
		return
	}
	if b.refs--; b.refs == 0 {
		b.cancel()
		delete(s.boxes, f)
	}
}
