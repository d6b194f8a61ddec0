package pop3d

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"mailgate/internal/login"
	"mailgate/internal/mailbox"
	"mailgate/internal/netlimit"
)

// RFC 1939 §3: the session states.
type state int

const (
	stateAuth state = iota
	stateTransaction
	stateDone
)

type session struct {
	srv    *Server
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	tls    bool
	state  state
	closed atomic.Bool

	user        string // USER given, waiting for PASS
	fails       int
	account     string
	folder      *mailbox.Folder
	msgs        []mailbox.Message // the maildrop as of login
	uidValidity uint32            // the folder's, for UIDL (fixed while it is open)
	deleted     []bool
	retrieved   []bool
}

func newSession(s *Server, c net.Conn, implicitTLS bool) *session {
	return &session{srv: s, conn: c, tls: implicitTLS,
		r: bufio.NewReaderSize(c, maxLine), w: bufio.NewWriterSize(c, 32<<10)}
}

// Shutdown asks the session to end after its current command.
func (s *session) Shutdown() {
	s.closed.Store(true)
	s.conn.SetReadDeadline(time.Now())
}

// Run serves the connection until it ends.
func (s *session) Run() {
	defer s.conn.Close()
	defer s.release()
	if s.closed.Load() {
		return
	}
	s.reply("+OK %s POP3 ready", s.srv.Hostname)
	for s.state != stateDone {
		// The deadline also bounds an implicit-TLS handshake, which
		// runs on the first write.
		s.conn.SetWriteDeadline(time.Now().Add(s.srv.IdleTimeout()))
		if err := s.w.Flush(); err != nil {
			return
		}
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, errTooLong) {
				s.reply("-ERR line too long")
				s.w.Flush()
			} else if s.state == stateAuth && netlimit.LoginExpired(s.conn) {
				s.reply(loginTimedOut)
				s.w.Flush()
			}
			return
		}
		cmd, err := parseCommand(line)
		if err != nil {
			s.reply("-ERR %s", err)
			continue
		}
		s.dispatch(cmd, line)
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.srv.IdleTimeout()))
	s.w.Flush()
}

// errShutdown ends a session at its next read once the server shuts down.
var errShutdown = errors.New("pop3: server shutting down")

func (s *session) readLine() (string, error) {
	s.conn.SetReadDeadline(time.Now().Add(s.srv.IdleTimeout()))
	// After the deadline, so a Shutdown racing with it is seen either way:
	// without this a session busy with a command at Shutdown would reset
	// the deadline and live on until the shutdown context ran out.
	if s.closed.Load() {
		return "", errShutdown
	}
	line, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errTooLong
	}
	if err != nil {
		return "", err
	}
	return string(line), nil
}

func (s *session) reply(format string, args ...any) {
	fmt.Fprintf(s.w, format, args...)
	s.w.WriteString("\r\n")
}

func (s *session) dispatch(cmd command, line string) {
	if cmd.Name == "CAPA" {
		s.capa()
		return
	}
	if cmd.Name == "QUIT" {
		s.quit()
		return
	}
	if s.state == stateAuth {
		switch cmd.Name {
		case "STLS":
			s.stls(cmd)
		case "USER":
			s.userCmd(cmd)
		case "PASS":
			s.pass(line)
		case "AUTH":
			s.auth(cmd)
		default:
			s.reply("-ERR %s is not valid before login", cmd.Name)
		}
		return
	}
	switch cmd.Name {
	case "STAT":
		s.stat(cmd)
	case "LIST":
		s.list(cmd, false)
	case "UIDL":
		s.list(cmd, true)
	case "RETR":
		s.retr(cmd)
	case "TOP":
		s.top(cmd)
	case "DELE":
		s.dele(cmd)
	case "RSET":
		s.rset(cmd)
	case "NOOP":
		s.reply("+OK")
	case "USER", "PASS", "AUTH", "APOP", "STLS":
		s.reply("-ERR %s is not valid after login", cmd.Name)
	default:
		s.reply("-ERR unknown command %s", cmd.Name)
	}
}

// capa lists capabilities (RFC 2449 §5). Plaintext logins are advertised
// only under TLS (RFC 2595 §2.2, RFC 8314).
func (s *session) capa() {
	s.reply("+OK capability list follows")
	for _, c := range []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"} {
		s.reply("%s", c)
	}
	if s.state == stateAuth {
		if s.tls {
			s.reply("USER")
			s.reply("SASL PLAIN")
		} else if s.srv.TLS != nil {
			s.reply("STLS")
		}
	}
	s.reply("IMPLEMENTATION mailgate")
	s.reply(".")
}

