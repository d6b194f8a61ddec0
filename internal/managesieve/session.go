package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"

	"mailgate/internal/login"
	"mailgate/internal/netlimit"
	"mailgate/internal/sieve"
	"mailgate/internal/store"
)

type session struct {
	srv     *Server
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	tls     bool
	account string // "" until AUTHENTICATE succeeds
	fails   int
	done    bool

	mu       sync.Mutex
	stopping bool
}

func newSession(s *Server, c net.Conn) *session {
	return &session{srv: s, conn: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}
}

// shutdown ends the session at its next read.
// Shutdown asks the session to end after its current command.
func (s *session) Shutdown() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.conn.SetReadDeadline(time.Now())
}

func (s *session) printf(format string, args ...any) { fmt.Fprintf(s.w, format, args...) }

// reply sends OK, NO or BYE with an optional response code (RFC 5804 §1.3).
func (s *session) reply(kind, code, text string) {
	if code != "" {
		s.printf("%s (%s) %s\r\n", kind, code, quote(text))
	} else {
		s.printf("%s %s\r\n", kind, quote(text))
	}
}

func (s *session) capabilities() {
	s.printf("\"IMPLEMENTATION\" \"mailgate\"\r\n")
	s.printf("\"SIEVE\" %s\r\n", quote(strings.Join(append([]string{}, sieve.Extensions...), " ")))
	if s.tls {
		s.printf("\"SASL\" \"PLAIN\"\r\n")
	} else {
		// RFC 5804 §2.1: no mechanism is usable before TLS here.
		s.printf("\"SASL\" \"\"\r\n\"STARTTLS\"\r\n")
	}
	redirects := s.srv.MaxRedirects
	if redirects <= 0 {
		redirects = sieve.DefaultLimits.MaxRedirects
	}
	s.printf("\"MAXREDIRECTS\" \"%d\"\r\n", redirects)
	s.printf("\"VERSION\" \"1.0\"\r\n")
}

// Run serves the connection until it ends.
func (s *session) Run() {
	defer s.conn.Close()
	log := s.srv.Logger().With("remote", s.conn.RemoteAddr().String())
	s.capabilities()
	s.reply("OK", "", "mailgate ManageSieve ready")
	for !s.done {
		if err := s.w.Flush(); err != nil {
			return
		}
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			s.reply("BYE", "", "server shutting down")
			s.w.Flush()
			return
		}
		s.conn.SetReadDeadline(time.Now().Add(s.srv.IdleTimeout()))
		name, args, err := readCommand(s.r, literalRoom*s.srv.Store.SieveQuota().MaxScriptBytes)
		switch {
		case errors.Is(err, errSyntax):
			s.reply("NO", "", "syntax error")
			continue
		case errors.Is(err, errTooLarge):
			s.reply("BYE", "QUOTA/MAXSIZE", "literal larger than any script may be")
			s.w.Flush()
			return
		case err != nil:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.reply("BYE", "", "idle too long or shutting down")
				s.w.Flush()
			}
			return
		}
		s.command(name, args, log)
	}
	s.w.Flush()
}

// strs checks the arguments are n strings and returns them.
func strs(args []token, n int) ([]string, bool) {
	if len(args) != n {
		return nil, false
	}
	out := make([]string, n)
	for i, a := range args {
		if !a.isString {
			return nil, false
		}
		out[i] = a.text
	}
	return out, true
}

