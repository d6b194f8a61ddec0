package password

import "errors"

// MinLength is the shortest password an account may be given.
const MinLength = 8

// ErrTooShort is CheckNew's refusal.
var ErrTooShort = errors.New("password shorter than 8 characters; nothing changed")

// CheckNew says whether pw may become an account's password: the one rule
// the CLI (user add, user passwd) and the web's password change share.
func CheckNew(pw string) error {
	if len(pw) < MinLength {
		return ErrTooShort
	}
	return nil
}
