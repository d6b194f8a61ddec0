package message

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
)

// Trace describes one hop for a Received field.
type Trace struct {
	Helo string // what the client said in EHLO/HELO
	RDNS string // the client's reverse DNS name, if known
	IP   string
	By   string // our host name
	With string // ESMTP, ESMTPS, ESMTPSA ... (RFC 3848)
	ID   string // our queue ID
	TLS  string // "version=TLS1.3 cipher=..." or ""
	Auth string // authenticated identity, or ""
	For  string // the single recipient, or ""
	At   time.Time
}

// Received renders a Received field (RFC 5321 §4.4), folded over lines.
func Received(t Trace) string {
	var b strings.Builder
	helo := sanitize(t.Helo)
	if helo == "" {
		helo = "unknown"
	}
	rdns := sanitize(t.RDNS)
	fmt.Fprintf(&b, "Received: from %s (%s[%s])", helo, withSpace(rdns), t.IP)
	fmt.Fprintf(&b, "\r\n\tby %s (mailgate) with %s id %s", t.By, t.With, t.ID)
	if t.TLS != "" {
		fmt.Fprintf(&b, "\r\n\t(%s)", t.TLS)
	}
	if t.Auth != "" {
		fmt.Fprintf(&b, "\r\n\t(authenticated sender: %s)", sanitize(t.Auth))
	}
	if t.For != "" {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", sanitize(t.For))
	}
	fmt.Fprintf(&b, ";\r\n\t%s", t.At.Format(time.RFC1123Z))
	return b.String()
}

func withSpace(s string) string {
	if s == "" {
		return ""
	}
	return s + " "
}

// sanitize keeps client-supplied text from breaking the field: no CR, LF,
// parentheses or control characters, and a bounded length.
func sanitize(s string) string {
	if len(s) > 255 {
		s = s[:255]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r == 0x7f || r == '(' || r == ')' || r == '[' || r == ']' || r == ';' {
			return -1
		}
		return r
	}, s)
}

// TLSClause describes the TLS session for a Received comment (RFC 8314 §4.3).
func TLSClause(st tls.ConnectionState) string {
	return fmt.Sprintf("using %s with cipher %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
}

// FixUps returns the fields RFC 6409 §8 lets an MSA add when the client
// left them out: Date (§8.2) and Message-ID (§8.3).
func FixUps(h mail.Header, host string, now time.Time) []string {
	var out []string
	if !h.Has("Date") {
		out = append(out, "Date: "+now.Format(time.RFC1123Z))
	}
	if !h.Has("Message-Id") {
		out = append(out, MessageIDField(host, now))
	}
	return out
}

// MessageIDField is a new Message-ID header field (without the line end)
// for a message we write ourselves. RFC 5322 §3.6.4: msg-id is
// "<" id-left "@" id-right ">"; every raw header we write takes its
// Message-ID from here so the brackets are written in one place.
func MessageIDField(host string, now time.Time) string {
	return "Message-ID: <" + NewMessageID(host, now) + ">"
}

// NewMessageID returns a globally unique id-left@id-right, without the
// angle brackets: for go-message's mail.Header.SetMessageID, which adds
// them. A header written by hand takes MessageIDField instead.
func NewMessageID(host string, now time.Time) string {
	var r [8]byte
	rand.Read(r[:])
	return fmt.Sprintf("%d.%s@%s", now.UnixNano(), hex.EncodeToString(r[:]), host)
}
