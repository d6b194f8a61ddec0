package thread

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// BaseSubject extracts the base subject of a decoded Subject field (RFC
// 5256 §2.1) folded for comparison as i;unicode-casemap (RFC 5051 §2:
// titlecase, then NFKD, so "ﾃｽﾄ" and "テスト", or "ＭＴＧ" and "mtg",
// are one subject), and whether the extraction removed
// a reply or forward marker ("Re:", "Fwd:", "(fwd)", "[fwd: ...]"), which
// REFERENCES' subject merging (§3 step 5) asks.
func BaseSubject(subject string) (base string, isReply bool) {
	// Step 1: tabs and line breaks become spaces, runs of spaces one.
	s := strings.Join(strings.FieldsFunc(subject, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}), " ")
	for {
		// Step 2: trailing "(fwd)" and white space.
		for {
			t := strings.TrimRight(s, " ")
			if len(t) >= 5 && strings.EqualFold(t[len(t)-5:], "(fwd)") {
				t = t[:len(t)-5]
				isReply = true
			}
			if t == s {
				break
			}
			s = t
		}
		// Steps 3 to 5: leaders ("Re:", "[list] Fwd:") and blobs
		// ("[list]"), until nothing changes.
		for {
			t, reply := trimLeader(s)
			if reply {
				isReply = true
			}
			if b := trimBlob(t); b != t && b != "" {
				t = b
			}
			if t == s {
				break
			}
			s = t
		}
		// Step 6: "[fwd: subject]" wraps a forwarded subject.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = strings.TrimSpace(s[5 : len(s)-1])
			isReply = true
			continue
		}
		break
	}
	return Casemap(s), isReply
}

// Casemap is RFC 5051 §2's i;unicode-casemap key: every character mapped
// to its titlecase, then the string decomposed to NFKD. Two keys compare
// as the collation orders their strings when compared as octets
// (strings.Compare), which is what i;unicode-casemap does with them.
func Casemap(s string) string {
	return norm.NFKD.String(strings.Map(unicode.ToTitle, s))
}

// trimLeader removes one subj-leader: white space, or *subj-blob
// subj-refwd, where subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob]
// ":" (RFC 5256 §5).
func trimLeader(s string) (string, bool) {
	if t := strings.TrimLeft(s, " "); t != s {
		return t, false
	}
	rest := s
	for {
		b := trimBlob(rest)
		if b == rest {
			break
		}
		rest = b
	}
	lower := strings.ToLower(rest)
	var n int
	switch {
	case strings.HasPrefix(lower, "re"):
		n = 2
	case strings.HasPrefix(lower, "fwd"):
		n = 3
	case strings.HasPrefix(lower, "fw"):
		n = 2
	default:
		return s, false
	}
	rest = strings.TrimLeft(rest[n:], " ")
	rest = trimBlob(rest)
	if !strings.HasPrefix(rest, ":") {
		return s, false
	}
	return rest[1:], true
}

// trimBlob removes one leading subj-blob: "[" *BLOBCHAR "]" *WSP.
func trimBlob(s string) string {
	if !strings.HasPrefix(s, "[") {
		return s
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return s
	}
	return strings.TrimLeftFunc(s[end+2:], unicode.IsSpace)
}
