package compose

import (
	"regexp"
	"strings"

	"github.com/emersion/go-message/mail"
)

// maxReferences keeps References from growing without end down a long
// thread: the first ID (the thread's root) and the latest ones, as RFC
// 5322 §3.6.4 allows trimming.
const maxReferences = 20

// Reply starts a reply (RFC 5322 §3.6.4): to Reply-To, else From; with
// all, the original's other To and Cc recipients as Cc. own tells the
// account's own addresses, which are never added. In-Reply-To is the
// original's Message-ID; References its References (or In-Reply-To)
// followed by that ID. The subject gets "Re: " once; the text quotes the
// original's under wrote, the attribution line ("" is Attribution's).
func (o *Original) Reply(all bool, own func(addr string) bool, wrote string) *Draft {
	to := o.ReplyTo
	if len(to) == 0 {
		to = o.From
	}
	seen := map[string]bool{}
	pick := func(l []*mail.Address) []*mail.Address {
		var out []*mail.Address
		for _, a := range l {
			k := strings.ToLower(a.Address)
			if seen[k] || own(a.Address) {
				continue
			}
			seen[k] = true
			out = append(out, a)
		}
		return out
	}
	toList := pick(to)
	if len(toList) == 0 {
		// A reply to one's own message goes to its recipients.
		toList = pick(o.To)
	}
	d := &Draft{To: formatList(toList), Subject: replySubject(o.Subject)}
	if all {
		d.Cc = formatList(pick(append(append([]*mail.Address(nil), o.To...), o.Cc...)))
	}
	if o.MessageID != "" {
		d.InReplyTo = o.MessageID
		refs := o.References
		if len(refs) == 0 && o.InReplyTo != "" {
			refs = []string{o.InReplyTo}
		}
		d.References = trimReferences(append(append([]string(nil), refs...), o.MessageID))
	}
	if wrote == "" {
		wrote = o.Attribution()
	}
	d.Text = "\n\n" + wrote + "\n" + quote(o.Text)
	return d
}

// Forward starts an inline forward: the original's text under a header
// block, its attachments carried over.
func (o *Original) Forward() *Draft {
	var b strings.Builder
	b.WriteString("\n\n---------- Forwarded message ----------\n")
	line := func(k, v string) {
		if v != "" {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	line("From", formatList(o.From))
	if !o.Date.IsZero() {
		line("Date", o.Date.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
	}
	line("Subject", o.Subject)
	line("To", formatList(o.To))
	line("Cc", formatList(o.Cc))
	b.WriteString("\n" + o.Text)
	return &Draft{Subject: forwardSubject(o.Subject), Text: b.String(), Attachments: o.Attachments}
}

// ForwardAttached starts a forward with the original attached whole as
// message/rfc822 (RFC 2046 §5.2.1).
func (o *Original) ForwardAttached() *Draft {
	return &Draft{Subject: forwardSubject(o.Subject), Attachments: []Attachment{o.AsAttachment()}}
}

// AsAttachment is the original as a message/rfc822 attachment named
// after its subject.
func (o *Original) AsAttachment() Attachment {
	name := strings.TrimSpace(o.Subject)
	if name == "" {
		name = "message"
	}
	return Attachment{Name: name + ".eml", Type: "message/rfc822", Data: o.Raw}
}

// Attribution is the English line above a quoted original: "On DATE,
// NAME <ADDR> wrote:".
func (o *Original) Attribution() string {
	who, when := o.Author(), o.When()
	if when == "" {
		return who + " wrote:"
	}
	return "On " + when + ", " + who + " wrote:"
}

// Author is the original's sender as the attribution names it.
func (o *Original) Author() string {
	if len(o.From) == 0 {
		return "?"
	}
	return formatAddress(o.From[0])
}

// When is the original's date as the attribution gives it, "" when it
// has none.
func (o *Original) When() string {
	if o.Date.IsZero() {
		return ""
	}
	return o.Date.Format("2006-01-02 15:04 -0700")
}

// quote prefixes each line with "> " (">" before an already quoted one).
func quote(text string) string {
	text = strings.TrimRight(text, "\n")
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, ">") || l == "" {
			b.WriteString(">" + l + "\n")
		} else {
			b.WriteString("> " + l + "\n")
		}
	}
	return b.String()
}

var (
	replyPrefix   = regexp.MustCompile(`^(?i)\s*re(\[\d+\])?\s*[:：]`)
	forwardPrefix = regexp.MustCompile(`^(?i)\s*(fwd?|転送)\s*[:：]`)
)

// replySubject adds "Re: " unless there is one (RFC 5322 §3.6.5).
func replySubject(s string) string {
	if replyPrefix.MatchString(s) {
		return s
	}
	return "Re: " + s
}

func forwardSubject(s string) string {
	if forwardPrefix.MatchString(s) {
		return s
	}
	return "Fwd: " + s
}

func trimReferences(refs []string) []string {
	if len(refs) <= maxReferences {
		return refs
	}
	return append([]string{refs[0]}, refs[len(refs)-maxReferences+1:]...)
}
