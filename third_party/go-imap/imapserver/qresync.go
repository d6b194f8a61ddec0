package imapserver

// mailgate: QRESYNC (RFC 7162 §3.2), server side, on top of CONDSTORE
// (condstore.go).

import (
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// QRESYNC is offered to sessions implementing SessionCondStore when
// QRESYNC is in Options.Caps. The session then must:
//   - answer SelectOptions.QResync: when its UIDVALIDITY matches the
//     mailbox's, fill SelectData.Vanished with the UIDs expunged since its
//     mod-sequence (within its known UIDs); the server writes them as
//     VANISHED (EARLIER) and fetches the messages changed since
//     (§3.2.5.1) through Session.Fetch;
//   - honour FetchOptions.Vanished with FetchWriter.WriteVanished;
//   - give every expunge its UID (MailboxTracker.QueueExpungeUID), so
//     the client gets VANISHED instead of EXPUNGE (§3.2.10).

func (c *Conn) qresyncAvailable() bool {
	return c.condStoreAvailable() && c.server.options.caps().Has(imap.CapQResync)
}

// QResyncEnabled reports that the client issued ENABLE QRESYNC (RFC 7162
// §3.2.3): expunges are then reported with VANISHED (§3.2.10).
func (c *Conn) QResyncEnabled() bool {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.enabled.Has(imap.CapQResync)
}

// readQResyncParam reads the value of SELECT's QRESYNC parameter (RFC 7162
// §7: "(" uidvalidity SP mod-sequence-value [SP known-uids]
// [SP seq-match-data] ")").
func readQResyncParam(dec *imapwire.Decoder) (*imap.SelectQResync, error) {
	var p imap.SelectQResync
	if !dec.ExpectSP() || !dec.ExpectSpecial('(') || !dec.ExpectNumber(&p.UIDValidity) {
		return nil, dec.Err()
	}
	if p.UIDValidity == 0 {
		return nil, newClientBugError("Invalid UIDVALIDITY")
	}
	if err := readModSeqValue(dec, &p.ModSeq, false); err != nil {
		return nil, err
	}
	if dec.SP() {
		if !dec.Special('(') {
			var known imap.UIDSet
			if !dec.ExpectUIDSet(&known) {
				return nil, dec.Err()
			}
			p.KnownUIDs = known
			if dec.SP() {
				if !dec.ExpectSpecial('(') {
					return nil, dec.Err()
				}
				if err := readSeqMatch(dec, &p); err != nil {
					return nil, err
				}
			}
		} else if err := readSeqMatch(dec, &p); err != nil {
			return nil, err
		}
	}
	if !dec.ExpectSpecial(')') {
		return nil, dec.Err()
	}
	return &p, nil
}

// readSeqMatch reads seq-match-data after its '(' (RFC 7162 §7:
// known-sequence-set SP known-uid-set ")"); both sets must have as many
// numbers (§3.2.5.2).
func readSeqMatch(dec *imapwire.Decoder, p *imap.SelectQResync) error {
	var seqs imap.NumSet
	var uids imap.UIDSet
	if !dec.ExpectNumSet(imapwire.NumKindSeq, &seqs) || !dec.ExpectSP() || !dec.ExpectUIDSet(&uids) || !dec.ExpectSpecial(')') {
		return dec.Err()
	}
	seqSet, _ := seqs.(imap.SeqSet)
	if countNums(seqSet) != countUIDs(uids) || countNums(seqSet) < 0 {
		return newClientBugError("Sequence-match sets differ in size")
	}
	p.SeqMatch = &imap.SelectSeqMatch{SeqNums: seqSet, UIDs: uids}
	return nil
}

// countNums counts a set's numbers, -1 for one with '*' or too many to
// pair.
func countNums(s imap.SeqSet) int {
	n := 0
	for _, r := range s {
		if r.Start == 0 || r.Stop == 0 {
			return -1
		}
		lo, hi := r.Start, r.Stop
		if lo > hi {
			lo, hi = hi, lo
		}
		n += int(hi-lo) + 1
		if n > 1<<20 {
			return -1
		}
	}
	return n
}

func countUIDs(s imap.UIDSet) int {
	var seqs imap.SeqSet
	for _, r := range s {
		seqs = append(seqs, imap.SeqRange{Start: uint32(r.Start), Stop: uint32(r.Stop)})
	}
	return countNums(seqs)
}

// setHighestModSeqCode puts the mailbox's HIGHESTMODSEQ in the tagged OK
// of EXPUNGE, UID EXPUNGE and CLOSE once QRESYNC is enabled (RFC 7162
// §3.2.7, §3.2.9, §3.2.8: the expunges raised it, and after CLOSE the
// client sees no VANISHED to learn it from).
func (c *Conn) setHighestModSeqCode() {
	if c.QResyncEnabled() {
		modSeq := c.session.(SessionCondStore).HighestModSeq()
		c.okCode = imap.ResponseCode(fmt.Sprintf("HIGHESTMODSEQ %d", modSeq))
	}
}

// resyncSelected finishes SELECT (QRESYNC) (RFC 7162 §3.2.5.1): VANISHED
// (EARLIER) with the UIDs expunged since the client's mod-sequence, then
// FETCH (UID FLAGS MODSEQ) for each message changed since, within its
// known UIDs. A UIDVALIDITY other than the mailbox's makes it a plain
// SELECT (§3.2.5).
func (c *Conn) resyncSelected(p *imap.SelectQResync, data *imap.SelectData) error {
	if p.UIDValidity != data.UIDValidity {
		return nil
	}
	if len(data.Vanished) > 0 {
		if err := c.writeVanished(data.Vanished, true); err != nil {
			return err
		}
	}
	var numSet imap.NumSet = imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}
	if p.KnownUIDs != nil {
		numSet = p.KnownUIDs
	}
	options := imap.FetchOptions{UID: true, Flags: true, ModSeq: true, ChangedSince: p.ModSeq}
	w := &FetchWriter{conn: c}
	return c.session.Fetch(w, numSet, &options)
}

// writeVanished sends "* VANISHED [(EARLIER)] uids" (RFC 7162 §3.2.10).
func (c *Conn) writeVanished(uids imap.UIDSet, earlier bool) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("VANISHED").SP()
	if earlier {
		enc.Atom("(EARLIER)").SP()
	}
	enc.NumSet(uids)
	return enc.CRLF()
}

// WriteVanished sends "* VANISHED (EARLIER) uids" for UID FETCH's
// VANISHED modifier (RFC 7162 §3.2.6), before the FETCH responses; an
// empty set sends nothing.
func (w *FetchWriter) WriteVanished(uids imap.UIDSet) error {
	if len(uids) == 0 {
		return nil
	}
	return w.conn.writeVanished(uids, true)
}

// WriteVanished sends "* VANISHED uids" for messages expunged (RFC 7162
// §3.2.10), what a client that enabled QRESYNC gets instead of EXPUNGE.
func (w *UpdateWriter) WriteVanished(uids imap.UIDSet) error {
	if !w.allowExpunge {
		return fmt.Errorf("imapserver: EXPUNGE updates are not allowed in this context")
	}
	return w.conn.writeVanished(uids, false)
}
