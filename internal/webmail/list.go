package webmail

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"mailgate/internal/mailbox"
	"mailgate/internal/summary"
)

// Sort orders of the message list.
const (
	ByDate    = "date"
	BySender  = "from"
	BySubject = "subject"
	BySize    = "size"
)

// Search fields.
const (
	InAll     = ""        // sender, recipients or subject
	InFrom    = "from"    // sender
	InTo      = "to"      // recipients
	InSubject = "subject" // subject
	InBody    = "body"    // the text of the message (reads every file)
)

// Query says which page of which list: the sort order, a search, the page.
type Query struct {
	Sort    string // ByDate (default), BySender, BySubject, BySize
	Asc     bool   // oldest / A-Z / smallest first; default newest first
	Search  string // case-insensitive substring; "" lists everything
	In      string // InAll, InFrom, InTo, InSubject, InBody
	Page    int    // 0-based
	PerPage int    // default 50, at most 200
	// Threads lists conversations (RFC 5256 REFERENCES threads), a row
	// each: a search keeps those with a matching message, and they sort
	// by their newest message (by date: the newest conversation first).
	Threads bool
}

// Row is one message of the list.
type Row struct {
	UID   uint32
	Flags string
	Size  int64
	Date  time.Time
	summary.Summary
	// In the conversation view: the thread's messages and unread ones
	// (the row is its newest message), and their UIDs, so that selecting
	// the row acts on the whole conversation, as its reader expects.
	// Matches: in a search, how many of its messages match.
	Count, Unread, Matches int
	Thread                 []uint32
}

// Selection is what the row's checkbox submits: its UID, or in the
// conversation view the UIDs of its whole thread, comma-separated
// (ParseSelection reads it back).
func (r Row) Selection() string {
	if len(r.Thread) == 0 {
		return strconv.FormatUint(uint64(r.UID), 10)
	}
	b := make([]byte, 0, 8*len(r.Thread))
	for i, u := range r.Thread {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(u), 10)
	}
	return string(b)
}

// ParseSelection reads the UIDs of checkbox values as Selection writes
// them; anything that is not a UID is left out.
func ParseSelection(values []string) []uint32 {
	var uids []uint32
	for _, v := range values {
		for u := range strings.SplitSeq(v, ",") {
			if n, err := strconv.ParseUint(strings.TrimSpace(u), 10, 32); err == nil && n > 0 {
				uids = append(uids, uint32(n))
			}
		}
	}
	return uids
}

func rowOf(m mailbox.Message, s summary.Summary) Row {
	return Row{UID: m.UID, Flags: m.Flags, Size: m.Size, Date: time.Unix(m.Date, 0), Summary: s}
}

// Seen, Flagged, Answered report the row's Maildir flags.
func (r Row) Seen() bool     { return mailbox.HasFlag(r.Flags, mailbox.FlagSeen) }
func (r Row) Flagged() bool  { return mailbox.HasFlag(r.Flags, mailbox.FlagFlagged) }
func (r Row) Answered() bool { return mailbox.HasFlag(r.Flags, mailbox.FlagReplied) }

// Page is one page of a folder's list.
type Page struct {
	Folder string
	Query  Query
	Rows   []Row
	Total  int // messages matching (all of the folder without a search)
	Pages  int
}

// paginate sets p's totals for total items (rows or threads) and returns
// the bounds of page q.Page in them; a page past the end is the last.
func (p *Page) paginate(total int, q Query) (lo, hi int) {
	p.Total = total
	p.Pages = max((total+q.PerPage-1)/q.PerPage, 1)
	if q.Page >= p.Pages {
		q.Page = p.Pages - 1
		p.Query.Page = q.Page
	}
	lo = min(q.Page*q.PerPage, total)
	return lo, min(lo+q.PerPage, total)
}

// List returns one page of folder's messages. Sorting by date or size and
// listing without a search use only the index and read the summaries of
// the page's messages; sorting by sender or subject, or searching, uses
// the summary cache (filled once per message, then kept). A body search
// reads every message that passes the other criteria.
func (mb *Mailbox) List(folder string, q Query) (*Page, error) {
	return mb.ListContext(context.Background(), folder, q)
}

