package imapserver

// mailgate: CONDSTORE (RFC 7162 §3.1), server side.

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SessionCondStore is an IMAP session whose mailboxes keep mod-sequences
// (RFC 7162 §3.1.1). With it, and CONDSTORE in Options.Caps, the server
// offers CONDSTORE and hands the session what the extension adds: the
// CONDSTORE option of SELECT (the session fills SelectData.HighestModSeq),
// STATUS HIGHESTMODSEQ, FETCH MODSEQ and CHANGEDSINCE, STORE
// UNCHANGEDSINCE (FetchWriter.SetModified), SEARCH MODSEQ
// (SearchData.ModSeq). Once the client has enabled CONDSTORE the session
// must put UID and MODSEQ in every FETCH response a STORE makes (its own
// and, through MailboxTracker.QueueMessageFlagsModSeq, other sessions'):
// CondStoreEnabled says so.
type SessionCondStore interface {
	Session
	// HighestModSeq is the selected mailbox's HIGHESTMODSEQ.
	HighestModSeq() uint64
}

func (c *Conn) condStoreAvailable() bool {
	_, ok := c.session.(SessionCondStore)
	return ok && c.server.options.caps().Has(imap.CapCondStore)
}

// CondStoreEnabled reports that the client has issued a CONDSTORE enabling
// command (RFC 7162 §3.1): from then on every FETCH response a flag change
// makes carries UID and MODSEQ.
func (c *Conn) CondStoreEnabled() bool {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.enabled.Has(imap.CapCondStore)
}

// enableCondStore records a CONDSTORE enabling command (RFC 7162 §3.1:
// ENABLE CONDSTORE, SELECT/EXAMINE (CONDSTORE), STATUS HIGHESTMODSEQ,
// FETCH MODSEQ or CHANGEDSINCE, STORE UNCHANGEDSINCE, SEARCH MODSEQ). The
// first one issued with a mailbox selected tells the client the mailbox's
// HIGHESTMODSEQ, which its SELECT did not carry (as Dovecot does).
func (c *Conn) enableCondStore() error {
	c.mutex.Lock()
	was := c.enabled.Has(imap.CapCondStore)
	c.enabled[imap.CapCondStore] = struct{}{}
	c.mutex.Unlock()
	if was || c.state != imap.ConnStateSelected {
		return nil
	}
	return c.writeHighestModSeq(c.session.(SessionCondStore).HighestModSeq())
}

// writeHighestModSeq sends the untagged OK of RFC 7162 §3.1.2.1.
func (c *Conn) writeHighestModSeq(modSeq uint64) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("OK").SP()
	enc.Special('[').Atom("HIGHESTMODSEQ").SP().ModSeq(modSeq).Special(']')
	enc.SP().Text("Highest")
	return enc.CRLF()
}

var errNoCondStore = &imap.Error{
	Type: imap.StatusResponseTypeBad,
	Text: "CONDSTORE is not supported",
}

// readModifiers reads a "(NAME value)" modifier list of the form RFC 7162
// gives SELECT (§3.1.8: select-param), FETCH (§3.1.4.1: fetch-modifier)
// and STORE (§3.1.3: store-modifier), after its opening '(' was read. It
// calls f with each upper-cased name; f reads the value.
func readModifiers(dec *imapwire.Decoder, f func(name string) error) error {
	for {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		if err := f(strings.ToUpper(name)); err != nil {
			return err
		}
		if dec.Special(')') {
			return nil
		}
		if !dec.ExpectSP() {
			return dec.Err()
		}
	}
}

// readModSeqValue reads SP mod-sequence-value (RFC 7162 §7: 1 to
// 2^63-1; mod-sequence-valzer, which admits 0, where zero is true).
func readModSeqValue(dec *imapwire.Decoder, ptr *uint64, zero bool) error {
	if !dec.ExpectSP() || !dec.ExpectModSeq(ptr) {
		return dec.Err()
	}
	if *ptr > 1<<63-1 || (*ptr == 0 && !zero) {
		return newClientBugError("Invalid mod-sequence value")
	}
	return nil
}

// readSearchModSeq reads the rest of a SEARCH MODSEQ key (RFC 7162
// §3.1.5): [SP entry-name SP entry-type-req] SP mod-sequence-valzer.
// Flags here have no mod-sequences of their own, so the entry is read and
// the message's mod-sequence used, as §3.1.5 allows.
func readSearchModSeq(dec *imapwire.Decoder) (*imap.SearchCriteriaModSeq, error) {
	if !dec.ExpectSP() {
		return nil, dec.Err()
	}
	var out imap.SearchCriteriaModSeq
	if !dec.ModSeq(&out.ModSeq) {
		var typ string
		if !dec.ExpectString(&out.MetadataName) || !dec.ExpectSP() || !dec.ExpectAtom(&typ) {
			return nil, dec.Err()
		}
		switch t := imap.SearchCriteriaMetadataType(strings.ToLower(typ)); t {
		case imap.SearchCriteriaMetadataAll, imap.SearchCriteriaMetadataPrivate, imap.SearchCriteriaMetadataShared:
			out.MetadataType = t
		default:
			return nil, newClientBugError("Unknown MODSEQ entry type")
		}
		if err := readModSeqValue(dec, &out.ModSeq, true); err != nil {
			return nil, err
		}
	} else if out.ModSeq > 1<<63-1 {
		return nil, newClientBugError("Invalid mod-sequence value")
	}
	return &out, nil
}

// searchHasModSeq reports a MODSEQ key anywhere in criteria: it enables
// CONDSTORE and brings the (MODSEQ n) result (RFC 7162 §3.1.5).
func searchHasModSeq(criteria *imap.SearchCriteria) bool {
	if criteria.ModSeq != nil {
		return true
	}
	for i := range criteria.Not {
		if searchHasModSeq(&criteria.Not[i]) {
			return true
		}
	}
	for i := range criteria.Or {
		if searchHasModSeq(&criteria.Or[i][0]) || searchHasModSeq(&criteria.Or[i][1]) {
			return true
		}
	}
	return false
}

// SetModified records the messages a STORE (UNCHANGEDSINCE) left alone
// because they changed since (RFC 7162 §3.1.3): sequence numbers for
// STORE, UIDs for UID STORE. The tagged OK carries them as
// [MODIFIED set].
func (w *FetchWriter) SetModified(numSet imap.NumSet) {
	w.modified = numSet
}

// WriteModSeq writes the message's mod-sequence (RFC 7162 §3.1.4.1).
func (w *FetchResponseWriter) WriteModSeq(modSeq uint64) {
	w.writeItemSep()
	w.enc.Atom("MODSEQ").SP().Special('(').ModSeq(modSeq).Special(')')
}
