package imapd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mailgate/internal/mailbox"
)

// TestSortNumbersAndCriteria: SORT names messages by sequence number and
// UID SORT by UID (RFC 5256 §3), both after an expunge has made them
// differ; only what the search criteria match is sorted, SEARCHRES `$`
// included; bad sort criteria are BAD, unknown charsets NO [BADCHARSET],
// and the session goes on.
func TestSortNumbersAndCriteria(t *testing.T) {
	addr, root := testServer(t)
	dir, err := mailbox.Dir(root, testUser)
	if err != nil {
		t.Fatal(err)
	}
	for i, hdr := range []string{
		"From: zz@x\r\nSubject: gone",
		"From: carol@x\r\nSubject: Re: b\r\nDate: Mon, 2 Mar 2026 12:00:00 +0000",
		"From: Bob <alice@x>\r\nSubject: a\r\nDate: Mon, 2 Mar 2026 11:00:00 +0000",
		"From: ALICE@x\r\nSubject: B\r\nDate: Mon, 2 Mar 2026 12:00:00 +0000",
	} {
		body := hdr + "\r\n\r\nx\r\n"
		name := mailbox.DeliveryName(time.Unix(1700000000+int64(i), 0), fmt.Sprintf("s%d.0", i), "mx.test", int64(len(body)))
		if err := mailbox.Deliver(dir, name, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	c := dial(t, addr)
	if caps := c.do("CAPABILITY"); !strings.Contains(caps, " SORT SORT=DISPLAY") {
		t.Fatalf("CAPABILITY: %s", caps)
	}
	c.do("SELECT INBOX")
	c.do("STORE 1 +FLAGS.SILENT (\\Deleted)")
	c.do("EXPUNGE")
	// Now UIDs 2, 3, 4 are sequence numbers 1, 2, 3.
	expect(t, "SORT", c.do("SORT (SUBJECT) UTF-8 ALL"), "* SORT 2 1 3")
	expect(t, "UID SORT", c.do("UID SORT (SUBJECT) UTF-8 ALL"), "* SORT 3 2 4")
	// 1 and 3 were sent at the same time: sequence order either way.
	expect(t, "REVERSE DATE", c.do("SORT (REVERSE DATE) UTF-8 ALL"), "* SORT 1 3 2")
	expect(t, "FROM", c.do("sort (from reverse arrival) us-ascii ALL"), "* SORT 3 2 1")
	expect(t, "DISPLAYFROM", c.do("UID SORT (DISPLAYFROM) UTF-8 ALL"), "* SORT 4 3 2")
	// 3 is the smaller: "ALICE@x" against "Bob <alice@x>".
	expect(t, "criteria", c.do("SORT (SIZE) US-ASCII FROM alice"), "* SORT 3 2")
	c.do("UID SEARCH RETURN (SAVE) FROM carol")
	expect(t, "SEARCHRES", c.do("UID SORT (ARRIVAL) UTF-8 OR $ SUBJECT a"), "* SORT 2 3")
	expect(t, "nothing", c.do("SORT (DATE) UTF-8 SUBJECT zzz"), "* SORT")
	for _, tc := range []struct{ cmd, want string }{
		{"SORT (NAME) UTF-8 ALL", "X BAD Unknown sort key NAME"},
		{"SORT (DATE REVERSE) UTF-8 ALL", "X BAD REVERSE needs a sort key after it"},
		{"SORT () UTF-8 ALL", "X BAD SORT needs at least one sort key"},
		{"SORT DATE UTF-8 ALL", `X BAD [CLIENTBUG] Syntax error: expected (, got "D"`},
		{"SORT (DATE) KOI8-R ALL", "X NO [BADCHARSET] Only US-ASCII and UTF-8 are supported SORT charsets"},
	} {
		expect(t, tc.cmd, c.send("X "+tc.cmd+"\r\n", "X"), tc.want)
	}
	expect(t, "after refusals", c.do("SORT (ARRIVAL) UTF-8 ALL"), "* SORT 1 2 3")
}
