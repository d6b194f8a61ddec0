package mailbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Message is one message of a folder as its index knows it.
type Message struct {
	UID   uint32
	Base  string // unique Maildir name without the ":2," info
	Flags string // Maildir flag letters, sorted
	Size  int64  // octets, CRLF line ends: what POP3 LIST and RFC822.SIZE report
	Date  int64  // internal date, Unix seconds
	// ModSeq is the folder's HIGHESTMODSEQ when the message was added or
	// its flags last changed (RFC 7162 §3.1.1).
	ModSeq uint64
}

// FileName is the message's current name in cur/.
func (m *Message) FileName() string { return m.Base + ":2," + m.Flags }

// EventKind says what changed in a folder.
type EventKind int

const (
	// Expunged: message Seq (1-based, before removal) is gone.
	Expunged EventKind = iota
	// Exists: the folder now holds Count messages (only ever grows).
	Exists
	// FlagsChanged: message Seq / UID now has Flags, and ModSeq.
	FlagsChanged
)

// Event is a change announced to a folder's listeners, in the order the
// changes happened, so sequence numbers stay consistent (RFC 9051 §7.5.1).
type Event struct {
	Kind   EventKind
	Seq    uint32
	UID    uint32
	Count  uint32
	Flags  string
	ModSeq uint64 // FlagsChanged: the message's new mod-sequence
	Source any    // who made a FlagsChanged change (it answers for itself)
}

// Folder is one open Maildir folder with its UID index. Every user of the
// same directory in this process shares one Folder (OpenFolder), so POP3,
// IMAP and the index never disagree; messages appearing in new/ from local
// delivery are picked up by Sync.
type Folder struct {
	mu        sync.Mutex
	dir       string
	refs      int
	st        indexState
	log       *os.File
	listeners map[int]func(Event)
	nextLis   int
	gone      bool
	idleSince time.Time // guarded by openMu
}

var (
	openMu  sync.Mutex
	openDir = map[string]*Folder{}
)

// validity hands out UIDVALIDITY values: the clock, but strictly
// increasing within the process so a folder deleted and re-created in the
// same second still gets a new one (RFC 9051 §2.3.1.1).
var (
	validityMu   sync.Mutex
	lastValidity uint32
)

func newValidity() uint32 {
	validityMu.Lock()
	defer validityMu.Unlock()
	v := uint32(time.Now().Unix())
	if v <= lastValidity {
		v = lastValidity + 1
	}
	lastValidity = v
	return v
}

// Folders nobody has open stay loaded for a while, so opening a large
// folder again (a client's next SELECT, a POP3 check every few minutes)
// costs a sync, not a reload of its index.
const (
	maxIdleFolders = 64
	idleFolderTTL  = 10 * time.Minute
)

var lastEvict time.Time

// OpenFolder opens (or shares) the folder whose Maildir is dir, creating
// tmp/new/cur and the index when missing, and syncs it with the disk.
// Close it when done.
func OpenFolder(dir string) (*Folder, error) {
	dir = filepath.Clean(dir)
	openMu.Lock()
	evictIdleLocked(time.Now())
	f := openDir[dir]
	if f == nil {
		f = &Folder{dir: dir, listeners: map[int]func(Event){}}
		openDir[dir] = f
	}
	f.refs++
	openMu.Unlock()

	f.mu.Lock()
	var err error
	if f.log == nil {
		err = f.load()
	}
	if err == nil {
		err = f.syncLocked()
	}
	f.mu.Unlock()
	if err != nil {
		f.release(true)
		return nil, err
	}
	return f, nil
}

// Close releases the folder. It stays loaded for a while in case it is
// opened again.
func (f *Folder) Close() error {
	f.release(false)
	return nil
}

func (f *Folder) release(drop bool) {
	openMu.Lock()
	f.refs--
	f.idleSince = time.Now()
	unload := f.refs == 0 && (drop || f.gone || openDir[f.dir] != f)
	if unload && openDir[f.dir] == f {
		delete(openDir, f.dir)
	}
	openMu.Unlock()
	if unload {
		f.unload()
	}
}

