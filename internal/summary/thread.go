package summary

import (
	"time"

	"mailgate/internal/mailbox"
	"mailgate/internal/thread"
)

// ThreadMessages returns what threading reads of msgs, indexed like msgs
// and named by UID, from the summary cache (filling it as a list does):
// IMAP THREAD and the webmail's conversations thread the same cached
// fields.
func ThreadMessages(f *mailbox.Folder, msgs []mailbox.Message) []thread.Message {
	sums := of(f, msgs, needThread)
	Compact(f)
	out := make([]thread.Message, len(msgs))
	for i, s := range sums {
		out[i] = thread.Message{Num: msgs[i].UID, MessageID: s.MessageID, References: s.Refs, Subject: s.Subject, Date: time.Unix(SentDate(s, msgs[i]), 0)}
	}
	return out
}