func (s *session) command(name string, args []token, log interface{ Info(string, ...any) }) {
	switch name {
	case "CAPABILITY":
		s.capabilities()
		s.reply("OK", "", "capability completed")
		return
	case "NOOP":
		// RFC 5804 §2.14: a NOOP's tag comes back in a TAG response code
		// (sieve-connect resynchronizes after STARTTLS with one).
		if a, ok := strs(args, 1); ok {
			s.reply("OK", "TAG "+quote(a[0]), "done")
		} else {
			s.reply("OK", "", "done")
		}
		return
	case "LOGOUT":
		s.reply("OK", "", "bye")
		s.done = true
		return
	case "STARTTLS":
		s.starttls()
		return
	case "AUTHENTICATE":
		s.authenticate(args, log)
		return
	}
	if s.account == "" {
		s.reply("NO", "", "log in first (STARTTLS, then AUTHENTICATE \"PLAIN\")")
		return
	}
	ctx := context.Background()
	switch name {
	case "LISTSCRIPTS":
		list, err := s.srv.Store.SieveScripts(ctx, s.account)
		if err != nil {
			s.storeError(err)
			return
		}
		for _, sc := range list {
			if sc.Active {
				s.printf("%s ACTIVE\r\n", quote(sc.Name))
			} else {
				s.printf("%s\r\n", quote(sc.Name))
			}
		}
		s.reply("OK", "", "listscripts completed")
	case "GETSCRIPT":
		a, ok := strs(args, 1)
		if !ok {
			s.reply("NO", "", "usage: GETSCRIPT name")
			return
		}
		sc, err := s.srv.Store.SieveScript(ctx, s.account, a[0])
		if err != nil {
			s.storeError(err)
			return
		}
		s.printf("{%d}\r\n%s\r\n", len(sc.Content), sc.Content)
		s.reply("OK", "", "getscript completed")
	case "PUTSCRIPT":
		a, ok := strs(args, 2)
		if !ok {
			s.reply("NO", "", "usage: PUTSCRIPT name script")
			return
		}
		if max := s.srv.Store.SieveQuota().MaxScriptBytes; len(a[1]) > max {
			s.reply("NO", "QUOTA/MAXSIZE", fmt.Sprintf("script larger than %d bytes", max))
			return
		}
		if err := s.srv.Store.PutSieveScript(ctx, s.actor(), s.account, a[0], a[1]); err != nil {
			s.storeError(err)
			return
		}
		s.reply("OK", "", "putscript completed")
	case "CHECKSCRIPT":
		a, ok := strs(args, 1)
		if !ok {
			s.reply("NO", "", "usage: CHECKSCRIPT script")
			return
		}
		if err := s.srv.Store.SieveQuota().Check(a[0]); err != nil {
			s.storeError(err)
			return
		}
		s.reply("OK", "", "the script is valid")
	case "SETACTIVE":
		a, ok := strs(args, 1)
		if !ok {
			s.reply("NO", "", "usage: SETACTIVE name (\"\" for none)")
			return
		}
		if err := s.srv.Store.ActivateSieveScript(ctx, s.actor(), s.account, a[0]); err != nil {
			s.storeError(err)
			return
		}
		s.reply("OK", "", "setactive completed")
	case "DELETESCRIPT":
		a, ok := strs(args, 1)
		if !ok {
			s.reply("NO", "", "usage: DELETESCRIPT name")
			return
		}
		if err := s.srv.Store.DeleteSieveScript(ctx, s.actor(), s.account, a[0]); err != nil {
			s.storeError(err)
			return
		}
		s.reply("OK", "", "deletescript completed")
	case "RENAMESCRIPT":
		a, ok := strs(args, 2)
		if !ok {
			s.reply("NO", "", "usage: RENAMESCRIPT old new")
			return
		}
		if err := s.srv.Store.RenameSieveScript(ctx, s.actor(), s.account, a[0], a[1]); err != nil {
			s.storeError(err)
			return
		}
		s.reply("OK", "", "renamescript completed")
	case "HAVESPACE":
		s.haveSpace(ctx, args)
	default:
		s.reply("NO", "", "unknown command "+name)
	}
}

// haveSpace answers HAVESPACE (RFC 5804 §2.5) with the store's quotas.
func (s *session) haveSpace(ctx context.Context, args []token) {
	if len(args) != 2 || !args[0].isString || args[1].isString {
		s.reply("NO", "", "usage: HAVESPACE name size")
		return
	}
	size, err := strconv.ParseInt(args[1].text, 10, 64)
	if err != nil || size < 0 {
		s.reply("NO", "", "usage: HAVESPACE name size")
		return
	}
	quota := s.srv.Store.SieveQuota()
	if size > int64(quota.MaxScriptBytes) {
		s.reply("NO", "QUOTA/MAXSIZE", fmt.Sprintf("scripts may be up to %d bytes", quota.MaxScriptBytes))
		return
	}
	list, err := s.srv.Store.SieveScripts(ctx, s.account)
	if err != nil {
		s.storeError(err)
		return
	}
	replacing := false
	for _, sc := range list {
		replacing = replacing || sc.Name == args[0].text
	}
	if !replacing && len(list) >= quota.MaxScripts {
		s.reply("NO", "QUOTA/MAXSCRIPTS", fmt.Sprintf("an account may have %d scripts", quota.MaxScripts))
		return
	}
	s.reply("OK", "", "putscript would succeed")
}

