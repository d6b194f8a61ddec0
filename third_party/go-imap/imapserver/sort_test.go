package imapserver

// mailgate: SORT's criteria parser against any input.

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func TestReadSortCriteria(t *testing.T) {
	for in, want := range map[string]string{
		"(REVERSE date subject)":              "[{DATE true} {SUBJECT false}]",
		"(DISPLAYFROM)":                       "[{DISPLAYFROM false}]",
		"(ARRIVAL CC FROM SIZE TO DISPLAYTO)": "[{ARRIVAL false} {CC false} {FROM false} {SIZE false} {TO false} {DISPLAYTO false}]",
	} {
		dec := imapwire.NewDecoder(bufio.NewReader(bytes.NewReader([]byte(in+"\r\n"))), imapwire.ConnSideServer)
		got, err := readSortCriteria(dec, true)
		if err != nil || fmtCriteria(got) != want {
			t.Errorf("%s: got %v %v, want %s", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"(DISPLAYFROM)":          "Unknown sort key DISPLAYFROM", // without SORT=DISPLAY
		"(REVERSE)":              "REVERSE needs a sort key after it",
		"(REVERSE REVERSE DATE)": "Unknown sort key REVERSE",
		"()":                     "SORT needs at least one sort key",
	} {
		dec := imapwire.NewDecoder(bufio.NewReader(bytes.NewReader([]byte(in+"\r\n"))), imapwire.ConnSideServer)
		_, err := readSortCriteria(dec, false)
		if e, ok := err.(*imap.Error); !ok || e.Type != imap.StatusResponseTypeBad || e.Text != want {
			t.Errorf("%s: got %v, want BAD %s", in, err, want)
		}
	}
}

func fmtCriteria(cs []SortCriterion) string {
	var b bytes.Buffer
	b.WriteString("[")
	for i, c := range cs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("{" + string(c.Key))
		if c.Reverse {
			b.WriteString(" true}")
		} else {
			b.WriteString(" false}")
		}
	}
	b.WriteString("]")
	return b.String()
}

// FuzzReadSortCriteria: any input is criteria of known keys or an error,
// never a panic.
func FuzzReadSortCriteria(f *testing.F) {
	for _, s := range []string{"(REVERSE DATE SUBJECT)", "(DISPLAYTO)", "(REVERSE)", "()", "((DATE))", "(DATE", "(\"DATE\")", "({4}\r\nDATE)"} {
		f.Add([]byte(s + "\r\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := imapwire.NewDecoder(bufio.NewReader(bytes.NewReader(data)), imapwire.ConnSideServer)
		cs, err := readSortCriteria(dec, true)
		if err != nil {
			return
		}
		if len(cs) == 0 {
			t.Fatalf("%q: no criteria and no error", data)
		}
		for _, c := range cs {
			switch c.Key {
			case SortKeyArrival, SortKeyCc, SortKeyDate, SortKeyFrom, SortKeySize, SortKeySubject, SortKeyTo, SortKeyDisplayFrom, SortKeyDisplayTo:
			default:
				t.Fatalf("%q: key %q", data, c.Key)
			}
		}
	})
}
