package webmail

import (
	"context"
	"slices"

	"mailgate/internal/mailbox"
	"mailgate/internal/summary"
	"mailgate/internal/thread"
)

// The conversation view threads a folder by RFC 5256 REFERENCES (the
// same internal/thread as IMAP THREAD, from the same summary cache) and
// lists one row per thread: its newest message, with the thread's size
// and unread count. Threading 100,000 messages takes a pass over their
// cached summaries; the grouping is kept, like a sorted order, until a
// message comes or goes, so later pages cost only the page's rows.
//
// Search and sort are the message list's (filter, sortIndex), as a
// Gmail or Roundcube reader expects of conversations: a search keeps the
// conversations with at least one matching message, and says how many
// match; a conversation sorts by its newest message, the row it shows
// (by date: the conversation last written to first).

// folderThreads is a folder's threads as positions in its message list.
type folderThreads struct {
	// groups: newest thread first and, within a thread, newest message
	// first, by the list's date order (date, then UID).
	groups [][]int32
	// groupOf is the group of each position.
	groupOf []int32
}

// threadGroups returns msgs grouped by thread, kept beside the folder's
// summaries or made.
func threadGroups(f *mailbox.Folder, msgs []mailbox.Message) *folderThreads {
	if t, ok := summary.Kept[*folderThreads](f, msgs, "threads"); ok {
		return t
	}
	tm := summary.ThreadMessages(f, msgs)
	for i := range tm {
		tm[i].Num = uint32(i + 1) // a position, so groups need no lookup
	}
	byDate := compareBy(nil, msgs, nil, ByDate)
	t := &folderThreads{groupOf: make([]int32, len(msgs))}
	for _, root := range thread.References(tm) {
		var g []int32
		var walk func(*thread.Node)
		walk = func(n *thread.Node) {
			if n.Num != 0 {
				g = append(g, int32(n.Num-1))
			}
			for _, c := range n.Children {
				walk(c)
			}
		}
		walk(root)
		slices.SortFunc(g, func(a, b int32) int { return byDate(b, a) })
		t.groups = append(t.groups, g)
	}
	slices.SortFunc(t.groups, func(a, b []int32) int { return byDate(b[0], a[0]) })
	for gi, g := range t.groups {
		for _, i := range g {
			t.groupOf[i] = int32(gi)
		}
	}
	summary.Keep(f, msgs, "threads", t)
	return t
}

// listThreads fills p with page q.Page of msgs' threads in q's search and
// order: a row per thread, its newest message, with the thread's size,
// unread count from the current flags and, in a search, matching count.
func (mb *Mailbox) listThreads(ctx context.Context, f *mailbox.Folder, msgs []mailbox.Message, p *Page, q Query) error {
	t := threadGroups(f, msgs)
	// A row is its thread's newest message: sorting the rows by the
	// list's order sorts the threads by that message.
	rows := sortedOrder(f, msgs, "conversations", q)
	var matches []int // per group, in a search
	if rows == nil {
		sums := wholeSummaries(f, msgs, q)
		if q.Search != "" {
			hits, err := mb.search(ctx, f, msgs, sums, q)
			if err != nil {
				return err
			}
			matches = make([]int, len(t.groups))
			for _, i := range hits {
				matches[t.groupOf[i]]++
			}
		}
		rows = make([]int32, 0, len(t.groups))
		for gi := len(t.groups) - 1; gi >= 0; gi-- { // oldest first: in date order already
			if matches == nil || matches[gi] > 0 {
				rows = append(rows, t.groups[gi][0])
			}
		}
		sortIndex(rows, msgs, sums, q.Sort)
		keepOrder(f, msgs, "conversations", q, rows)
	}
	rows = direction(rows, q)
	lo, hi := p.paginate(len(rows), q)
	page, pageSums := pageOf(f, msgs, nil, rows[lo:hi])
	for k, i := range rows[lo:hi] {
		gi := t.groupOf[i]
		g := t.groups[gi]
		r := rowOf(page[k], pageSums[k])
		r.Count = len(g)
		if matches != nil {
			r.Matches = matches[gi]
		}
		for _, j := range g {
			if !mailbox.HasFlag(msgs[j].Flags, mailbox.FlagSeen) {
				r.Unread++
			}
			r.Thread = append(r.Thread, msgs[j].UID)
		}
		p.Rows = append(p.Rows, r)
	}
	return nil
}
