package webmail

import (
	"slices"

	"mailgate/internal/mailbox"
	"mailgate/internal/summary"
	"mailgate/internal/thread"
)

// The conversation view threads a folder by RFC 5256 REFERENCES (the
// same internal/thread as IMAP THREAD, from the same summary cache) and
// lists one row per thread, newest thread first. Threading 100,000
// messages takes a pass over their cached summaries; the grouping is
// kept, like a sorted order, until a message comes or goes, so later
// pages cost only the page's rows.

// threadGroups returns msgs grouped by thread as positions in msgs,
// newest thread first and, within a thread, newest message first; kept
// beside the folder's summaries or made.
func threadGroups(f *mailbox.Folder, msgs []mailbox.Message) [][]int32 {
	if groups, ok := summary.Kept[[][]int32](f, msgs, "threads"); ok {
		return groups
	}
	tm := summary.ThreadMessages(f, msgs)
	for i := range tm {
		tm[i].Num = uint32(i + 1) // a position, so groups need no lookup
	}
	var groups [][]int32
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
		// Positions follow UIDs, the order of arrival: newest last.
		slices.SortFunc(g, func(a, b int32) int { return int(b - a) })
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b []int32) int { return int(b[0] - a[0]) })

	summary.Keep(f, msgs, "threads", groups)
	return groups
}

// listThreads fills p with page q.Page of msgs' threads: a row per
// thread, its newest message, with the thread's size and unread count
// from the current flags.
func listThreads(f *mailbox.Folder, msgs []mailbox.Message, p *Page, q Query) {
	groups := threadGroups(f, msgs)
	lo, hi := p.paginate(len(groups), q)
	page := make([]mailbox.Message, 0, hi-lo)
	for _, g := range groups[lo:hi] {
		page = append(page, msgs[g[0]])
	}
	sums := summary.Of(f, page)
	for i, g := range groups[lo:hi] {
		r := rowOf(page[i], sums[i])
		r.Count = len(g)
		for _, k := range g {
			if !mailbox.HasFlag(msgs[k].Flags, mailbox.FlagSeen) {
				r.Unread++
			}
			r.Thread = append(r.Thread, msgs[k].UID)
		}
		p.Rows = append(p.Rows, r)
	}
}
