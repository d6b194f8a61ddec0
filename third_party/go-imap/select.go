package imap

// SelectOptions contains options for the SELECT or EXAMINE command.
type SelectOptions struct {
	ReadOnly  bool
	CondStore bool // requires CONDSTORE
	// QResync is the QRESYNC parameter (mailgate: RFC 7162 §3.2.5),
	// nil without it; requires QRESYNC enabled.
	QResync *SelectQResync
}

// SelectQResync is the QRESYNC select parameter (mailgate: RFC 7162
// §3.2.5): the client's last known UIDVALIDITY and mod-sequence, and
// optionally the UIDs it knows and sequence-match data.
type SelectQResync struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   UIDSet // nil: all
	// SeqMatch pairs message sequence numbers with the UIDs the client
	// had at them (§3.2.5.2), nil without.
	SeqMatch *SelectSeqMatch
}

// SelectSeqMatch is QRESYNC's sequence-match data (RFC 7162 §3.2.5.2):
// the n-th sequence number of SeqNums had the n-th UID of UIDs.
type SelectSeqMatch struct {
	SeqNums SeqSet
	UIDs    UIDSet
}

// SelectData is the data returned by a SELECT command.
//
// In the old RFC 2060, PermanentFlags, UIDNext and UIDValidity are optional.
type SelectData struct {
	// Flags defined for this mailbox
	Flags []Flag
	// Flags that the client can change permanently
	PermanentFlags []Flag
	// Number of messages in this mailbox (aka. "EXISTS")
	NumMessages uint32
	// Sequence number of the first unseen message. Obsolete, IMAP4rev1 only.
	// Server-only, not supported in imapclient.
	FirstUnseenSeqNum uint32
	// Number of recent messages in this mailbox. Obsolete, IMAP4rev1 only.
	// Server-only, not supported in imapclient.
	NumRecent   uint32
	UIDNext     UID
	UIDValidity uint32

	List *ListData // requires IMAP4rev2

	HighestModSeq uint64 // requires CONDSTORE

	// Vanished is what the server sends as VANISHED (EARLIER) for the
	// QRESYNC parameter (mailgate: RFC 7162 §3.2.5.1): the UIDs expunged
	// since its mod-sequence. Server-only.
	Vanished UIDSet
}