func (f *Folder) unload() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.log != nil {
		f.log.Close()
		f.log = nil
	}
	f.st = indexState{}
}

// evictIdleLocked unloads folders nobody has had open for idleFolderTTL,
// and the longest-idle ones beyond maxIdleFolders. It runs at most once a
// second; openMu is held.
func evictIdleLocked(now time.Time) {
	if now.Sub(lastEvict) < time.Second {
		return
	}
	lastEvict = now
	var idle []*Folder
	for _, f := range openDir {
		if f.refs == 0 {
			idle = append(idle, f)
		}
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].idleSince.Before(idle[j].idleSince) })
	for i, f := range idle {
		if len(idle)-i > maxIdleFolders || now.Sub(f.idleSince) > idleFolderTTL {
			delete(openDir, f.dir)
			f.unload()
		}
	}
}

// dropIdle unloads every folder nobody has open (tests: force a reload
// from disk).
func dropIdle() {
	openMu.Lock()
	defer openMu.Unlock()
	for d, f := range openDir {
		if f.refs == 0 {
			delete(openDir, d)
			f.unload()
		}
	}
}

func (f *Folder) load() error {
	if err := Ensure(f.dir); err != nil {
		return fmt.Errorf("maildir %s: %w", f.dir, err)
	}
	path := filepath.Join(f.dir, IndexFile)
	st, ok, err := loadIndex(path)
	if err != nil {
		return err
	}
	if !ok {
		st = indexState{uidValidity: newValidity(), uidNext: 1, highestModSeq: 1, history: true}
		if err := writeIndex(f.dir, &st); err != nil {
			return err
		}
	} else if st.lines > 2*len(st.msgs)+1000 || !st.modSeqs || !st.history {
		// A file from before mod-sequences is written out with them
		// (every message at 1, RFC 7162 §3.1.2.1) before anything is
		// appended: a message without one would load at HIGHESTMODSEQ.
		// One from before the expunge history gets its V record, or
		// the floor would move up with every load (vanished.go).
		if err := writeIndex(f.dir, &st); err != nil {
			return err
		}
	}
	f.st = st
	f.log, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	return err
}

// Dir is the folder's Maildir directory.
func (f *Folder) Dir() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dir
}

// UIDValidity is the folder's UIDVALIDITY; it changes only when the index
// is lost or the folder re-created.
func (f *Folder) UIDValidity() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.uidValidity
}

// UIDNext is the UID the next message will get.
func (f *Folder) UIDNext() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.uidNext
}

// HighestModSeq is the folder's HIGHESTMODSEQ (RFC 7162 §3.1.1): the
// highest mod-sequence any change to it (an added message, a flag change,
// an expunge) was given. It never decreases, across restarts too.
func (f *Folder) HighestModSeq() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.highestModSeq
}

// nextModSeq is the mod-sequence for the change being made: one per
// operation, shared by every message it touches (RFC 7162 §3.1.1 asks
// only that it be higher than any before).
func (f *Folder) nextModSeq() uint64 {
	f.st.highestModSeq++
	return f.st.highestModSeq
}

// Len is the number of messages.
func (f *Folder) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.st.msgs)
}

// View calls fn with the message list under the folder's lock; fn must not
// keep the slice or call other Folder methods.
func (f *Folder) View(fn func(msgs []Message)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.st.msgs)
}

// ViewModSeq is View that also gives the folder's HIGHESTMODSEQ at that
// instant, consistent with msgs (RFC 7162 §3.1.2.1: SELECT reports both).
func (f *Folder) ViewModSeq(fn func(msgs []Message, highestModSeq uint64)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.st.msgs, f.st.highestModSeq)
}

// Snapshot copies the message list.
func (f *Folder) Snapshot() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.st.msgs...)
}

