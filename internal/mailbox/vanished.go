package mailbox

import (
	"fmt"
	"io"
	"sort"
)

// Expunge history, for QRESYNC's VANISHED (EARLIER) (RFC 7162 §3.2.5.1,
// §3.2.6): which UIDs were expunged after a mod-sequence a client holds.
//
// It is a list of X records, "X <modseq> <first uid> <last uid>": the UIDs
// in [first, last] that are not live were expunged at modseq or earlier.
// UIDs are never handed out twice (RFC 9051 §2.3.1.1), so a UID in the
// range that is not live now is gone for good, and a range may span live
// messages: answers subtract them. An expunge next to the last record (no
// live message between them, as when old mail is deleted oldest first)
// widens it, so deleting in UID order keeps one record; the widened record
// takes the newer modseq, so a client holding one between the two is told
// of the older UIDs again, which it already dropped (VANISHED (EARLIER)
// never makes a client lose a message it has).
//
// The list is bounded (maxVanishedRanges): past it the oldest half is
// dropped and "V <modseq>" records that history at or below modseq is
// incomplete. A client holding such a mod-sequence gets every UID below
// UIDNEXT that is not live, which RFC 7162 §3.2.5.2 allows (and its
// known-uids and sequence-match data narrow). A file written before the
// history existed has no V record; it loads with the floor at its
// HIGHESTMODSEQ, as nothing is known of its earlier expunges.

// maxVanishedRanges bounds the history: 1024 records of ~30 bytes.
const maxVanishedRanges = 1024

// vanishedRange is an X record.
type vanishedRange struct {
	modSeq      uint64
	first, last uint32
}

// UIDRange is the UIDs first to last, inclusive.
type UIDRange struct{ First, Last uint32 }

// recordVanishedLocked adds uids (sorted), expunged at modSeq, to the
// history, writing the X records to w. f.st.msgs must already be the
// messages left after the expunge: a UID between two expunged ones that
// is still live keeps them in separate records.
func (f *Folder) recordVanishedLocked(w io.Writer, uids []uint32, modSeq uint64) {
	for i := 0; i < len(uids); {
		j := i
		// A run of UIDs with no live message between them.
		for j+1 < len(uids) && f.nextLiveUID(uids[j]) > uids[j+1] {
			j++
		}
		r := vanishedRange{modSeq: modSeq, first: uids[i], last: uids[j]}
		if n := len(f.st.vanished); n > 0 {
			prev := f.st.vanished[n-1]
			if prev.last < r.first && f.nextLiveUID(prev.last) > r.first {
				r.first = prev.first
				f.st.vanished = f.st.vanished[:n-1]
			}
		}
		f.st.vanished = append(f.st.vanished, r)
		fmt.Fprintf(w, "X %d %d %d\n", r.modSeq, r.first, r.last)
		i = j + 1
	}
	if len(f.st.vanished) > maxVanishedRanges {
		fmt.Fprintf(w, "V %d\n", f.st.boundVanished())
	}
}

// nextLiveUID is the lowest live UID above uid, or ^0.
func (f *Folder) nextLiveUID(uid uint32) uint32 {
	msgs := f.st.msgs
	i := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID > uid })
	if i < len(msgs) {
		return msgs[i].UID
	}
	return ^uint32(0)
}

// boundVanished drops the oldest half of the history when it is over its
// bound and returns the new floor.
func (st *indexState) boundVanished() uint64 {
	if len(st.vanished) <= maxVanishedRanges {
		return st.vanishedFloor
	}
	// Records are appended in mod-sequence order, but a widened record
	// moved to the end: sort before dropping the oldest.
	sort.SliceStable(st.vanished, func(i, j int) bool { return st.vanished[i].modSeq < st.vanished[j].modSeq })
	drop := len(st.vanished) - maxVanishedRanges/2
	st.vanishedFloor = max(st.vanishedFloor, st.vanished[drop-1].modSeq)
	st.vanished = append(st.vanished[:0:0], st.vanished[drop:]...)
	return st.vanishedFloor
}

// droppedAt is a '-' record replayed: uid, and HIGHESTMODSEQ so far.
type droppedAt struct {
	uid    uint32
	modSeq uint64
}

