package imapd

import (
	"iter"
	"math"
	"sort"

	"github.com/emersion/go-imap/v2"

	"mailgate/internal/mailbox"
)

// QRESYNC (RFC 7162 §3.2): go-imap parses it and writes the responses;
// the folder's expunge history (mailbox.Folder.ViewVanished) says what
// vanished since a client's mod-sequence, and every expunge reaches the
// tracker with its UID (Server.attach), so a client that enabled QRESYNC
// gets "* VANISHED uid" instead of EXPUNGE (§3.2.10).

// resyncVanished is what SELECT (QRESYNC) reports as VANISHED (EARLIER)
// (RFC 7162 §3.2.5.1): the expunged UIDs within the client's known UIDs.
// When the history at its mod-sequence is gone (exact false) the answer
// is every UID not live, which §3.2.5.2 allows; its sequence-match data
// then narrows it: a pair whose sequence number still holds its UID means
// nothing at or below that UID was expunged since.
func resyncVanished(p *imap.SelectQResync, msgs []mailbox.Message, vanished []mailbox.UIDRange, exact bool) imap.UIDSet {
	if !exact && p.SeqMatch != nil {
		if floor := seqMatchFloor(p.SeqMatch, msgs); floor > 0 {
			vanished = above(vanished, floor)
		}
	}
	return vanishedIn(vanished, p.KnownUIDs)
}

// seqMatchFloor is the highest UID of sequence-match data (RFC 7162
// §3.2.5.2) still at the sequence number the client paired it with, or 0.
// The pairs are walked, not listed: go-imap lets a client send up to 2^20
// of them.
func seqMatchFloor(sm *imap.SelectSeqMatch, msgs []mailbox.Message) uint32 {
	var uids imap.SeqSet
	for _, r := range sm.UIDs {
		uids = append(uids, imap.SeqRange{Start: uint32(r.Start), Stop: uint32(r.Stop)})
	}
	nextUID, stop := iter.Pull(nums(uids))
	defer stop()
	var floor uint32
	for seq := range nums(sm.SeqNums) {
		uid, ok := nextUID()
		if !ok {
			break
		}
		if int(seq) <= len(msgs) && msgs[seq-1].UID == uid {
			floor = max(floor, uid)
		}
	}
	return floor
}

// nums yields a sequence set's numbers in the order given (go-imap
// checked that it has no '*' and is of bounded size).
func nums(set imap.SeqSet) iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for _, r := range set {
			step := uint32(1)
			if r.Start > r.Stop {
				step = ^uint32(0) // -1
			}
			for n := r.Start; n != 0; n += step {
				if !yield(n) {
					return
				}
				if n == r.Stop {
					break
				}
			}
		}
	}
}

// above keeps the UIDs of rs above floor.
func above(rs []mailbox.UIDRange, floor uint32) []mailbox.UIDRange {
	var out []mailbox.UIDRange
	for _, r := range rs {
		if r.Last <= floor {
			continue
		}
		out = append(out, mailbox.UIDRange{First: max(r.First, floor+1), Last: r.Last})
	}
	return out
}

// vanishedIn is rs (sorted, disjoint) within set (nil: everything) as a
// UID set. A '*' in set has no upper bound here: a client asking about
// 1:* wants the expunged message that had the highest UID too.
func vanishedIn(rs []mailbox.UIDRange, set imap.UIDSet) imap.UIDSet {
	var out imap.UIDSet
	if set == nil {
		for _, r := range rs {
			out = append(out, imap.UIDRange{Start: imap.UID(r.First), Stop: imap.UID(r.Last)})
		}
		return out
	}
	want := make([]mailbox.UIDRange, 0, len(set))
	for _, r := range set {
		lo, hi := uint32(r.Start), uint32(r.Stop)
		if hi == 0 {
			hi = math.MaxUint32
		}
		if lo == 0 {
			lo = math.MaxUint32
		}
		want = append(want, mailbox.UIDRange{First: min(lo, hi), Last: max(lo, hi)})
	}
	sort.Slice(want, func(i, j int) bool { return want[i].First < want[j].First })
	// Both sorted: one sweep.
	i, j := 0, 0
	for i < len(rs) && j < len(want) {
		lo, hi := max(rs[i].First, want[j].First), min(rs[i].Last, want[j].Last)
		if lo <= hi {
			out.AddRange(imap.UID(lo), imap.UID(hi))
		}
		if rs[i].Last < want[j].Last {
			i++
		} else {
			j++
		}
	}
	return out
}