// Listen registers a listener for the folder's changes. start runs under
// the folder's lock with the message count at that instant, so the
// listener's view starts exact, and returns the function that receives
// events; it too runs under the lock and must not call back into the
// Folder.
func (f *Folder) Listen(start func(count uint32) func(Event)) (cancel func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.nextLis
	f.nextLis++
	f.listeners[id] = start(uint32(len(f.st.msgs)))
	return func() {
		f.mu.Lock()
		delete(f.listeners, id)
		f.mu.Unlock()
	}
}

func (f *Folder) emit(ev Event) {
	for _, fn := range f.listeners {
		fn(ev)
	}
}

// seqOf returns the index of uid in msgs, or -1.
func (f *Folder) seqOf(uid uint32) int {
	msgs := f.st.msgs
	i := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID >= uid })
	if i < len(msgs) && msgs[i].UID == uid {
		return i
	}
	return -1
}

// Sync picks up messages local delivery put into new/ and changes other
// programs made in cur/, announcing them to listeners.
func (f *Folder) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncLocked()
}

func (f *Folder) syncLocked() error {
	if f.log == nil {
		return errors.New("mailbox: folder is closed")
	}
	if f.gone {
		return ErrNoFolder
	}
	// cur/ is listed only when its mtime moved since the index last saw it
	// in sync; otherwise the index is trusted and no directory is read.
	curDir := filepath.Join(f.dir, "cur")
	mt, err := mtime(curDir)
	if err != nil {
		return err
	}
	var added []Message
	// new/: always listed (it is small: every sync empties it). Each
	// message moves to cur/ with empty flags, as an IMAP server does once
	// a client has seen it (Maildir spec "new" vs "cur").
	newDir := filepath.Join(f.dir, "new")
	names, err := readNames(newDir)
	if err != nil {
		return err
	}
	sortDelivered(names)
	// Under the usage lock (no change in usage): a recount listing new/
	// then cur/ must not see a message in both.
	err = track(f.dir, func() (Usage, error) {
		for _, name := range names {
			base, flags := splitName(name)
			m := Message{Base: base, Flags: flags}
			if err := os.Rename(filepath.Join(newDir, name), filepath.Join(f.dir, "cur", m.FileName())); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					continue // another process moved it
				}
				return Usage{}, err
			}
			f.fillSizeDate(&m)
			added = append(added, m)
		}
		return Usage{}, nil
	})
	if err != nil {
		return err
	}
	if mt != f.st.curMtime {
		more, err := f.reconcileCur(added)
		if err != nil {
			return err
		}
		added = append(added, more...)
	}
	if len(added) > 0 {
		if err := f.addLocked(added, nil); err != nil {
			return err
		}
	}
	if len(names) == 0 {
		// Nothing was moved into cur/, so mt still describes it (and
		// cur/ was listed after mt was taken, if it was listed): no second
		// stat, and no later change by another program stamped as seen.
		return f.stamp(mt)
	}
	return f.stampLocked()
}

// stampLocked records cur/'s mtime after our own changes so the next open
// need not list cur/.
func (f *Folder) stampLocked() error {
	mt, err := mtime(filepath.Join(f.dir, "cur"))
	if err != nil {
		return err
	}
	return f.stamp(mt)
}

// stamp records that cur/ as of mtime mt is in the index.
func (f *Folder) stamp(mt int64) error {
	if mt == f.st.curMtime {
		return nil
	}
	f.st.curMtime = mt
	f.st.lines++
	_, err := fmt.Fprintf(f.log, "S %d\n", mt)
	return err
}