// ListContext is List for a request: a body search, which reads every
// message of the folder (minutes over 100,000 of them), stops with
// ctx.Err() once ctx ends, so an abandoned or timed-out page does not
// go on reading the whole folder for no one.
func (mb *Mailbox) ListContext(ctx context.Context, folder string, q Query) (*Page, error) {
	f, err := mb.open(folder)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if q.PerPage <= 0 {
		q.PerPage = 50
	}
	q.PerPage = min(q.PerPage, 200)
	q.Page = max(q.Page, 0)
	msgs := f.Snapshot()
	p := &Page{Folder: folder, Query: q}
	if q.Threads {
		if err := mb.listThreads(ctx, f, msgs, p, q); err != nil {
			return nil, err
		}
		return p, nil
	}
	var sums []summary.Summary // parallel to msgs when the whole folder needs them
	// A whole folder sorted by sender or subject keeps its order until
	// a message comes or goes: sorting 100,000 names per page is the
	// cost otherwise.
	idx := sortedOrder(f, msgs, "messages", q)
	if idx == nil {
		sums = wholeSummaries(f, msgs, q)
		if idx, err = mb.search(ctx, f, msgs, sums, q); err != nil {
			return nil, err
		}
		sortIndex(idx, msgs, sums, q.Sort)
		keepOrder(f, msgs, "messages", q, idx)
	}
	idx = direction(idx, q)
	lo, hi := p.paginate(len(idx), q)
	page, pageSums := pageOf(f, msgs, sums, idx[lo:hi])
	for i, m := range page {
		p.Rows = append(p.Rows, rowOf(m, pageSums[i]))
	}
	return p, nil
}

// pageOf returns the messages at positions idx in msgs and their
// summaries: taken from sums (parallel to msgs) where the whole folder's
// were read, else read for the page alone.
func pageOf(f *mailbox.Folder, msgs []mailbox.Message, sums []summary.Summary, idx []int32) ([]mailbox.Message, []summary.Summary) {
	page := make([]mailbox.Message, len(idx))
	for k, i := range idx {
		page[k] = msgs[i]
	}
	if sums == nil {
		return page, summary.Of(f, page)
	}
	pageSums := make([]summary.Summary, len(idx))
	for k, i := range idx {
		pageSums[k] = sums[i]
	}
	return page, pageSums
}

// wholeSummaries returns the summaries of all of msgs when q needs them
// (a sort by sender or subject, a search of the header fields), else nil:
// a list in date or size order reads only its page's.
func wholeSummaries(f *mailbox.Folder, msgs []mailbox.Message, q Query) []summary.Summary {
	if !textSort(q) && (q.Search == "" || q.In == InBody) {
		return nil
	}
	sums := summary.Of(f, msgs)
	summary.Compact(f)
	return sums
}

func textSort(q Query) bool { return q.Sort == BySender || q.Sort == BySubject }

// search returns the positions in msgs of the messages matching q's
// search, in folder order; all of them without a search.
func (mb *Mailbox) search(ctx context.Context, f *mailbox.Folder, msgs []mailbox.Message, sums []summary.Summary, q Query) ([]int32, error) {
	idx := make([]int32, len(msgs))
	for i := range idx {
		idx[i] = int32(i)
	}
	if q.Search == "" {
		return idx, nil
	}
	return mb.filter(ctx, f, msgs, sums, idx, q)
}

// direction is idx (in ascending order) in q's direction: the descending
// order is the ascending one reversed, ties (by UID) included.
func direction(idx []int32, q Query) []int32 {
	if q.Asc {
		return idx
	}
	rev := make([]int32, len(idx))
	for i, v := range idx {
		rev[len(idx)-1-i] = v
	}
	return rev
}

// sortedOrder returns a copy of the kept ascending order of a whole view
// ("messages", "conversations") of msgs by q's sender or subject order,
// or nil. A search is not kept: its order is made for it.
func sortedOrder(f *mailbox.Folder, msgs []mailbox.Message, view string, q Query) []int32 {
	if !textSort(q) || q.Search != "" {
		return nil
	}
	idx, _ := summary.Kept[[]int32](f, msgs, view+" by "+q.Sort)
	return slices.Clone(idx)
}

// keepOrder keeps the ascending order idx of a whole view of msgs by q's
// sender or subject order, for sortedOrder.
func keepOrder(f *mailbox.Folder, msgs []mailbox.Message, view string, q Query, idx []int32) {
	if textSort(q) && q.Search == "" {
		summary.Keep(f, msgs, view+" by "+q.Sort, slices.Clone(idx))
	}
}