// stls upgrades the connection (RFC 2595 §4). Anything the client
// pipelined after STLS is discarded: it was sent in the clear.
func (s *session) stls(cmd command) {
	if s.tls || s.srv.TLS == nil || len(cmd.Args) != 0 {
		s.reply("-ERR STLS not available")
		return
	}
	s.reply("+OK begin TLS negotiation")
	if err := s.w.Flush(); err != nil {
		s.state = stateDone
		return
	}
	if s.r.Buffered() > 0 {
		// RFC 2595 §4 / CVE-2011-0411 class: plaintext injected
		// before the handshake must not be executed.
		s.state = stateDone
		return
	}
	tc := tls.Server(s.conn, s.srv.TLS)
	tc.SetDeadline(time.Now().Add(time.Minute))
	if err := tc.Handshake(); err != nil {
		s.state = stateDone
		return
	}
	tc.SetDeadline(time.Time{})
	s.conn, s.tls = tc, true
	s.r.Reset(tc)
	s.w.Reset(tc)
	s.user = ""
}

func (s *session) requireTLS() bool {
	if !s.tls {
		// RFC 2595 §2.2 / RFC 8314: no cleartext passwords without TLS.
		s.reply("-ERR [AUTH] plaintext login is not allowed without TLS; use STLS or port 995")
		return false
	}
	return true
}

func (s *session) userCmd(cmd command) {
	if !s.requireTLS() {
		return
	}
	if len(cmd.Args) != 1 {
		s.reply("-ERR usage: USER name")
		return
	}
	s.user = cmd.Args[0]
	s.reply("+OK send PASS")
}

// pass takes the rest of the line as the password: RFC 1939 §7 lets a
// server treat spaces as part of it.
func (s *session) pass(line string) {
	if !s.requireTLS() {
		return
	}
	if s.user == "" {
		s.reply("-ERR USER first")
		return
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 5 {
		s.reply("-ERR usage: PASS password")
		return
	}
	user := s.user
	s.user = ""
	s.login(user, pw[5:])
}

// login checks credentials, then locks and opens the maildrop.
func (s *session) login(user, pw string) {
	acct, err := login.CheckFrom(context.Background(), s.srv.Dir, s.conn.RemoteAddr(), user, pw)
	if err != nil {
		s.fails++
		switch {
		case errors.Is(err, login.ErrUnavailable):
			s.reply("-ERR [SYS/TEMP] authentication temporarily unavailable, try again later")
		case errors.Is(err, login.ErrBlocked):
			// RFC 3206 §4: SYS/TEMP, a temporary failure; login
			// throttling blocked the client's address (issue 11 §2).
			s.reply("-ERR [SYS/TEMP] too many failed logins from your address, try again later")
		default:
			s.reply("-ERR [AUTH] authentication failed")
		}
		if s.fails >= s.srv.MaxFailures() {
			s.state = stateDone
		}
		return
	}
	if s.proxy(acct.Address, pw) {
		return
	}
	// RFC 2449 §8.1.2: IN-USE when another session holds the maildrop.
	if !s.srv.locks.lock(acct.Address) {
		s.reply("-ERR [IN-USE] mailbox is locked by another POP3 session")
		return
	}
	var f *mailbox.Folder
	dir, err := mailbox.Dir(s.srv.MailRoot, acct.Address)
	if err == nil {
		f, err = mailbox.OpenFolder(dir)
	}
	if err != nil {
		s.srv.locks.unlock(acct.Address)
		s.srv.Logger().Error("pop3: opening maildrop", "account", acct.Address, "err", err)
		s.reply("-ERR [SYS/TEMP] cannot open mailbox, try again later")
		return
	}
	s.account, s.folder = acct.Address, f
	s.msgs = f.Snapshot()
	s.uidValidity = f.UIDValidity()
	s.deleted = make([]bool, len(s.msgs))
	s.retrieved = make([]bool, len(s.msgs))
	s.state = stateTransaction
	netlimit.LoggedIn(s.conn)
	s.srv.Logger().Info("pop3 login", "account", acct.Address, "remote", s.conn.RemoteAddr().String(), "messages", len(s.msgs))
	s.reply("+OK maildrop locked and ready")
}

func (s *session) release() {
	if s.folder != nil {
		s.folder.Close()
		s.folder = nil
		s.srv.locks.unlock(s.account)
	}
}

// Close ends the connection at once.
func (s *session) Close() { s.conn.Close() }