// reconcileCur lists cur/ and brings the index in line with it: files gone
// are expunged, renamed flags are taken over, unknown files (written by
// another program, or by us just before a crash) get new UIDs. just are
// the files this sync moved in from new/ (not yet indexed).
func (f *Folder) reconcileCur(just []Message) ([]Message, error) {
	names, err := readNames(filepath.Join(f.dir, "cur"))
	if err != nil {
		return nil, err
	}
	onDisk := make(map[string]string, len(names))
	for _, n := range names {
		b, fl := splitName(n)
		onDisk[b] = fl
	}
	for _, m := range just {
		delete(onDisk, m.Base)
	}
	var gone []uint32
	var w bufferedLog
	var modSeq uint64 // another program's renames: one change
	for i := range f.st.msgs {
		m := &f.st.msgs[i]
		fl, ok := onDisk[m.Base]
		if !ok {
			gone = append(gone, m.UID)
			continue
		}
		delete(onDisk, m.Base)
		if fl != m.Flags {
			if modSeq == 0 {
				modSeq = f.nextModSeq()
			}
			m.Flags, m.ModSeq = fl, modSeq
			fmt.Fprintf(&w, "F %d %s %d\n", m.UID, flagOut(fl), modSeq)
			f.emit(Event{Kind: FlagsChanged, Seq: uint32(i + 1), UID: m.UID, Flags: fl, ModSeq: modSeq})
		}
	}
	if err := w.flushTo(f.log); err != nil {
		return nil, err
	}
	if len(gone) > 0 {
		if err := f.dropLocked(gone); err != nil {
			return nil, err
		}
	}
	if len(gone) > 0 || len(onDisk) > 0 {
		// Another program (or a crash) removed or added messages: the
		// usage is counted again from the disk.
		forgetUsage(f.dir)
	}
	var added []Message
	for b, fl := range onDisk {
		m := Message{Base: b, Flags: fl}
		f.fillSizeDate(&m)
		added = append(added, m)
	}
	sort.Slice(added, func(i, j int) bool {
		if added[i].Date != added[j].Date {
			return added[i].Date < added[j].Date
		}
		return deliveredBefore(added[i].Base, added[j].Base)
	})
	return added, nil
}

// fillSizeDate sets size and date from the name when it carries them,
// else from a stat of the file.
func (f *Folder) fillSizeDate(m *Message) {
	size, okS := sizeFromName(m.Base)
	date, okD := dateFromName(m.Base)
	if !okS || !okD {
		if fi, err := os.Stat(filepath.Join(f.dir, "cur", m.FileName())); err == nil {
			if !okS {
				size = fi.Size()
			}
			if !okD {
				date = fi.ModTime().Unix()
			}
		}
	}
	m.Size, m.Date = size, date
}

// addLocked gives msgs UIDs and a new mod-sequence (RFC 7162 §3.1.1: an
// added message gets one), appends them to the index (fsynced: a UID
// handed out must never be handed out again, RFC 9051 §2.3.1.1) and
// announces the new count.
func (f *Folder) addLocked(msgs []Message, uids []uint32) error {
	var w bufferedLog
	modSeq := f.nextModSeq()
	for i := range msgs {
		msgs[i].UID = f.st.uidNext
		msgs[i].ModSeq = modSeq
		f.st.uidNext++
		addRecord(&w, &msgs[i])
		if uids != nil {
			uids[i] = msgs[i].UID
		}
	}
	if len(msgs) > 0 {
		// The same write(2) as the + records: no message without it.
		fmt.Fprintf(&w, "M %d %d %d\n", modSeq, msgs[0].UID, msgs[len(msgs)-1].UID)
	}
	if err := w.flushTo(f.log); err != nil {
		return err
	}
	if err := f.log.Sync(); err != nil {
		return err
	}
	f.st.msgs = append(f.st.msgs, msgs...)
	f.st.lines += len(msgs)
	f.emit(Event{Kind: Exists, Count: uint32(len(f.st.msgs))})
	return nil
}

