package delivery

import (
	"mailgate/internal/spool"
	"mailgate/internal/verdict"
)

// mailboxFolder gives each mailbox one delivery per message: recipients
// that resolve to the same account (an alias and its target, two aliases
// of one account, a Sieve redirect to an address of a mailbox the message
// already reached) share the delivery of the first of them, as Postfix's
// local(8) suppresses duplicate deliveries to one mailbox of a message
// after alias expansion. So the copy is stored once, the owner's Sieve
// script runs once and the quota counts it once. Every recipient keeps
// its own status (RFC 5321 §3.3: each accepted recipient was answered;
// RFC 2033 §4.2: LMTP answers each after DATA): the folded one takes the
// first one's, so a DSN or a retry treats both alike.
//
// The copy is the one the first recipient got, byte for byte as before
// folding: the spool's bytes (whose Received field names a recipient only
// when the message has one, message.Trace.For), under the first
// recipient's Maildir name, filtered with the first recipient as Sieve's
// envelope "to". No Delivered-To field is added, then or now.
type mailboxFolder struct {
	// byMailbox holds, for each account, the index of the recipient
	// whose delivery stands for it.
	byMailbox map[string]int
}

// newFolder starts from the recipients an earlier attempt settled (their
// Mailbox recorded): a recipient left pending then, a lookup having
// failed, must not add a second copy now.
func newFolder(st *spool.State) *mailboxFolder {
	f := &mailboxFolder{byMailbox: map[string]int{}}
	for i, r := range st.Rcpts {
		if r.Mailbox == "" || r.Status == spool.Pending {
			continue
		}
		if _, ok := f.byMailbox[r.Mailbox]; !ok {
			f.byMailbox[r.Mailbox] = i
		}
	}
	return f
}

// first returns the recipient whose delivery to acct stands for
// recipient i's, or records i as that recipient and returns false.
func (f *mailboxFolder) first(acct string, i int) (int, bool) {
	if j, ok := f.byMailbox[acct]; ok {
		return j, true
	}
	f.byMailbox[acct] = i
	return 0, false
}

// folded is the outcome of a recipient whose mailbox recipient j's
// delivery already served: j's status, text and refusal.
func folded(st *spool.State, j int, refusals map[string]*verdict.Reply) *outcome {
	r := st.Rcpts[j]
	return &outcome{status: r.Status, text: r.Error, refusal: refusals[r.Addr]}
}