// sortIndex puts idx (positions in msgs) in ascending order by key. Ties
// go by UID, so the order is total, pages never overlap, and the
// descending order is exactly this one reversed.
func sortIndex(idx []int32, msgs []mailbox.Message, sums []summary.Summary, key string) {
	order := compareBy(idx, msgs, sums, key)
	// A folder in date order is usually already in UID order: check
	// before sorting 100,000 entries.
	if !slices.IsSortedFunc(idx, order) {
		slices.SortFunc(idx, order)
	}
}

// compareBy is the ascending order by key of the positions idx in msgs
// (sums, parallel to msgs, only for BySender and BySubject), ties by UID.
func compareBy(idx []int32, msgs []mailbox.Message, sums []summary.Summary, key string) func(a, b int32) int {
	var less func(a, b int32) int
	// Text keys are folded once per message, not once per comparison.
	textKeys := func(key func(summary.Summary) string) []string {
		keys := make([]string, len(msgs))
		for _, i := range idx {
			keys[i] = key(sums[i])
		}
		return keys
	}
	// IMAP SORT's keys (internal/summary), so the webmail and an IMAP
	// client agree on an order; where the webmail differs, it is on
	// purpose: dates are arrival (SORT's ARRIVAL: the index has them, so
	// a date-ordered page reads only its own summaries), the sender is
	// the name the list shows (DISPLAYFROM, RFC 5957, not FROM's local
	// part), and see subjectKey.
	switch key {
	case BySize:
		less = func(a, b int32) int { return cmp.Compare(msgs[a].Size, msgs[b].Size) }
	case BySender:
		keys := textKeys(func(s summary.Summary) string { return summary.DisplayKey(s.From) })
		less = func(a, b int32) int { return strings.Compare(keys[a], keys[b]) }
	case BySubject:
		keys := textKeys(func(s summary.Summary) string { return subjectKey(s.Subject) })
		less = func(a, b int32) int { return strings.Compare(keys[a], keys[b]) }
	default:
		less = func(a, b int32) int { return cmp.Compare(msgs[a].Date, msgs[b].Date) }
	}
	return func(a, b int32) int {
		if c := less(a, b); c != 0 {
			return c
		}
		return cmp.Compare(msgs[a].UID, msgs[b].UID)
	}
}

// webmailLeaders are reply and forward markers RFC 5256 §2.1 does not
// know, written by clients the webmail's users get mail from: the German
// "AW:" and the Japanese "返信:" and "転送:". Full-width colons
// ("Re：") need no entry: i;unicode-casemap's NFKD makes them ":", and
// the base subject is taken again. IMAP SORT keeps to the RFC (as
// Dovecot), so only the webmail removes these, deliberately.
var webmailLeaders = []string{"AW:", "返信:", "転送:"}

// subjectKey is SORT's SUBJECT key (summary.SubjectKey: the base subject
// of RFC 5256 §2.1, i;unicode-casemap) with webmailLeaders removed too.
func subjectKey(s string) string {
	k := summary.SubjectKey(s)
	for {
		t := k
		for _, p := range webmailLeaders {
			t = strings.TrimPrefix(t, p)
		}
		if t = summary.SubjectKey(t); t == k {
			return k
		}
		k = t
	}
}

// filter keeps the positions whose message matches q's search.
func (mb *Mailbox) filter(ctx context.Context, f *mailbox.Folder, msgs []mailbox.Message, sums []summary.Summary, idx []int32, q Query) ([]int32, error) {
	needle := strings.ToLower(q.Search)
	out := idx[:0]
	for _, i := range idx {
		if q.In == InBody && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ok bool
		switch q.In {
		case InFrom:
			ok = contains(sums[i].From, needle) || contains(sums[i].FromAddr, needle)
		case InTo:
			ok = contains(sums[i].To, needle)
		case InSubject:
			ok = contains(sums[i].Subject, needle)
		case InBody:
			ok = bodyContains(f, msgs[i].UID, needle)
		default:
			s := sums[i]
			ok = contains(s.From, needle) || contains(s.FromAddr, needle) || contains(s.To, needle) || contains(s.Subject, needle)
		}
		if ok {
			out = append(out, i)
		}
	}
	return out, nil
}

func contains(hay, lowerNeedle string) bool {
	return strings.Contains(strings.ToLower(hay), lowerNeedle)
}
