package webmail

import (
	"fmt"
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
