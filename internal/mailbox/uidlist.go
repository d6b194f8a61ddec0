package mailbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// IndexFile is the per-folder index beside the Maildir, in the spirit of
// Dovecot's dovecot-uidlist: it gives every message a UID that survives
// restarts and remembers size, internal date and flags so opening a folder
// never reads message files.
//
// It is an append-only log of lines, compacted when it grows:
//
//	mailgate-uidlist 1 <uidvalidity> <uidnext>     header (first line)
//	+ <uid> <size> <date> <flags|-> <base>         message added
//	M <modseq> <first uid> <last uid>              live messages in the range have modseq
//	F <uid> <flags|-> <modseq>                     flags changed
//	- <uid>                                        message expunged
//	H <modseq>                                     HIGHESTMODSEQ reached (an expunge)
//	S <cur mtime ns>                               cur/ was in sync at that mtime
//	X <modseq> <first uid> <last uid>              UIDs in the range not live were expunged at modseq (vanished.go)
//	V <modseq>                                     expunge history at or below modseq is incomplete
//
// A torn last line (crash mid-append) is dropped on load. The files in
// cur/ are the truth; the log is a cache of them plus the UID assignment.
//
// Mod-sequences (RFC 7162 §3.1.1) came later: M and H records and the
// modseq of F records are new. A reader without them skips M and H (an
// unknown record) and the third field of F, so an older binary still reads
// a newer file; a file without them loads with every message and
// HIGHESTMODSEQ at 1, which RFC 7162 §3.1.2.1 allows for a mailbox that
// had no mod-sequences before. HIGHESTMODSEQ on load is the highest value
// any record holds, so it never goes back across restarts (§3.1.1:
// strictly increasing per mailbox) as long as the records it was announced
// with reached the file.
const IndexFile = "mailgate-uidlist"

const indexMagic = "mailgate-uidlist 1"

type indexState struct {
	uidValidity   uint32
	uidNext       uint32
	highestModSeq uint64 // RFC 7162 §3.1.1 HIGHESTMODSEQ, >= 1 once loaded
	msgs          []Message
	curMtime      int64 // from the last S record, 0 if none
	lines         int
	// modSeqs: the file has mod-sequence records (else it is from
	// before them and is rewritten with every message's at 1).
	modSeqs bool
	// vanished is the expunge history, vanishedFloor the mod-sequence
	// at or below which it is incomplete (vanished.go); history: the
	// file has a V record (else it is from before the history).
	vanished      []vanishedRange
	vanishedFloor uint64
	history       bool
}

