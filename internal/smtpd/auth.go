package smtpd

import (
	"context"
	"errors"
	"net"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailgate/internal/login"
	"mailgate/internal/store"
)

var (
	// RFC 4954 §6: 535 5.7.8 for bad credentials, the same for an unknown
	// user, so neither the reply nor its timing tells them apart.
	errAuthFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	// RFC 4954 §4: AUTH during a mail transaction is a 503.
	errAuthInTransaction = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "AUTH not permitted during a mail transaction"}
	// RFC 4954 §4: a malformed SASL response is a 501.
	errAuthSyntax  = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Malformed authentication response"}
	errAuthTooMany = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many failed authentications, closing connection"}
	errAuthTemp    = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure, try again later"}
	// RFC 4954 §6: 454 4.7.0 is the temporary authentication failure;
	// the client's address is blocked by login throttling (issue 11 §2).
	errAuthBlocked = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many failed logins from your address, try again later"}
)

// checkPassword verifies a login from client (package login) and maps the
// outcome to RFC 4954's replies.
func checkPassword(ctx context.Context, dir Directory, client net.Addr, user, pw string) (*store.Account, error) {
	acct, err := login.CheckFrom(ctx, dir, client, user, pw)
	switch err {
	case nil:
		return acct, nil
	case login.ErrUnavailable:
		return nil, errAuthTemp
	case login.ErrBlocked:
		return nil, errAuthBlocked
	}
	return nil, errAuthFailed
}

// loginServer is the LOGIN mechanism (draft-murchison-sasl-login), which
// go-sasl offers only as a client: Outlook and older clients still use it.
type loginServer struct {
	step         int
	user         string
	authenticate sasl.PlainAuthenticator
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough // initial response carries the user name
	case 1:
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.authenticate("", l.user, string(resp))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}

// syntaxMapped turns go-sasl's parse errors into RFC 4954's 501 instead of
// go-smtp's default 454.
type syntaxMapped struct{ sasl.Server }

func (s syntaxMapped) Next(resp []byte) ([]byte, bool, error) {
	ch, done, err := s.Server.Next(resp)
	var se *smtp.SMTPError
	if err != nil && !errors.As(err, &se) {
		err = errAuthSyntax
	}
	return ch, done, err
}