// dropLocked removes uids from the index (their files are already gone)
// and announces each expunge, highest sequence number first so the
// numbers stay valid while they are sent. An expunge raises HIGHESTMODSEQ
// too (RFC 7162 §3.1.1; QRESYNC's VANISHED (EARLIER) relies on it).
func (f *Folder) dropLocked(uids []uint32) error {
	drop := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		drop[u] = true
	}
	var w bufferedLog
	modSeq := f.nextModSeq()
	fmt.Fprintf(&w, "H %d\n", modSeq)
	for i := len(f.st.msgs) - 1; i >= 0; i-- {
		if u := f.st.msgs[i].UID; drop[u] {
			fmt.Fprintf(&w, "- %d\n", u)
			f.emit(Event{Kind: Expunged, Seq: uint32(i + 1), UID: u})
		}
	}
	live := f.st.msgs[:0]
	for _, m := range f.st.msgs {
		if !drop[m.UID] {
			live = append(live, m)
		}
	}
	clear(f.st.msgs[len(live):])
	f.st.msgs = live
	// RFC 7162 §3.2.5.1: remember what vanished at modSeq.
	sorted := append([]uint32(nil), uids...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	f.recordVanishedLocked(&w, sorted, modSeq)
	f.st.lines += len(uids)
	if err := w.flushTo(f.log); err != nil {
		return err
	}
	return f.maybeCompactLocked()
}

func (f *Folder) maybeCompactLocked() error {
	if f.st.lines <= 2*len(f.st.msgs)+1000 {
		return nil
	}
	if err := writeIndex(f.dir, &f.st); err != nil {
		return err
	}
	f.log.Close()
	var err error
	f.log, err = os.OpenFile(filepath.Join(f.dir, IndexFile), os.O_WRONLY|os.O_APPEND, 0o600)
	return err
}

// bufferedLog collects index lines so one change is one write(2): a kill
// between lines cannot leave half a batch.
type bufferedLog struct{ b []byte }

func (w *bufferedLog) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func (w *bufferedLog) flushTo(f *os.File) error {
	if len(w.b) == 0 {
		return nil
	}
	_, err := f.Write(w.b)
	w.b = w.b[:0]
	return err
}

func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	out := names[:0]
	for _, n := range names {
		if n == "" || n[0] == '.' || containsNL(n) {
			continue
		}
		out = append(out, n)
	}
	return out, err
}

func containsNL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\r' {
			return true
		}
	}
	return false
}

func mtime(path string) (int64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Mtim.Sec*1e9 + st.Mtim.Nsec, nil
}

// Open opens the message with uid for reading.
func (f *Folder) Open(uid uint32) (*os.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.seqOf(uid)
	if i < 0 {
		return nil, fmt.Errorf("message %d: %w", uid, os.ErrNotExist)
	}
	return os.Open(filepath.Join(f.dir, "cur", f.st.msgs[i].FileName()))
}

// SetFlags changes the flags of the messages with uids (op '+', '-' or
// '='), renaming their files in cur/ (the Maildir way to store flags), and
// returns the messages as changed. source is passed on in the events.
func (f *Folder) SetFlags(uids []uint32, op byte, change string, source any) ([]Message, error) {
	out, _, err := f.setFlags(uids, op, change, source, nil)
	return out, err
}

// SetFlagsUnchangedSince is SetFlags for a conditional STORE (RFC 7162
// §3.1.3): a message whose mod-sequence is above since is left alone and
// its UID returned in modified. The test and the change are made under
// the folder's lock, so no other change slips in between.
func (f *Folder) SetFlagsUnchangedSince(uids []uint32, op byte, change string, since uint64, source any) (out []Message, modified []uint32, err error) {
	return f.setFlags(uids, op, change, source, func(m *Message) bool { return m.ModSeq <= since })
}

