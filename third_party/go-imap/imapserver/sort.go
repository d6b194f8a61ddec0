package imapserver

// mailgate: SORT and UID SORT (RFC 5256 §3) with SORT=DISPLAY's keys
// (RFC 5957), for sessions that implement SessionSort.

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SortKey is a sort-key of RFC 5256 §3 or RFC 5957 §3.
type SortKey string

const (
	SortKeyArrival     SortKey = "ARRIVAL"
	SortKeyCc          SortKey = "CC"
	SortKeyDate        SortKey = "DATE"
	SortKeyFrom        SortKey = "FROM"
	SortKeySize        SortKey = "SIZE"
	SortKeySubject     SortKey = "SUBJECT"
	SortKeyTo          SortKey = "TO"
	SortKeyDisplayFrom SortKey = "DISPLAYFROM" // RFC 5957, with SORT=DISPLAY
	SortKeyDisplayTo   SortKey = "DISPLAYTO"   // RFC 5957, with SORT=DISPLAY
)

// SortCriterion is one sort-criterion: a key, REVERSE or not.
type SortCriterion struct {
	Key     SortKey
	Reverse bool
}

// SessionSort is an IMAP session that supports SORT. The server
// advertises SORT (and SORT=DISPLAY) when they are in Options.Caps and
// the session implements this.
type SessionSort interface {
	Session

	// Selected state. Sort returns the numbers (of kind) of the messages
	// criteria match, in the order of sortCriteria.
	Sort(kind NumKind, sortCriteria []SortCriterion, criteria *imap.SearchCriteria) ([]uint32, error)
}

func (c *Conn) canSort(display bool) bool {
	if _, ok := c.session.(SessionSort); !ok {
		return false
	}
	caps := c.server.options.caps()
	return caps.Has(imap.CapSort) && (!display || caps.Has(imap.CapSortDisplay))
}

// readSortCriteria reads "(" sort-criterion *(SP sort-criterion) ")",
// sort-criterion = ["REVERSE" SP] sort-key (RFC 5256 §5).
func readSortCriteria(dec *imapwire.Decoder, display bool) ([]SortCriterion, error) {
	var out []SortCriterion
	var badKey string
	reverse := false
	err := dec.ExpectList(func() error {
		var atom string
		if !dec.ExpectAtom(&atom) {
			return dec.Err()
		}
		key := SortKey(strings.ToUpper(atom))
		switch key {
		case "REVERSE":
			if reverse {
				badKey = atom
			}
			reverse = true
			return nil
		case SortKeyArrival, SortKeyCc, SortKeyDate, SortKeyFrom, SortKeySize, SortKeySubject, SortKeyTo:
		case SortKeyDisplayFrom, SortKeyDisplayTo:
			if !display {
				badKey = atom
			}
		default:
			badKey = atom
		}
		out = append(out, SortCriterion{Key: key, Reverse: reverse})
		reverse = false
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case badKey != "":
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown sort key " + badKey}
	case reverse:
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "REVERSE needs a sort key after it"}
	case len(out) == 0:
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "SORT needs at least one sort key"}
	}
	return out, nil
}

func (c *Conn) handleSort(dec *imapwire.Decoder, numKind NumKind) error {
	var charset string
	if !dec.ExpectSP() {
		return dec.Err()
	}
	sortCriteria, sortErr := readSortCriteria(dec, c.canSort(true))
	if sortErr != nil {
		if _, ok := sortErr.(*imap.Error); !ok {
			return sortErr // a syntax error: the line is not read on
		}
	}
	if !dec.ExpectSP() || !dec.ExpectAString(&charset) || !dec.ExpectSP() {
		return dec.Err()
	}
	criteria, err := readSearchProgram(dec)
	if err != nil {
		return err
	}
	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	if !c.canSort(false) {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown command"}
	}
	if sortErr != nil {
		return sortErr
	}
	if err := checkCharset("SORT", charset); err != nil {
		return err
	}
	nums, err := c.session.(SessionSort).Sort(numKind, sortCriteria, criteria)
	if err != nil {
		return err
	}

	// RFC 5256 §4: "* SORT" and the numbers, none when nothing matched.
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("SORT")
	for _, n := range nums {
		enc.SP().Number(n)
	}
	return enc.CRLF()
}
