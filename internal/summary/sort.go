package summary

import (
	"cmp"
	"slices"
	"strings"

	"mailgate/internal/mailbox"
	"mailgate/internal/thread"
)

// Key is a sort key of IMAP SORT (RFC 5256 §3, RFC 5957 §3).
type Key int

const (
	Arrival     Key = iota // internal date
	Cc                     // addr-mailbox of the first Cc address
	Date                   // sent date, the internal date without one
	From                   // addr-mailbox of the first From address
	Size                   // size in octets
	Subject                // base subject
	To                     // addr-mailbox of the first To address
	DisplayFrom            // display name of the first From address, else the address
	DisplayTo              // display name of the first To address, else the address
)

// Criterion is one sort criterion: a key, in descending order if Reverse.
type Criterion struct {
	Key     Key
	Reverse bool
}

// Sort returns the positions in msgs (0 to len(msgs)-1) in the order of
// criteria, IMAP SORT's (RFC 5256 §3): each criterion breaks the ties of
// the ones before it, and messages equal by all of them keep their order
// in msgs (sequence order) — REVERSE reverses its own criterion only,
// never this last one. Text is compared by i;unicode-casemap (RFC 5051),
// the header fields read from f's summary cache.
func Sort(f *mailbox.Folder, msgs []mailbox.Message, criteria []Criterion) []int {
	var sums []Summary
	for _, c := range criteria {
		if c.Key != Arrival && c.Key != Size && sums == nil {
			sums = of(f, msgs, needSort)
			Compact(f)
		}
	}
	// Each message's keys are made once, not once per comparison. A key
	// already used cannot break the ties it left (REVERSE or not), so it
	// is skipped: a command line of 10,000 "DATE" makes one column.
	var cols []func(a, b int) int
	used := map[Key]bool{}
	for _, c := range criteria {
		if used[c.Key] {
			continue
		}
		used[c.Key] = true
		col := column(c.Key, msgs, sums)
		if c.Reverse {
			asc := col
			col = func(a, b int) int { return asc(b, a) }
		}
		cols = append(cols, col)
	}
	order := make([]int, len(msgs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		for _, col := range cols {
			if c := col(a, b); c != 0 {
				return c
			}
		}
		return cmp.Compare(a, b)
	})
	return order
}

// column is the ascending order of positions in msgs by key.
func column(key Key, msgs []mailbox.Message, sums []Summary) func(a, b int) int {
	texts := func(k func(Summary) string) func(a, b int) int {
		keys := make([]string, len(sums))
		for i := range sums {
			keys[i] = k(sums[i])
		}
		return func(a, b int) int { return strings.Compare(keys[a], keys[b]) }
	}
	switch key {
	case Arrival:
		return func(a, b int) int { return cmp.Compare(msgs[a].Date, msgs[b].Date) }
	case Size:
		return func(a, b int) int { return cmp.Compare(msgs[a].Size, msgs[b].Size) }
	case Date:
		sent := make([]int64, len(sums))
		for i := range sums {
			sent[i] = SentDate(sums[i], msgs[i])
		}
		return func(a, b int) int { return cmp.Compare(sent[a], sent[b]) }
	case Subject:
		return texts(func(s Summary) string { return SubjectKey(s.Subject) })
	case From:
		return texts(func(s Summary) string { return MailboxKey(s.FromAddr) })
	case To:
		return texts(func(s Summary) string { return MailboxKey(s.ToAddr) })
	case Cc:
		return texts(func(s Summary) string { return MailboxKey(s.CcAddr) })
	case DisplayFrom:
		return texts(func(s Summary) string { return DisplayKey(s.From) })
	case DisplayTo:
		return texts(func(s Summary) string { return DisplayKey(s.ToDisplay) })
	}
	return func(a, b int) int { return 0 }
}

// SentDate is a message's sent date in Unix seconds: its Date field's,
// or its internal date when Date is missing or does not parse (RFC 5256
// §2.2). SORT's DATE and threading (§2.2 too) read the same.
func SentDate(s Summary, m mailbox.Message) int64 {
	if s.Sent == 0 {
		return m.Date
	}
	return s.Sent
}

// SubjectKey is SORT's SUBJECT key: the base subject (RFC 5256 §2.1) as
// i;unicode-casemap compares it.
func SubjectKey(subject string) string {
	base, _ := thread.BaseSubject(subject)
	return base
}

// MailboxKey is SORT's FROM, TO and CC key of an address: its
// addr-mailbox, the local part (RFC 5256 §3, RFC 3501 §9's addr-mailbox),
// as i;unicode-casemap compares it; "" without an address.
func MailboxKey(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		addr = addr[:i]
	}
	return thread.Casemap(addr)
}

// DisplayKey is SORT=DISPLAY's DISPLAYFROM and DISPLAYTO key of an
// address's display text (the decoded display name, else the address:
// Summary.From and ToDisplay), as i;unicode-casemap compares it (RFC 5957
// §3).
func DisplayKey(display string) string {
	return thread.Casemap(strings.TrimSpace(display))
}