func (f *Folder) setFlags(uids []uint32, op byte, change string, source any, unchanged func(*Message) bool) (out []Message, modified []uint32, _ error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var w bufferedLog
	var firstErr error
	var modSeq uint64 // one for the whole operation, taken at its first change
	for _, uid := range uids {
		i := f.seqOf(uid)
		if i < 0 {
			continue
		}
		m := &f.st.msgs[i]
		if unchanged != nil && !unchanged(m) {
			modified = append(modified, uid)
			continue
		}
		nf := EditFlags(m.Flags, op, change)
		if nf != m.Flags {
			cur := filepath.Join(f.dir, "cur")
			err := os.Rename(filepath.Join(cur, m.FileName()), filepath.Join(cur, m.Base+":2,"+nf))
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if modSeq == 0 {
				modSeq = f.nextModSeq()
			}
			m.Flags, m.ModSeq = nf, modSeq
			fmt.Fprintf(&w, "F %d %s %d\n", m.UID, flagOut(nf), modSeq)
			f.st.lines++
			f.emit(Event{Kind: FlagsChanged, Seq: uint32(i + 1), UID: m.UID, Flags: nf, ModSeq: modSeq, Source: source})
		}
		out = append(out, *m)
	}
	if err := w.flushTo(f.log); err != nil {
		return out, modified, err
	}
	if err := f.stampLocked(); err != nil {
		return out, modified, err
	}
	if err := f.maybeCompactLocked(); err != nil {
		return out, modified, err
	}
	return out, modified, firstErr
}