// loadIndex replays the log. A missing file yields ok=false.
func loadIndex(path string) (st indexState, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	// Drop a torn last line.
	if i := bytes.LastIndexByte(data, '\n'); i < len(data)-1 {
		data = data[:i+1]
		if err := os.Truncate(path, int64(i+1)); err != nil {
			return st, false, err
		}
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return st, false, nil // empty or torn header: rebuild
	}
	var hv, hn uint64
	if _, err := fmt.Sscanf(string(data[:nl]), indexMagic+" %d %d", &hv, &hn); err != nil {
		return st, false, fmt.Errorf("%s: bad header (remove the file to rebuild the index; UIDs will change)", path)
	}
	st.uidValidity, st.uidNext = uint32(hv), uint32(hn)
	// Size the slices once: appending 100k records would copy them over
	// and over.
	n := bytes.Count(data, []byte{'\n'})
	st.msgs = make([]Message, 0, n)
	pos := uidPositions{uids: make([]uint32, 0, n)}
	dead := 0
	var ranges []modSeqRange
	var drops []droppedAt // for the expunge history (vanished.go)
	var fields [5][]byte
	for rest := data[nl+1:]; len(rest) > 0; {
		nl := bytes.IndexByte(rest, '\n')
		line := rest[:nl]
		rest = rest[nl+1:]
		st.lines++
		if len(line) < 3 {
			continue
		}
		f := splitFields(line[2:], fields[:0])
		switch line[0] {
		case '+':
			if len(f) != 5 {
				continue
			}
			m := Message{UID: uint32(atoi(f[0])), Size: atoi(f[1]), Date: atoi(f[2]), Flags: flagField(f[3]), Base: string(f[4])}
			if m.UID == 0 || m.UID == ^uint32(0) {
				continue
			}
			if old, dup := pos.find(m.UID, st.msgs); dup {
				// A damaged log: the later record wins.
				st.msgs[old].UID = 0
				pos.forget(m.UID)
				dead++
			}
			pos.add(m.UID, len(st.msgs))
			st.msgs = append(st.msgs, m)
			if m.UID >= st.uidNext {
				st.uidNext = m.UID + 1
			}
		case 'F':
			if len(f) >= 2 {
				if i, ok := pos.find(uint32(atoi(f[0])), st.msgs); ok {
					st.msgs[i].Flags = flagField(f[1])
					if len(f) >= 3 {
						ms := modSeqField(f[2])
						st.msgs[i].ModSeq = max(st.msgs[i].ModSeq, ms)
						st.highestModSeq = max(st.highestModSeq, ms)
					}
				}
			}
		case 'M':
			st.lines-- // not a message's record: compaction does not count it
			if len(f) >= 3 {
				r := modSeqRange{modSeq: modSeqField(f[0]), first: uint32(atoi(f[1])), last: uint32(atoi(f[2]))}
				ranges = append(ranges, r)
				st.highestModSeq = max(st.highestModSeq, r.modSeq)
				st.modSeqs = true
			}
		case 'X':
			st.lines-- // as M: bounded by the '-' records it comes with
			if len(f) >= 3 {
				r := vanishedRange{modSeq: modSeqField(f[0]), first: uint32(atoi(f[1])), last: uint32(atoi(f[2]))}
				if r.first != 0 && r.first <= r.last {
					st.vanished = append(st.vanished, r)
					st.highestModSeq = max(st.highestModSeq, r.modSeq)
				}
			}
		case 'V':
			st.lines--
			st.vanishedFloor = max(st.vanishedFloor, modSeqField(f[0]))
			st.history = true
		case 'H':
			st.lines--
			st.highestModSeq = max(st.highestModSeq, modSeqField(f[0]))
			st.modSeqs = true
		case '-':
			if i, ok := pos.find(uint32(atoi(f[0])), st.msgs); ok {
				st.msgs[i].UID = 0
				pos.forget(uint32(atoi(f[0])))
				dead++
				drops = append(drops, droppedAt{uid: uint32(atoi(f[0])), modSeq: st.highestModSeq})
			}
		case 'S':
			st.curMtime = atoi(f[0])
		}
	}
	if dead > 0 {
		live := st.msgs[:0]
		for _, m := range st.msgs {
			if m.UID != 0 {
				live = append(live, m)
			}
		}
		st.msgs = live
	}
	sortByUID(st.msgs)
	applyModSeqRanges(st.msgs, ranges)
	// RFC 7162 §3.1.1: mod-sequences are positive; a file from before
	// them has every message and the folder at 1 (§3.1.2.1). A message
	// without one in a newer file (its M record torn off by a crash, or
	// added by an older binary run in between) gets the highest: a
	// client may fetch it again, but never misses it as unchanged.
	st.highestModSeq = max(st.highestModSeq, 1)
	for i := range st.msgs {
		if st.msgs[i].ModSeq == 0 {
			st.msgs[i].ModSeq = st.highestModSeq
		}
	}
	if st.uidNext == 0 {
		st.uidNext = 1
	}
	st.vanishedFloor = max(st.vanishedFloor, unrecordedDrops(st.vanished, drops))
	if !st.history {
		// RFC 7162 §3.2.5.2: earlier expunges are unknown; clients
		// holding an older mod-sequence get every UID not live.
		st.vanishedFloor = st.highestModSeq
	}
	st.dropOldVanished()
	return st, true, nil
}

// modSeqRange is an M record: the live messages with a UID in
// [first, last] have modSeq (or a higher one from a later F record).
type modSeqRange struct {
	modSeq      uint64
	first, last uint32
}

// applyModSeqRanges gives msgs (sorted by UID) the modseqs of M records.
// Records are applied after the replay so a range costs the messages it
// covers, not the width of its UID range.
func applyModSeqRanges(msgs []Message, ranges []modSeqRange) {
	for _, r := range ranges {
		i := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID >= r.first })
		for ; i < len(msgs) && msgs[i].UID <= r.last; i++ {
			msgs[i].ModSeq = max(msgs[i].ModSeq, r.modSeq)
		}
	}
}

