package imapd

import (
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailgate/internal/mailbox"
)

// Maildir flag letters and the IMAP system flags they store (the mapping
// Dovecot and Courier use).
var flagLetters = []struct {
	letter byte
	flag   imap.Flag
}{
	{mailbox.FlagDraft, imap.FlagDraft},
	{mailbox.FlagFlagged, imap.FlagFlagged},
	{mailbox.FlagReplied, imap.FlagAnswered},
	{mailbox.FlagSeen, imap.FlagSeen},
	{mailbox.FlagTrashed, imap.FlagDeleted},
}

// permanentFlags: only system flags survive in a Maildir name without a
// keywords file, so no \* (RFC 9051 §7.1: PERMANENTFLAGS).
var permanentFlags = []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}

func imapFlags(letters string) []imap.Flag {
	out := []imap.Flag{}
	for _, fl := range flagLetters {
		if mailbox.HasFlag(letters, fl.letter) {
			out = append(out, fl.flag)
		}
	}
	return out
}

// letters maps IMAP flags to Maildir letters; keywords and unknown flags
// are dropped (they are not permanent here).
func letters(flags []imap.Flag) string {
	var b []byte
	for _, f := range flags {
		for _, fl := range flagLetters {
			if strings.EqualFold(string(f), string(fl.flag)) {
				b = append(b, fl.letter)
			}
		}
	}
	return string(b)
}

func hasIMAPFlag(letters string, f imap.Flag) bool {
	for _, fl := range flagLetters {
		if strings.EqualFold(string(f), string(fl.flag)) {
			return mailbox.HasFlag(letters, fl.letter)
		}
	}
	return false
}
