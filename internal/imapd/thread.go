package imapd

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailgate/internal/summary"
	"mailgate/internal/thread"
)

// Thread serves THREAD and UID THREAD (RFC 5256 §4): the messages SEARCH
// would find, threaded by internal/thread from the header fields the
// folder's summary cache keeps (internal/summary: the webmail's
// conversations read the same).
func (s *session) Thread(kind imapserver.NumKind, algorithm imap.ThreadAlgorithm, criteria *imap.SearchCriteria) (_ []imapserver.ThreadNode, err error) {
	defer s.logFailure("THREAD", &err)
	items, msgs, err := s.sel.matchingMessages(criteria)
	if err != nil {
		return nil, err
	}
	tm := summary.ThreadMessages(s.sel.folder, msgs)
	if kind == imapserver.NumKindSeq {
		for i := range tm {
			tm[i].Num = items[i].seq
		}
	}
	var threads []*thread.Node
	switch algorithm {
	case imap.ThreadReferences:
		threads = thread.References(tm)
	default:
		threads = thread.OrderedSubject(tm)
	}
	return threadNodes(threads), nil
}

func threadNodes(ns []*thread.Node) []imapserver.ThreadNode {
	out := make([]imapserver.ThreadNode, len(ns))
	for i, n := range ns {
		out[i] = imapserver.ThreadNode{Num: n.Num, Children: threadNodes(n.Children)}
	}
	return out
}
