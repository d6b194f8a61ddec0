package imapserver

// mailgate: CONDSTORE's SEARCH MODSEQ key (RFC 7162 §3.1.5) against any
// input.

import (
	"bufio"
	"bytes"
	"fmt"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func TestReadSearchModSeq(t *testing.T) {
	for in, want := range map[string]string{
		"MODSEQ 5":                           "5  ",
		"MODSEQ 0":                           "0  ",
		`MODSEQ "/flags/\\draft" all 620162`: `620162 /flags/\draft all`,
		`MODSEQ "/flags/$x" PRIV 7 UNSEEN`:   "7 /flags/$x priv",
		"MODSEQ 3 MODSEQ 9 MODSEQ 4":         "9  ",
	} {
		var c imap.SearchCriteria
		dec := imapwire.NewDecoder(bufio.NewReader(bytes.NewReader([]byte(in+"\r\n"))), imapwire.ConnSideServer)
		var err error
		for err == nil {
			err = readSearchKey(&c, dec)
			if !dec.SP() {
				break
			}
		}
		if err != nil || c.ModSeq == nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		got := fmt.Sprintf("%d %s %s", c.ModSeq.ModSeq, c.ModSeq.MetadataName, c.ModSeq.MetadataType)
		if got != want || !searchHasModSeq(&c) {
			t.Errorf("%s: got %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{"MODSEQ", "MODSEQ x", `MODSEQ "/flags/a" odd 1`, `MODSEQ "/flags/a" all`, "MODSEQ 9223372036854775808", "MODSEQ 18446744073709551616"} {
		var c imap.SearchCriteria
		dec := imapwire.NewDecoder(bufio.NewReader(bytes.NewReader([]byte(in+"\r\n"))), imapwire.ConnSideServer)
		if err := readSearchKey(&c, dec); err == nil {
			t.Errorf("%s: no error, %+v", in, c.ModSeq)
		}
	}
	var nested imap.SearchCriteria
	dec := imapwire.NewDecoder(bufio.NewReader(bytes.NewReader([]byte("OR SEEN NOT MODSEQ 4\r\n"))), imapwire.ConnSideServer)
	if err := readSearchKey(&nested, dec); err != nil || !searchHasModSeq(&nested) {
		t.Errorf("nested MODSEQ: %v", err)
	}
}