// Expunge deletes the messages with uids: files first, then the index, so
// a crash in between leaves a file-less index entry that the next sync
// drops, never a lost message that was not asked for. It returns the uids
// that are now gone, including those another session expunged first.
func (f *Folder) Expunge(uids []uint32) ([]uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var done []uint32
	var firstErr error
	var gone []uint32
	missing := false
	// Removed and counted out in one step (see adopt).
	track(f.dir, func() (removed Usage, _ error) {
		for _, uid := range uids {
			i := f.seqOf(uid)
			if i < 0 {
				gone = append(gone, uid) // expunged by someone else already
				continue
			}
			err := os.Remove(filepath.Join(f.dir, "cur", f.st.msgs[i].FileName()))
			switch {
			case err == nil:
				removed.Bytes -= f.st.msgs[i].Size
				removed.Messages--
			case errors.Is(err, os.ErrNotExist):
				missing = true // another program removed it
			default:
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			done = append(done, uid)
		}
		return removed, nil
	})
	if missing {
		forgetUsage(f.dir)
	}
	if len(done) > 0 {
		if err := syncDir(filepath.Join(f.dir, "cur")); err != nil && firstErr == nil {
			firstErr = err
		}
		if err := f.dropLocked(done); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if err := f.stampLocked(); err != nil && firstErr == nil {
		firstErr = err
	}
	return append(done, gone...), firstErr
}

// Append stores a message written by a client (IMAP APPEND): tmp/, fsync,
// then into cur/ with its flags. It returns the new UID.
func (f *Folder) Append(r io.Reader, flags string, date time.Time) (uint32, error) {
	st, err := f.Stage(r, flags, date)
	if err != nil {
		return 0, err
	}
	return st.Commit()
}

// Staged is a message Stage wrote to the folder's tmp/ (fsynced) and not
// yet in it: Commit moves it in, Discard removes it. APPEND stages the
// literal as it arrives from the network and commits it in a short step
// that may hold a lock (the quota warning's) no slow client should hold.
type Staged struct {
	f   *Folder
	tmp string
	m   Message
}

// Stage is Append's first half: the message in tmp/, not in the folder.
func (f *Folder) Stage(r io.Reader, flags string, date time.Time) (*Staged, error) {
	dir := f.Dir()
	if date.IsZero() {
		date = time.Now()
	}
	tmp := filepath.Join(dir, "tmp", uniqueBase(time.Now(), 0))
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	var n int64
	err = writeSynced(fh, func(w io.Writer) (err error) {
		n, err = io.Copy(w, r)
		return err
	})
	if err == nil {
		err = os.Chtimes(tmp, date, date)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	m := Message{Base: uniqueBase(date, n), Flags: normFlags(flags), Size: n, Date: date.Unix()}
	return &Staged{f: f, tmp: tmp, m: m}, nil
}

// Size is the staged message's octets, as they count in the usage.
func (s *Staged) Size() int64 { return s.m.Size }

// Commit moves the staged message into the folder's cur/ and index and
// returns its UID.
func (s *Staged) Commit() (uint32, error) {
	uids, err := s.f.adopt([]string{s.tmp}, []Message{s.m})
	if err != nil {
		return 0, err
	}
	return uids[0], nil
}

// Discard removes a staged message that is not to be stored.
func (s *Staged) Discard() { os.Remove(s.tmp) }

// adopt renames files (in this folder's tmp/ or hard links made there)
// into cur/ under msgs' names and indexes them.
func (f *Folder) adopt(paths []string, msgs []Message) ([]uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.log == nil {
		return nil, errors.New("mailbox: folder is closed")
	}
	var uids []uint32
	// The renames are counted in the account's usage in the same step,
	// so a recount never sees a file its delta then adds again.
	err := track(f.dir, func() (Usage, error) {
		msgs, err := f.renameIntoCur(paths, msgs)
		if err != nil {
			return Usage{}, err
		}
		var added Usage
		for _, m := range msgs {
			added.Bytes += m.Size
			added.Messages++
		}
		// In cur/ now: counted even if the index write fails (the
		// next sync indexes them).
		uids = make([]uint32, len(msgs))
		return added, f.addLocked(msgs, uids)
	})
	if err != nil {
		return nil, err
	}
	return uids, f.stampLocked()
}

// renameIntoCur renames paths into cur/ under msgs' names and returns the
// messages that got there: all, or those before the first failure (the
// rest are removed); none is an error.
func (f *Folder) renameIntoCur(paths []string, msgs []Message) ([]Message, error) {
	cur := filepath.Join(f.dir, "cur")
	for i, p := range paths {
		if err := os.Rename(p, filepath.Join(cur, msgs[i].FileName())); err != nil {
			for _, q := range paths[i:] {
				os.Remove(q)
			}
			msgs = msgs[:i]
			if i == 0 {
				return nil, err
			}
			break
		}
	}
	return msgs, syncDir(cur)
}

// CopyTo copies the messages with uids into dst (hard links: Maildir files
// never change content) and returns source and destination UIDs in order
// (RFC 4315 COPYUID).
func (f *Folder) CopyTo(dst *Folder, uids []uint32) (src, out []uint32, err error) {
	type item struct {
		path string
		m    Message
	}
	var items []item
	f.mu.Lock()
	for _, uid := range uids {
		if i := f.seqOf(uid); i >= 0 {
			items = append(items, item{filepath.Join(f.dir, "cur", f.st.msgs[i].FileName()), f.st.msgs[i]})
		}
	}
	f.mu.Unlock()
	dstTmp := filepath.Join(dst.Dir(), "tmp")
	var paths []string
	var msgs []Message
	cleanup := func() {
		for _, p := range paths {
			os.Remove(p)
		}
	}
	for _, it := range items {
		m := it.m
		m.Base = uniqueBase(time.Unix(m.Date, 0), m.Size)
		tmp := filepath.Join(dstTmp, m.Base)
		err := linkOrCopy(it.path, tmp)
		if errors.Is(err, os.ErrNotExist) {
			// A flag change renamed it meanwhile: look it up again.
			if p, ok := f.pathOf(it.m.UID); ok {
				err = linkOrCopy(p, tmp)
			}
		}
		if errors.Is(err, os.ErrNotExist) {
			continue // expunged meanwhile: nothing to copy
		}
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		src = append(src, it.m.UID)
		paths = append(paths, tmp)
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return nil, nil, nil
	}
	out, err = dst.adopt(paths, msgs)
	if err != nil {
		return nil, nil, err
	}
	return src, out, nil
}

func (f *Folder) pathOf(uid uint32) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.seqOf(uid)
	if i < 0 {
		return "", false
	}
	return filepath.Join(f.dir, "cur", f.st.msgs[i].FileName()), true
}

func linkOrCopy(from, to string) error {
	err := os.Link(from, to)
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return writeSynced(out, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

func sortByUID(m []Message) {
	if !sort.SliceIsSorted(m, func(i, j int) bool { return m[i].UID < m[j].UID }) {
		sort.Slice(m, func(i, j int) bool { return m[i].UID < m[j].UID })
	}
}
