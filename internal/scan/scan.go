// Package scan speaks to the content scanners that run beside a mail node
// as their own daemons (ARCHITECTURE: "scanners are separate daemons spoken
// to over their own protocols, never linked in"): clamd for viruses, rspamd
// for spam. Each engine is a Scanner; the verdict stages in this package
// turn their answers into SMTP replies, header fields and Junk delivery.
package scan

import (
	"context"
	"errors"
	"net/netip"
)

// Scanner is one content-scanning engine. Another engine (a second AV, a
// different spam filter) is added by implementing these three methods.
type Scanner interface {
	// Name is the engine's name for logs, counters and header fields.
	Name() string
	// Scan judges one message. An error means the engine could not judge
	// it (down, timed out, protocol error); ErrTooLarge that it refused
	// the message for its size.
	Scan(ctx context.Context, req *Request) (*Result, error)
	// Ping is a health check: nil when the engine answers.
	Ping(ctx context.Context) error
}

// Request is one message and what the MTA knows of its transaction.
type Request struct {
	Body     []byte     // the message, CRLF line ends
	IP       netip.Addr // the client; zero when unknown
	Helo     string
	Hostname string // the client's verified rDNS name; "" sends "unknown"
	From     string // envelope sender, "" for <>
	Rcpts    []string
	User     string // the authenticated account (submission)
	QueueID  string
	MTAName  string // this node's host name
}

// Result is an engine's judgement. A virus engine sets Virus; a spam engine
// sets Spam.
type Result struct {
	Virus string // the signature name when a virus was found, else ""
	Spam  *Spam
}

// Spam is a spam engine's judgement of one message.
type Spam struct {
	Action   string  // one of the Action* constants
	Score    float64 // the message's score
	Required float64 // the engine's threshold for its strongest action
	Symbols  []Symbol
	Message  string // the engine's text for the SMTP reply, if any
}

// Symbol is one rule that matched, with its score.
type Symbol struct {
	Name  string
	Score float64
}

// rspamd's actions (https://rspamd.com/doc/configuration/metrics.html).
const (
	ActionReject         = "reject"
	ActionSoftReject     = "soft reject"
	ActionRewriteSubject = "rewrite subject"
	ActionAddHeader      = "add header"
	ActionGreylist       = "greylist"
	ActionNoAction       = "no action"
)

// ErrTooLarge says the engine refused the message for its size (clamd's
// StreamMaxLength): the message was not scanned.
var ErrTooLarge = errors.New("message over the scanner's size limit")