// storeError maps the store's errors to RFC 5804 §1.3 response codes.
func (s *session) storeError(err error) {
	text := strings.TrimPrefix(err.Error(), "script: invalid: ")
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.reply("NO", "NONEXISTENT", text)
	case errors.Is(err, store.ErrExists):
		s.reply("NO", "ALREADYEXISTS", text)
	case errors.Is(err, store.ErrInUse) && strings.Contains(text, "is active"):
		s.reply("NO", "ACTIVE", text)
	case errors.Is(err, store.ErrInUse):
		s.reply("NO", "QUOTA/MAXSCRIPTS", text)
	case errors.Is(err, store.ErrInvalid):
		s.reply("NO", "", text)
	default:
		s.srv.Logger().Error("managesieve: store", "account", s.account, "err", err)
		s.reply("NO", "TRYLATER", "the directory is unavailable; try again later")
	}
}

func (s *session) actor() string { return "managesieve:" + s.account }

func (s *session) starttls() {
	if s.tls {
		s.reply("NO", "", "TLS is already active")
		return
	}
	if s.srv.TLS == nil {
		s.reply("NO", "", "TLS is not available")
		return
	}
	s.reply("OK", "", "begin TLS negotiation")
	if err := s.w.Flush(); err != nil {
		s.done = true
		return
	}
	tc := tls.Server(s.conn, s.srv.TLS)
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		s.done = true
		return
	}
	tc.SetDeadline(time.Time{})
	// Anything the client sent before the handshake is discarded with the
	// old reader (the STARTTLS command-injection fix, CVE-2011-0411).
	s.conn, s.tls = tc, true
	s.r, s.w = bufio.NewReader(tc), bufio.NewWriter(tc)
	// RFC 5804 §2.2: the capabilities again, now with SASL.
	s.capabilities()
	s.reply("OK", "", "TLS active")
}

// authenticate serves AUTHENTICATE "PLAIN" (RFC 5804 §2.1), only under TLS.
func (s *session) authenticate(args []token, log interface{ Info(string, ...any) }) {
	if s.account != "" {
		s.reply("NO", "", "already logged in")
		return
	}
	if !s.tls {
		s.reply("NO", "ENCRYPT-NEEDED", "STARTTLS first: no login without TLS")
		return
	}
	if len(args) < 1 || len(args) > 2 || !args[0].isString || (len(args) == 2 && !args[1].isString) {
		s.reply("NO", "", "usage: AUTHENTICATE \"PLAIN\" [initial-response]")
		return
	}
	if !strings.EqualFold(args[0].text, sasl.Plain) {
		s.reply("NO", "", "only PLAIN is supported")
		return
	}
	var resp string
	if len(args) == 2 {
		resp = args[1].text
	} else {
		s.printf("\"\"\r\n") // the empty challenge
		if err := s.w.Flush(); err != nil {
			s.done = true
			return
		}
		line, err := readLine(s.r)
		if err != nil {
			s.done = true
			return
		}
		var toks []token
		if lit, err := tokenize(line, &toks); err != nil || lit >= 0 || len(toks) != 1 || !toks[0].isString {
			s.reply("NO", "", "expected the SASL response as a quoted string")
			return
		}
		resp = toks[0].text
	}
	if resp == "*" {
		s.reply("NO", "", "authentication cancelled")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		s.reply("NO", "", "invalid base64 in SASL response")
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
		s.authFailed()
		return
	}
	acct, err := login.CheckFrom(context.Background(), s.srv.Store, s.conn.RemoteAddr(), user, pw)
	switch {
	case errors.Is(err, login.ErrUnavailable):
		s.reply("NO", "TRYLATER", "the directory is unavailable; try again later")
		return
	case err != nil:
		log.Info("managesieve login failed", "user", user)
		s.authFailed()
		return
	}
	s.account = acct.Address
	netlimit.LoggedIn(s.conn) // the login deadline no longer applies
	log.Info("managesieve login", "account", acct.Address)
	s.reply("OK", "", "logged in")
}

func (s *session) authFailed() {
	s.fails++
	if s.fails >= s.srv.MaxFailures() {
		s.reply("BYE", "", "too many failed logins")
		s.done = true
		return
	}
	s.reply("NO", "", "authentication failed")
}

// Close ends the connection at once.
func (s *session) Close() { s.conn.Close() }