// modSeqField parses a mod-sequence; RFC 7162 §7 caps it at 2^63-1, so a
// larger (damaged) value reads as 0, like any unparsable number.
func modSeqField(b []byte) uint64 {
	n := atoi(b)
	if n < 0 {
		return 0
	}
	return uint64(n)
}

// splitFields splits a record into at most 5 space-separated fields, the
// last one taking the rest of the line (a Maildir name may hold spaces).
func splitFields(b []byte, out [][]byte) [][]byte {
	for len(out) < 4 {
		i := bytes.IndexByte(b, ' ')
		if i < 0 {
			break
		}
		out = append(out, b[:i])
		b = b[i+1:]
	}
	return append(out, b)
}

func atoi(b []byte) int64 {
	if len(b) == 0 || len(b) > 18 {
		n, _ := strconv.ParseInt(string(b), 10, 64)
		return n
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// flagField returns a record's flags, sharing the strings of the common
// cases so a large index does not hold 100k copies of "S".
func flagField(b []byte) string {
	switch string(b) {
	case "-":
		return ""
	case "S":
		return "S"
	case "RS":
		return "RS"
	case "FS":
		return "FS"
	case "ST":
		return "ST"
	}
	return string(b)
}

func flagOut(f string) string {
	if f == "" {
		return "-"
	}
	return f
}

func addRecord(w io.Writer, m *Message) {
	fmt.Fprintf(w, "+ %d %d %d %s %s\n", m.UID, m.Size, m.Date, flagOut(m.Flags), m.Base)
}

// writeIndex writes a compacted index atomically: temp file, fsync,
// rename, directory fsync.
func writeIndex(dir string, st *indexState) error {
	path := filepath.Join(dir, IndexFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = writeSynced(f, func(w io.Writer) error {
		fmt.Fprintf(w, "%s %d %d\n", indexMagic, st.uidValidity, st.uidNext)
		for i := range st.msgs {
			addRecord(w, &st.msgs[i])
		}
		writeModSeqRuns(w, st.msgs)
		fmt.Fprintf(w, "H %d\n", st.highestModSeq)
		writeVanished(w, st)
		if st.curMtime != 0 {
			fmt.Fprintf(w, "S %d\n", st.curMtime)
		}
		return nil // a write error stays in the buffer and comes back from Flush
	})
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write index %s: %w", path, err)
	}
	st.lines = len(st.msgs)
	return syncDir(dir)
}

// writeModSeqRuns writes M records for a compacted index: one per run of
// neighbouring messages with the same modseq (a folder's older messages
// mostly share one).
func writeModSeqRuns(w io.Writer, msgs []Message) {
	for i := 0; i < len(msgs); {
		j := i
		for j+1 < len(msgs) && msgs[j+1].ModSeq == msgs[i].ModSeq {
			j++
		}
		fmt.Fprintf(w, "M %d %d %d\n", msgs[i].ModSeq, msgs[i].UID, msgs[j].UID)
		i = j + 1
	}
}

// writeSynced fills f through a 64 KiB buffer, then fsyncs and closes it.
func writeSynced(f *os.File, fill func(w io.Writer) error) error {
	bw := bufio.NewWriterSize(f, 1<<16)
	err := fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// uidPositions finds a UID's record while the log is replayed. UIDs are
// appended in ascending order, so a binary search over them does; only a
// damaged log with UIDs out of order needs a map.
type uidPositions struct {
	uids []uint32 // UID of every record, ascending, dead ones included
	m    map[uint32]int
}

func (p *uidPositions) add(uid uint32, i int) {
	if p.m == nil && len(p.uids) > 0 && uid <= p.uids[len(p.uids)-1] {
		p.m = make(map[uint32]int, len(p.uids))
		for j, u := range p.uids {
			p.m[u] = j
		}
	}
	if p.m != nil {
		p.m[uid] = i
	}
	p.uids = append(p.uids, uid)
}

func (p *uidPositions) forget(uid uint32) {
	if p.m != nil {
		delete(p.m, uid)
	}
}

// find returns the position of a live record for uid.
func (p *uidPositions) find(uid uint32, msgs []Message) (int, bool) {
	if p.m != nil {
		i, ok := p.m[uid]
		return i, ok && msgs[i].UID == uid
	}
	i := sort.Search(len(p.uids), func(i int) bool { return p.uids[i] >= uid })
	if i < len(p.uids) && p.uids[i] == uid && msgs[i].UID == uid {
		return i, true
	}
	return 0, false
}
