package imapserver

// mailgate: THREAD and UID THREAD (RFC 5256 §4), for sessions that
// implement SessionThread.

import (
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// ThreadNode is a message in a THREAD answer and its replies, in order.
// Num 0 is a message not in the answer that several threads hang from
// (RFC 5256 §4: it is not shown, its children are).
type ThreadNode struct {
	Num      uint32
	Children []ThreadNode
}

// SessionThread is an IMAP session that supports THREAD. The server
// advertises THREAD=<algorithm> for each such capability in
// Options.Caps and answers THREAD with those algorithms only.
type SessionThread interface {
	Session

	// Selected state
	Thread(kind NumKind, algorithm imap.ThreadAlgorithm, criteria *imap.SearchCriteria) ([]ThreadNode, error)
}

func (c *Conn) threadAlgorithms() []imap.ThreadAlgorithm {
	if _, ok := c.session.(SessionThread); !ok {
		return nil
	}
	// Sorted: the set is a map, CAPABILITY should not change order.
	algs := c.server.options.caps().ThreadAlgorithms()
	slices.Sort(algs)
	return algs
}

func (c *Conn) handleThread(dec *imapwire.Decoder, numKind NumKind) error {
	var alg, charset string
	if !dec.ExpectSP() || !dec.ExpectAtom(&alg) || !dec.ExpectSP() || !dec.ExpectAString(&charset) || !dec.ExpectSP() {
		return dec.Err()
	}
	criteria, err := readSearchProgram(dec)
	if err != nil {
		return err
	}
	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	var algorithm imap.ThreadAlgorithm
	for _, a := range c.threadAlgorithms() {
		if strings.EqualFold(string(a), alg) {
			algorithm = a
		}
	}
	if algorithm == "" {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown threading algorithm"}
	}
	if err := checkCharset("THREAD", charset); err != nil {
		return err
	}
	threads, err := c.session.(SessionThread).Thread(numKind, algorithm, criteria)
	if err != nil {
		return err
	}

	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("THREAD")
	if len(threads) > 0 {
		enc.SP()
	}
	for _, t := range threads {
		enc.Special('(')
		writeThreadMembers(enc.Encoder, t, false)
		enc.Special(')')
	}
	return enc.CRLF()
}

// readSearchProgram reads the search keys ending SORT and THREAD (RFC
// 5256 §5: 1*(SP search-key), the first SP already read) and the CRLF.
func readSearchProgram(dec *imapwire.Decoder) (*imap.SearchCriteria, error) {
	var criteria imap.SearchCriteria
	for {
		if err := readSearchKey(&criteria, dec); err != nil {
			return nil, err
		}
		if !dec.SP() {
			break
		}
	}
	if !dec.ExpectCRLF() {
		return nil, dec.Err()
	}
	return &criteria, nil
}

// checkCharset answers a charset of SORT or THREAD the server does not
// support NO [BADCHARSET] (RFC 5256 §3, §4), as SEARCH does.
func checkCharset(cmd, charset string) error {
	switch strings.ToUpper(charset) {
	case "US-ASCII", "UTF-8":
		return nil
	}
	return &imap.Error{
		Type: imap.StatusResponseTypeNo,
		Code: imap.ResponseCodeBadCharset,
		Text: "Only US-ASCII and UTF-8 are supported " + cmd + " charsets",
	}
}

// writeThreadMembers writes a node as RFC 5256 §4 thread-members: a
// message followed by its only reply continues the list, several replies
// are one nested list each.
func writeThreadMembers(enc *imapwire.Encoder, n ThreadNode, needSP bool) {
	if n.Num != 0 {
		if needSP {
			enc.SP()
		}
		enc.Number(n.Num)
		needSP = true
	}
	switch {
	case len(n.Children) == 1:
		writeThreadMembers(enc, n.Children[0], needSP)
	case len(n.Children) > 1:
		if needSP {
			enc.SP()
		}
		for _, ch := range n.Children {
			enc.Special('(')
			writeThreadMembers(enc, ch, false)
			enc.Special(')')
		}
	}
}