// unrecordedDrops returns the highest mod-sequence at which a message was
// expunged without an X record (by an older mailgate run on the folder in
// between, which appends '-' only), or 0: the history is incomplete up
// to there, and the floor goes up to it.
func unrecordedDrops(recorded []vanishedRange, drops []droppedAt) uint64 {
	if len(drops) == 0 {
		return 0
	}
	spans := make([]UIDRange, len(recorded))
	for i, r := range recorded {
		spans[i] = UIDRange{r.first, r.last}
	}
	spans = mergeRanges(spans)
	var floor uint64
	for _, d := range drops {
		i := sort.Search(len(spans), func(i int) bool { return spans[i].Last >= d.uid })
		if i == len(spans) || spans[i].First > d.uid {
			floor = max(floor, d.modSeq)
		}
	}
	return floor
}

// dropOldVanished forgets records the floor covers and bounds the rest
// (after a load).
func (st *indexState) dropOldVanished() {
	kept := st.vanished[:0]
	for _, r := range st.vanished {
		if r.modSeq > st.vanishedFloor {
			kept = append(kept, r)
		}
	}
	st.vanished = kept
	st.boundVanished()
}

// writeVanished writes the history into a compacted index.
func writeVanished(w io.Writer, st *indexState) {
	fmt.Fprintf(w, "V %d\n", st.vanishedFloor)
	for _, r := range st.vanished {
		fmt.Fprintf(w, "X %d %d %d\n", r.modSeq, r.first, r.last)
	}
}

// vanishedSinceLocked returns the UIDs expunged after modSeq as sorted,
// disjoint ranges; exact is false when history that old was dropped and
// every UID below UIDNEXT that is not live was returned (RFC 7162
// §3.2.5.2). A message added after modSeq and expunged again is included
// (§3.2.6 allows it).
func (f *Folder) vanishedSinceLocked(modSeq uint64) (out []UIDRange, exact bool) {
	var spans []UIDRange
	exact = modSeq >= f.st.vanishedFloor
	if !exact {
		if f.st.uidNext > 1 {
			spans = []UIDRange{{1, f.st.uidNext - 1}}
		}
	} else {
		for _, r := range f.st.vanished {
			if r.modSeq > modSeq {
				spans = append(spans, UIDRange{r.first, r.last})
			}
		}
		spans = mergeRanges(spans)
	}
	// Subtract the live messages (sorted by UID).
	msgs := f.st.msgs
	for _, s := range spans {
		i := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID >= s.First })
		next := s.First
		for ; i < len(msgs) && msgs[i].UID <= s.Last; i++ {
			if msgs[i].UID > next {
				out = append(out, UIDRange{next, msgs[i].UID - 1})
			}
			next = msgs[i].UID + 1
		}
		if next <= s.Last && next != 0 {
			out = append(out, UIDRange{next, s.Last})
		}
	}
	return out, exact
}

// mergeRanges sorts ranges and joins overlapping or adjacent ones.
func mergeRanges(rs []UIDRange) []UIDRange {
	sort.Slice(rs, func(i, j int) bool { return rs[i].First < rs[j].First })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && uint64(r.First) <= uint64(out[n-1].Last)+1 {
			out[n-1].Last = max(out[n-1].Last, r.Last)
			continue
		}
		out = append(out, r)
	}
	return out
}

// ViewVanished is ViewModSeq with the UIDs expunged after modSeq
// (vanishedSinceLocked), all at one instant: what SELECT (QRESYNC) needs
// to answer VANISHED (EARLIER) consistently with its EXISTS (RFC 7162
// §3.2.5.1).
func (f *Folder) ViewVanished(modSeq uint64, fn func(msgs []Message, highestModSeq uint64, vanished []UIDRange, exact bool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, exact := f.vanishedSinceLocked(modSeq)
	fn(f.st.msgs, f.st.highestModSeq, v, exact)
}

// VanishedSince is the UIDs expunged after modSeq (UID FETCH ...
// (CHANGEDSINCE modSeq VANISHED), RFC 7162 §3.2.6).
func (f *Folder) VanishedSince(modSeq uint64) []UIDRange {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, _ := f.vanishedSinceLocked(modSeq)
	return v
}
