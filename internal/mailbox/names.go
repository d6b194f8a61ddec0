package mailbox

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Maildir flag letters (the "2," info suffix, cr.yp.to/proto/maildir.html):
// they must appear in ASCII order in a file name.
const (
	FlagDraft   = 'D'
	FlagFlagged = 'F'
	FlagPassed  = 'P'
	FlagReplied = 'R'
	FlagSeen    = 'S'
	FlagTrashed = 'T'
)

// splitName splits a file name in cur/ or new/ into its unique base and
// its flag letters ("" when the name has no ":2," info).
func splitName(name string) (base, flags string) {
	if i := strings.LastIndex(name, ":2,"); i >= 0 {
		return name[:i], normFlags(name[i+3:])
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i], "" // experimental ":1," info: no flags we know
	}
	return name, ""
}

// normFlags sorts and de-duplicates flag letters, dropping anything that is
// not an ASCII letter.
func normFlags(f string) string {
	var seen [128]bool
	for i := 0; i < len(f); i++ {
		if c := f[i]; (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') {
			seen[c] = true
		}
	}
	var b []byte
	for c := range seen {
		if seen[c] {
			b = append(b, byte(c))
		}
	}
	return string(b)
}

// HasFlag reports whether flag letter c is in flags.
func HasFlag(flags string, c byte) bool { return strings.IndexByte(flags, c) >= 0 }

// imapLetters are the flag letters IMAP system flags map to; '=' replaces
// only these, so letters other software keeps in the name (P, Dovecot's
// lowercase keywords) survive an IMAP STORE FLAGS.
const imapLetters = "DFRST"

// EditFlags applies a STORE-like change to flags: op '+' adds, '-' removes,
// '=' replaces the IMAP-mapped letters (D F R S T) and keeps the others.
func EditFlags(flags string, op byte, change string) string {
	switch op {
	case '=':
		var keep []byte
		for i := 0; i < len(flags); i++ {
			if strings.IndexByte(imapLetters, flags[i]) < 0 {
				keep = append(keep, flags[i])
			}
		}
		return normFlags(string(keep) + change)
	case '+':
		return normFlags(flags + change)
	case '-':
		var b []byte
		for i := 0; i < len(flags); i++ {
			if strings.IndexByte(change, flags[i]) < 0 {
				b = append(b, flags[i])
			}
		}
		return string(b)
	}
	return flags
}

// sizeFromName reads the ",S=<size>" attribute Maildir++ writers put into
// the base name, so the size is known without a stat.
func sizeFromName(base string) (int64, bool) {
	i := strings.Index(base, ",S=")
	if i < 0 {
		return 0, false
	}
	s := base[i+3:]
	if j := strings.IndexByte(s, ','); j >= 0 {
		s = s[:j]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// dateFromName reads the leading seconds of a Maildir name (the delivery
// time, which is the natural IMAP internal date).
func dateFromName(base string) (int64, bool) {
	i := strings.IndexByte(base, '.')
	if i <= 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(base[:i], 10, 64)
	return n, err == nil && n > 0
}

var uniqueSeq atomic.Uint64

// uniqueBase makes a new Maildir base name for a message this process
// writes itself (APPEND, COPY): time, microseconds, pid and a counter make
// it unique on this host; the size rides along like in DeliveryName.
func uniqueBase(t time.Time, size int64) string {
	return fmt.Sprintf("%d.M%dP%dQ%d.%s,S=%d", t.Unix(), t.Nanosecond()/1000, os.Getpid(), uniqueSeq.Add(1), nameHost(), size)
}

// nameHost is the host part of uniqueBase names, looked up once: a COPY of
// many messages would otherwise ask the kernel for it per message.
var nameHost = sync.OnceValue(func() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	return strings.NewReplacer("/", `\057`, ":", `\072`, " ", "_").Replace(host)
})

func sortStrings(s []string) { sort.Strings(s) }

// sortDelivered sorts Maildir names (or base names) in delivery order, the
// order new messages get their UIDs in (RFC 9051 §2.3.1.1: UIDs ascend
// with arrival). Names begin "seconds.M<microseconds>…" (the Maildir
// spec's unique part, which Dovecot and we write unpadded), so a plain
// string sort put a message of .275 s before one of .101 s of the same
// second ("M275…" < "M9…" fails only for different digit counts): both
// numbers are compared as numbers, and the whole name breaks ties.
func sortDelivered(s []string) {
	sort.Slice(s, func(i, j int) bool { return deliveredBefore(s[i], s[j]) })
}

// deliveredBefore orders two Maildir names by delivery time where both
// carry it, else by name.
func deliveredBefore(a, b string) bool {
	sa, ua, okA := deliveryTime(a)
	sb, ub, okB := deliveryTime(b)
	if okA && okB && (sa != sb || ua != ub) {
		if sa != sb {
			return sa < sb
		}
		return ua < ub
	}
	return a < b
}

// deliveryTime reads the seconds and the "M" microseconds of a name
// "seconds.M<micro>…"; a name without the M part has micro 0.
func deliveryTime(name string) (sec, micro int64, ok bool) {
	sec, ok = dateFromName(name)
	if !ok {
		return 0, 0, false
	}
	rest := name[strings.IndexByte(name, '.')+1:]
	if !strings.HasPrefix(rest, "M") {
		return sec, 0, true
	}
	n := 1
	for n < len(rest) && n < 8 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	micro, _ = strconv.ParseInt(rest[1:n], 10, 64)
	return sec, micro, true
}

// systemFlagLetters are the letters IMAP system flags are stored as (the
// mapping Dovecot and Courier use).
var systemFlagLetters = map[string]byte{
	`\draft`: FlagDraft, `\flagged`: FlagFlagged, `\answered`: FlagReplied,
	`\seen`: FlagSeen, `\deleted`: FlagTrashed,
}

// FlagLetters maps IMAP flags (any case) to Maildir letters; keywords and
// unknown flags, which a Maildir name without a keywords file cannot hold,
// are returned as dropped.
func FlagLetters(flags []string) (letters string, dropped []string) {
	var b []byte
	for _, f := range flags {
		if c, ok := systemFlagLetters[strings.ToLower(f)]; ok {
			b = append(b, c)
		} else {
			dropped = append(dropped, f)
		}
	}
	return normFlags(string(b)), dropped
}
