package smtpd

import (
	"github.com/emersion/go-smtp"
)

// RFC 5321 §4.1.2: command arguments are printable ASCII (UTF-8 beyond it
// with SMTPUTF8, RFC 6531 §3.3) separated by SP, and §2.3.8: a line ends
// only with CRLF. A NUL or another control character in an argument is a
// syntax error (501, RFC 5321 §4.2.2; X.5.2, RFC 3463 §3.6); let through,
// it would be echoed back, logged, and written into the Received field.
var errControlChar = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2},
	Message: "Syntax error: control characters are not allowed in command arguments"}

// hasControlChar reports whether any argument holds a C0 control character
// or DEL. Bytes from 0x80 up are UTF-8 and left to the address parser.
func hasControlChar(args ...string) bool {
	for _, a := range args {
		for i := 0; i < len(a); i++ {
			if c := a[i]; c < 0x20 || c == 0x7f {
				return true
			}
		}
	}
	return false
}

// checkArgs refuses arguments with control characters: the HELO name
// go-smtp has parsed and the command's own arguments.
func (s *session) checkArgs(args ...string) error {
	if hasControlChar(append(args, s.helo())...) {
		s.log.Warn("control character in a command argument")
		return s.reject(errControlChar)
	}
	return nil
}

// mailArgs are the MAIL parameters go-smtp hands over as text.
func mailArgs(from string, opts *smtp.MailOptions) []string {
	args := []string{from}
	if opts != nil {
		args = append(args, opts.EnvelopeID)
		if opts.Auth != nil {
			args = append(args, *opts.Auth)
		}
	}
	return args
}

// rcptArgs are the RCPT parameters go-smtp hands over as text.
func rcptArgs(to string, opts *smtp.RcptOptions) []string {
	args := []string{to}
	if opts != nil {
		args = append(args, opts.OriginalRecipient)
	}
	return args
}
