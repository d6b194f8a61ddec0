package imapd

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailgate/internal/summary"
)

// sortKeys maps SORT's keys (RFC 5256 §3, RFC 5957 §3) to the summary
// cache's; go-imap only passes on the keys it parsed.
var sortKeys = map[imapserver.SortKey]summary.Key{
	imapserver.SortKeyArrival:     summary.Arrival,
	imapserver.SortKeyCc:          summary.Cc,
	imapserver.SortKeyDate:        summary.Date,
	imapserver.SortKeyFrom:        summary.From,
	imapserver.SortKeySize:        summary.Size,
	imapserver.SortKeySubject:     summary.Subject,
	imapserver.SortKeyTo:          summary.To,
	imapserver.SortKeyDisplayFrom: summary.DisplayFrom,
	imapserver.SortKeyDisplayTo:   summary.DisplayTo,
}

// Sort serves SORT and UID SORT (RFC 5256 §3, SORT=DISPLAY of RFC 5957):
// the messages SEARCH would find, in the order internal/summary makes
// from the folder's summary cache (the webmail's list sorts with the
// same keys).
func (s *session) Sort(kind imapserver.NumKind, sortCriteria []imapserver.SortCriterion, criteria *imap.SearchCriteria) (_ []uint32, err error) {
	defer s.logFailure("SORT", &err)
	items, msgs, err := s.sel.matchingMessages(criteria)
	if err != nil {
		return nil, err
	}
	crit := make([]summary.Criterion, len(sortCriteria))
	for i, c := range sortCriteria {
		crit[i] = summary.Criterion{Key: sortKeys[c.Key], Reverse: c.Reverse}
	}
	out := make([]uint32, 0, len(items))
	for _, i := range summary.Sort(s.sel.folder, msgs, crit) {
		if kind == imapserver.NumKindUID {
			out = append(out, items[i].m.UID)
		} else {
			out = append(out, items[i].seq)
		}
	}
	return out, nil
}
