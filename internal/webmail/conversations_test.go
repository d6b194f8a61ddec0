package webmail

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestConversations: the conversation view lists a row per thread (RFC
// 5256 REFERENCES, with the subject merge), newest thread first, each
// showing its newest message, its size and its unread count from the
// current flags; paging goes by threads, and a new message regroups.
func TestConversations(t *testing.T) {
	mb, _ := newMailbox(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	m := func(id, refs, subject string) {
		t.Helper()
		h := fmt.Sprintf("From: a@example.jp\nSubject: %s\nMessage-ID: <%s@x>\n", subject, id)
		if refs != "" {
			h += "References: " + refs + "\n"
		}
		at = at.Add(time.Minute)
		put(t, mb, Inbox, h+"\nx\n", at)
	}
	m("a", "", "plan")                // 1
	m("b", "", "lunch")               // 2
	m("c", "<a@x>", "Re: plan")       // 3
	m("d", "", "Re: lunch")           // 4: joins 2 by subject
	m("e", "", "alone")               // 5
	m("f", "<a@x> <c@x>", "Re: plan") // 6
	if err := mb.Mark(Inbox, []uint32{1, 3}, MarkRead); err != nil {
		t.Fatal(err)
	}
	rows := func(page, per int) string {
		t.Helper()
		p, err := mb.List(Inbox, Query{Threads: true, Page: page, PerPage: per})
		if err != nil {
			t.Fatal(err)
		}
		s := fmt.Sprintf("%d threads, %d pages:", p.Total, p.Pages)
		for _, r := range p.Rows {
			s += fmt.Sprintf(" %d(%s %d/%d)", r.UID, r.Subject, r.Unread, r.Count)
		}
		return s
	}
	if got, want := rows(0, 50), "3 threads, 1 pages: 6(Re: plan 1/3) 5(alone 1/1) 4(Re: lunch 2/2)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := rows(1, 2), "3 threads, 2 pages: 4(Re: lunch 2/2)"; got != want {
		t.Errorf("page 2: got  %s\nwant %s", got, want)
	}
	// The kept grouping follows a new message; flags are read fresh.
	m("g", "<b@x>", "Re: lunch") // 7
	mb.Mark(Inbox, []uint32{6}, MarkRead)
	if got, want := rows(0, 50), "3 threads, 1 pages: 7(Re: lunch 3/3) 6(Re: plan 0/3) 5(alone 1/1)"; got != want {
		t.Errorf("after a new message: got  %s\nwant %s", got, want)
	}
}

// TestConversationsSearchAndSort: in the conversation view a search keeps
// the conversations with a matching message (the message list's rule:
// the same messages match) and counts them; the rows sort by each
// conversation's newest message, by date (default newest first) or by
// sender or subject, either way, with or without a search; a kept order
// follows a new message.
func TestConversationsSearchAndSort(t *testing.T) {
	mb, _ := newMailbox(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	m := func(id, refs, from, subject, body string) {
		t.Helper()
		h := fmt.Sprintf("From: %s <%s@example.jp>\nSubject: %s\nMessage-ID: <%s@x>\n", from, strings.ToLower(from), subject, id)
		if refs != "" {
			h += "References: " + refs + "\n"
		}
		at = at.Add(time.Minute)
		put(t, mb, Inbox, h+"\n"+body+"\n", at)
	}
	m("a", "", "Mika", "plan", "x")               // 1
	m("b", "", "Bob", "lunch", "the needle")      // 2
	m("c", "<a@x>", "Zoe", "Re: plan", "x")       // 3
	m("d", "", "Anna", "Re: lunch", "x")          // 4: joins 2 by subject
	m("e", "", "Yuki", "alone", "x")              // 5
	m("f", "<a@x> <c@x>", "Bob", "Re: plan", "x") // 6
	// Threads: plan {1 3 6}, newest 6 (Bob); lunch {2 4}, newest 4
	// (Anna); alone {5} (Yuki).
	rows := func(q Query) string {
		t.Helper()
		q.Threads = true
		p, err := mb.List(Inbox, q)
		if err != nil {
			t.Fatal(err)
		}
		s := fmt.Sprintf("%d:", p.Total)
		matched := 0
		for _, r := range p.Rows {
			s += fmt.Sprintf(" %d(%s %s %d/%d)", r.UID, r.From, r.Subject, r.Matches, r.Count)
			matched += r.Matches
		}
		if q.Search != "" && q.PerPage == 0 {
			q.Threads = false
			if l, err := mb.List(Inbox, q); err != nil || l.Total != matched {
				t.Errorf("%+v: %d messages match in conversations, %d in the list (%v)", q, matched, l.Total, err)
			}
		}
		return s
	}
	for _, c := range []struct {
		q    Query
		want string
	}{
		{Query{}, "3: 6(Bob Re: plan 0/3) 5(Yuki alone 0/1) 4(Anna Re: lunch 0/2)"},
		{Query{Asc: true}, "3: 4(Anna Re: lunch 0/2) 5(Yuki alone 0/1) 6(Bob Re: plan 0/3)"},
		{Query{Sort: BySender, Asc: true}, "3: 4(Anna Re: lunch 0/2) 6(Bob Re: plan 0/3) 5(Yuki alone 0/1)"},
		{Query{Sort: BySender}, "3: 5(Yuki alone 0/1) 6(Bob Re: plan 0/3) 4(Anna Re: lunch 0/2)"},
		{Query{Sort: BySubject, Asc: true}, "3: 5(Yuki alone 0/1) 4(Anna Re: lunch 0/2) 6(Bob Re: plan 0/3)"},
		{Query{Sort: BySubject}, "3: 6(Bob Re: plan 0/3) 4(Anna Re: lunch 0/2) 5(Yuki alone 0/1)"},
		// Bob wrote 2 (lunch) and 6 (plan): both conversations, one match each.
		{Query{Search: "bob"}, "2: 6(Bob Re: plan 1/3) 4(Anna Re: lunch 1/2)"},
		// Zoe's 3 keeps its conversation, shown by its newest message.
		{Query{Search: "zoe", In: InFrom}, "1: 6(Bob Re: plan 1/3)"},
		{Query{Search: "plan", In: InSubject}, "1: 6(Bob Re: plan 3/3)"},
		{Query{Search: "needle", In: InBody}, "1: 4(Anna Re: lunch 1/2)"},
		{Query{Search: "nowhere"}, "0:"},
		{Query{Search: "re:", In: InSubject, Sort: BySender, Asc: true}, "2: 4(Anna Re: lunch 1/2) 6(Bob Re: plan 2/3)"},
		{Query{Search: "re:", In: InSubject, Sort: BySender}, "2: 6(Bob Re: plan 2/3) 4(Anna Re: lunch 1/2)"},
		{Query{Search: "re:", In: InSubject, Asc: true}, "2: 4(Anna Re: lunch 1/2) 6(Bob Re: plan 2/3)"},
		// Paging goes by matching conversations.
		{Query{Search: "bob", Page: 1, PerPage: 1}, "2: 4(Anna Re: lunch 1/2)"},
	} {
		if got := rows(c.q); got != c.want {
			t.Errorf("%+v:\ngot  %s\nwant %s", c.q, got, c.want)
		}
	}
	// A reply to "alone" from Aaron: that conversation's newest message
	// is now the first by sender, and the newest by date.
	m("g", "<e@x>", "Aaron", "Re: alone", "x") // 7
	if got, want := rows(Query{Sort: BySender, Asc: true}), "3: 7(Aaron Re: alone 0/2) 4(Anna Re: lunch 0/2) 6(Bob Re: plan 0/3)"; got != want {
		t.Errorf("after a new message, by sender:\ngot  %s\nwant %s", got, want)
	}
	if got, want := rows(Query{}), "3: 7(Aaron Re: alone 0/2) 6(Bob Re: plan 0/3) 4(Anna Re: lunch 0/2)"; got != want {
		t.Errorf("after a new message, by date:\ngot  %s\nwant %s", got, want)
	}
	// A message that came last but is dated first (moved in from an
	// archive): by date its conversation is the oldest, not the newest.
	put(t, mb, Inbox, "From: Old <old@example.jp>\nSubject: archived\nMessage-ID: <h@x>\n\nx\n", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) // 8
	if got, want := rows(Query{}), "4: 7(Aaron Re: alone 0/2) 6(Bob Re: plan 0/3) 4(Anna Re: lunch 0/2) 8(Old archived 0/1)"; got != want {
		t.Errorf("an old message, newest first:\ngot  %s\nwant %s", got, want)
	}
	if got, want := rows(Query{Asc: true}), "4: 8(Old archived 0/1) 4(Anna Re: lunch 0/2) 6(Bob Re: plan 0/3) 7(Aaron Re: alone 0/2)"; got != want {
		t.Errorf("an old message, oldest first:\ngot  %s\nwant %s", got, want)
	}
}
