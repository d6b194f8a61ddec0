package address

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// NameRule says, for error messages, what an account or alias name may be.
const NameRule = "an account or alias name is letters, digits and any of !#$&'*+-=?^_`{|}~ " +
	"(UTF-8 letters too), with single dots between them, and is not cur, new or tmp"

// NormalizeNew is Normalize for an address the directory is about to
// create, as an account or an alias: the one rule every path that creates
// them (CLI, API) goes through.
//
// On top of RFC 5322 §3.2.3 (which allows '/'), the local part names a
// directory (<mail>/<domain>/<local>, a Maildir): '/' would make it a path
// into another account's Maildir or the domain's own directory, '\',
// NUL and control characters have no business in a file name, and cur, new,
// tmp and dot-names are Maildir's own (RFC-less, see maildir(5) and
// Maildir++). Refusing them here keeps mailbox.Dir's escaping a second
// line of defence, never the first.
func NormalizeNew(addr string) (string, error) {
	// Checked before Split, so that what this rule refuses is refused
	// with the rule in the message.
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		if err := checkMailboxName(strings.ToLower(addr[:at])); err != nil {
			return "", fmt.Errorf("%w: %q: %v; %s", ErrInvalid, addr, err, NameRule)
		}
	}
	return Normalize(addr)
}

func checkMailboxName(local string) error {
	switch {
	case local == "":
		return errors.New("empty local part")
	case local[0] == '.':
		return errors.New("local part starts with '.'")
	case local == "cur" || local == "new" || local == "tmp":
		return fmt.Errorf("%q is a Maildir directory name", local)
	}
	for _, r := range local {
		switch {
		case r == '/' || r == '\\':
			return fmt.Errorf("%q is not allowed in an account name", r)
		case unicode.IsControl(r): // C0 (NUL among them), DEL and C1
			return fmt.Errorf("control character %U is not allowed in an account name", r)
		}
	}
	return nil
}
