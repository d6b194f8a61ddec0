package imapd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mailgate/internal/mailbox"
)

// TestThreadNumbersAndCriteria: THREAD names messages by sequence number
// and UID THREAD by UID (RFC 5256 §4), both after an expunge has made
// them differ, and threads only what the search criteria match, SEARCHRES
// `$` included.
func TestThreadNumbersAndCriteria(t *testing.T) {
	addr, root := testServer(t)
	dir, err := mailbox.Dir(root, testUser)
	if err != nil {
		t.Fatal(err)
	}
	for i, hdr := range []string{
		"Message-ID: <1@x>\r\nSubject: a",
		"Message-ID: <2@x>\r\nReferences: <1@x>\r\nSubject: Re: a",
		"Message-ID: <3@x>\r\nSubject: b",
		"Message-ID: <4@x>\r\nReferences: <1@x> <2@x>\r\nSubject: Re: a",
	} {
		body := fmt.Sprintf("%s\r\nDate: Mon, 2 Mar 2026 1%d:00:00 +0000\r\n\r\nx\r\n", hdr, i)
		name := mailbox.DeliveryName(time.Unix(1700000000+int64(i), 0), fmt.Sprintf("t%d.0", i), "mx.test", int64(len(body)))
		if err := mailbox.Deliver(dir, name, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	c := dial(t, addr)
	c.do("SELECT INBOX")
	c.do("STORE 1 +FLAGS.SILENT (\\Deleted)")
	c.do("EXPUNGE")
	// UID 2's parent is gone: it heads its thread, UID 4 answers it.
	expect(t, "THREAD", c.do("THREAD REFERENCES UTF-8 ALL"), "* THREAD (1 3)(2)")
	expect(t, "UID THREAD", c.do("UID THREAD REFERENCES UTF-8 ALL"), "* THREAD (2 4)(3)")
	expect(t, "criteria", c.do("THREAD REFERENCES US-ASCII SUBJECT b"), "* THREAD (2)")
	expect(t, "ORDEREDSUBJECT", c.do("UID THREAD ORDEREDSUBJECT UTF-8 UNSEEN"), "* THREAD (2 4)(3)")
	c.do("UID SEARCH RETURN (SAVE) SUBJECT a")
	expect(t, "SEARCHRES", c.do("UID THREAD REFERENCES UTF-8 $"), "* THREAD (2 4)")
	expect(t, "nothing", c.do("THREAD REFERENCES UTF-8 SUBJECT zzz"), "* THREAD")
}
