package imapd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailgate/internal/mailbox"
	"mailgate/internal/message"
)

// item is one message addressed by a command: its sequence number as the
// client sees it, and its index entry.
type item struct {
	seq uint32
	m   mailbox.Message
}

// resolve turns a sequence or UID set into the messages it names, in
// mailbox order. Messages the client has not been told about yet (no
// client sequence number) are left out (RFC 9051 §7.5.1).
func (sel *selected) resolve(numSet imap.NumSet) []item {
	var out []item
	sel.folder.View(func(msgs []mailbox.Message) {
		numSet = sel.static(numSet, msgs)
		switch set := numSet.(type) {
		case imap.SeqSet:
			for i := range msgs {
				if seq := sel.tracker.EncodeSeqNum(uint32(i + 1)); seq != 0 && set.Contains(seq) {
					out = append(out, item{seq, msgs[i]})
				}
			}
		case imap.UIDSet:
			for i := range msgs {
				if set.Contains(imap.UID(msgs[i].UID)) {
					if seq := sel.tracker.EncodeSeqNum(uint32(i + 1)); seq != 0 {
						out = append(out, item{seq, msgs[i]})
					}
				}
			}
		}
	})
	return out
}

// static replaces "*" with the highest number and "$" (SEARCHRES, RFC
// 5182) with the saved result.
func (sel *selected) static(numSet imap.NumSet, msgs []mailbox.Message) imap.NumSet {
	if imap.IsSearchRes(numSet) {
		return sel.searchRes
	}
	switch set := numSet.(type) {
	case imap.SeqSet:
		max := uint32(len(msgs))
		out := make(imap.SeqSet, len(set))
		for i, r := range set {
			out[i] = r
			staticRange(&out[i].Start, &out[i].Stop, max)
		}
		return out
	case imap.UIDSet:
		var max uint32
		if len(msgs) > 0 {
			max = msgs[len(msgs)-1].UID
		}
		out := make(imap.UIDSet, len(set))
		for i, r := range set {
			out[i] = r
			staticRange((*uint32)(&out[i].Start), (*uint32)(&out[i].Stop), max)
		}
		return out
	}
	return numSet
}

func staticRange(start, stop *uint32, max uint32) {
	dyn := false
	if *start == 0 {
		*start, dyn = max, true
	}
	if *stop == 0 {
		*stop, dyn = max, true
	}
	if dyn && *start > *stop {
		*start, *stop = *stop, *start
	}
}

func uidsOf(items []item) []uint32 {
	out := make([]uint32, len(items))
	for i, it := range items {
		out[i] = it.m.UID
	}
	return out
}

// readMessage reads a message file; os.ErrNotExist when it was expunged
// meanwhile.
func (sel *selected) readMessage(uid uint32) ([]byte, error) {
	f, err := sel.folder.Open(uid)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Fetch serves FETCH (RFC 9051 §6.4.5). Flags, size and dates come from
// the index; the message file is read only for content items.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) (err error) {
	defer s.logFailure("FETCH", &err)
	sel := s.sel
	items := sel.resolve(numSet)
	// RFC 9051 §6.4.5: BODY[...] (not .PEEK) sets \Seen; the new flags
	// are sent along in the same response.
	markSeen := false
	if !sel.readOnly {
		for _, bs := range options.BodySection {
			markSeen = markSeen || !bs.Peek
		}
		for _, bs := range options.BinarySection {
			markSeen = markSeen || !bs.Peek
		}
	}
	if options.Vanished {
		// RFC 7162 §3.2.6: first the UIDs of the set expunged since
		// (go-imap allows it only in UID FETCH with CHANGEDSINCE).
		set, _ := numSet.(imap.UIDSet)
		if imap.IsSearchRes(numSet) {
			set = sel.searchRes
		}
		if set == nil {
			set = imap.UIDSet{} // nothing, not everything
		}
		v := sel.folder.VanishedSince(options.ChangedSince)
		if err := w.WriteVanished(vanishedIn(v, set)); err != nil {
			return err
		}
	}
	if options.ChangedSince != 0 {
		// RFC 7162 §3.1.4.1: only messages changed since.
		kept := items[:0]
		for _, it := range items {
			if it.m.ModSeq > options.ChangedSince {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	// The mod-sequence \Seen gave each message it was set on.
	seenNow := map[uint32]uint64{}
	if markSeen {
		var unseen []uint32
		for _, it := range items {
			if !mailbox.HasFlag(it.m.Flags, mailbox.FlagSeen) {
				unseen = append(unseen, it.m.UID)
			}
		}
		if len(unseen) > 0 {
			changed, _ := sel.folder.SetFlags(unseen, '+', "S", sel.tracker)
			for _, m := range changed {
				seenNow[m.UID] = m.ModSeq
			}
		}
	}
	needContent := options.Envelope || options.BodyStructure != nil || len(options.BodySection) > 0 ||
		len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0
	var failed error
	for _, it := range items {
		var c content
		if needContent {
			buf, err := sel.readMessage(it.m.UID)
			if errors.Is(err, os.ErrNotExist) {
				continue // expunged by another session meanwhile
			}
			if err != nil {
				return err
			}
			if c, err = extract(buf, options); err != nil {
				// Answer the other messages; the command ends NO.
				s.srv.log().Error("imap: FETCH content", "account", s.account, "folder", sel.name, "uid", it.m.UID, "err", err)
				failed = fmt.Errorf("message UID %d: %w", it.m.UID, err)
				continue
			}
		}
		modSeq, seen := seenNow[it.m.UID]
		if seen {
			it.m.Flags = mailbox.EditFlags(it.m.Flags, '+', "S")
			it.m.ModSeq = modSeq
		}
		if err := fetchOne(w.CreateMessage(it.seq), it.m, &c, options, seen); err != nil {
			return err
		}
	}
	return failed
}

// content is what FETCH answers from a message file. It is all computed
// before the response is begun: go-imap holds the connection's encoder
// from CreateMessage to Close, so a failure half-way through would leave
// the connection unusable.
type content struct {
	envelope   *imap.Envelope
	structure  imap.BodyStructure
	body       [][]byte
	binary     [][]byte
	binarySize []uint32
}

// extract computes the content items of options from the message buf. A
// panic (a bug: the part tree is bounded and every lookup checked) is
// returned as an error, so one message never costs the session.
func extract(buf []byte, options *imap.FetchOptions) (c content, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	root := message.ParseMIME(buf)
	if options.Envelope {
		c.envelope = imapserver.ExtractEnvelope(root.Header.Header)
	}
	if options.BodyStructure != nil {
		c.structure = bodyStructure(buf, root)
	}
	for _, bs := range options.BodySection {
		c.body = append(c.body, bodySection(buf, root, bs))
	}
	for _, bs := range options.BinarySection {
		c.binary = append(c.binary, binarySection(buf, root, bs))
	}
	for _, bss := range options.BinarySectionSize {
		b := binarySection(buf, root, &imap.FetchItemBinarySection{Part: bss.Part})
		c.binarySize = append(c.binarySize, uint32(len(b)))
	}
	return c, nil
}

func fetchOne(w *imapserver.FetchResponseWriter, m mailbox.Message, c *content, options *imap.FetchOptions, flagsChanged bool) error {
	if options.UID { // asked for, or a UID FETCH (RFC 9051 §6.4.9)
		w.WriteUID(imap.UID(m.UID))
	}
	if options.Flags || flagsChanged {
		w.WriteFlags(imapFlags(m.Flags))
	}
	if options.InternalDate {
		w.WriteInternalDate(time.Unix(m.Date, 0))
	}
	if options.RFC822Size {
		w.WriteRFC822Size(m.Size)
	}
	if options.ModSeq { // RFC 7162 §3.1.4.1
		w.WriteModSeq(m.ModSeq)
	}
	if options.Envelope {
		w.WriteEnvelope(c.envelope)
	}
	if options.BodyStructure != nil {
		w.WriteBodyStructure(c.structure)
	}
	for i, bs := range options.BodySection {
		if err := writeSection(w.WriteBodySection(bs, int64(len(c.body[i]))), c.body[i]); err != nil {
			return err
		}
	}
	for i, bs := range options.BinarySection {
		if err := writeSection(w.WriteBinarySection(bs, int64(len(c.binary[i]))), c.binary[i]); err != nil {
			return err
		}
	}
	for i, bss := range options.BinarySectionSize {
		w.WriteBinarySectionSize(bss, c.binarySize[i])
	}
	return w.Close()
}

func writeSection(wc io.WriteCloser, b []byte) error {
	_, err := wc.Write(b)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

// Store serves STORE (RFC 9051 §6.4.6): flags live in the file name.
// With CONDSTORE (RFC 7162 §3.1.3) it may be conditional (UNCHANGEDSINCE),
// and once the client enabled CONDSTORE every FETCH it answers with
// carries UID and MODSEQ, even after .SILENT for the messages it changed
// (the client needs their new mod-sequences).
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) (err error) {
	defer s.logFailure("STORE", &err)
	sel := s.sel
	if sel.readOnly {
		return errReadOnly
	}
	items := sel.resolve(numSet)
	op := byte('+')
	switch flags.Op {
	case imap.StoreFlagsSet:
		op = '='
	case imap.StoreFlagsDel:
		op = '-'
	}
	var changed []mailbox.Message
	var modified []uint32
	if options.HasUnchangedSince {
		changed, modified, err = sel.folder.SetFlagsUnchangedSince(uidsOf(items), op, letters(flags.Flags), options.UnchangedSince, sel.tracker)
	} else {
		changed, err = sel.folder.SetFlags(uidsOf(items), op, letters(flags.Flags), sel.tracker)
	}
	if err != nil {
		s.srv.log().Warn("imap: store", "account", s.account, "err", err)
	}
	_, uidCmd := numSet.(imap.UIDSet)
	if len(modified) > 0 {
		w.SetModified(modifiedSet(items, modified, uidCmd))
	}
	condStore := s.conn.CondStoreEnabled()
	if flags.Silent && !condStore {
		return nil
	}
	now := map[uint32]mailbox.Message{}
	for _, m := range changed {
		now[m.UID] = m
	}
	for _, it := range items {
		m, ok := now[it.m.UID]
		if !ok {
			continue
		}
		if flags.Silent && m.ModSeq == it.m.ModSeq {
			continue // not changed: nothing new to tell
		}
		rw := w.CreateMessage(it.seq)
		if uidCmd || condStore { // RFC 9051 §6.4.9, RFC 7162 §3.1
			rw.WriteUID(imap.UID(m.UID))
		}
		if !flags.Silent {
			rw.WriteFlags(imapFlags(m.Flags))
		}
		if condStore {
			rw.WriteModSeq(m.ModSeq)
		}
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// modifiedSet is the [MODIFIED] set of a conditional STORE (RFC 7162
// §3.1.3): UIDs for UID STORE, else the client's sequence numbers.
func modifiedSet(items []item, uids []uint32, uidCmd bool) imap.NumSet {
	if uidCmd {
		var set imap.UIDSet
		for _, u := range uids {
			set.AddNum(imap.UID(u))
		}
		return set
	}
	skip := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		skip[u] = true
	}
	var set imap.SeqSet
	for _, it := range items {
		if skip[it.m.UID] {
			set.AddNum(it.seq)
		}
	}
	return set
}

// Expunge removes \Deleted messages (RFC 9051 §6.4.3), or only those in
// uids (UID EXPUNGE, RFC 4315). The EXPUNGE responses reach every session
// with the folder selected, this one included, through the tracker.
func (s *session) Expunge(_ *imapserver.ExpungeWriter, uids *imap.UIDSet) (err error) {
	defer s.logFailure("EXPUNGE", &err)
	sel := s.sel
	if sel.readOnly {
		return nil // CLOSE after EXAMINE expunges nothing (RFC 9051 §6.4.1)
	}
	var del []uint32
	sel.folder.View(func(msgs []mailbox.Message) {
		for i := range msgs {
			if mailbox.HasFlag(msgs[i].Flags, mailbox.FlagTrashed) && (uids == nil || uids.Contains(imap.UID(msgs[i].UID))) {
				del = append(del, msgs[i].UID)
			}
		}
	})
	_, err = sel.folder.Expunge(del)
	return err
}

// Copy serves COPY with COPYUID (RFC 4315): hard links, no data copied.
func (s *session) Copy(numSet imap.NumSet, dest string) (_ *imap.CopyData, err error) {
	defer s.logFailure("COPY", &err)
	data, _, err := s.copy(numSet, dest, true)
	return data, err
}

// copy is Copy, also returning the source UIDs copied. withQuota holds
// the copies to the account's quota: COPY adds them, a MOVE within the
// account does not (its originals are expunged).
func (s *session) copy(numSet imap.NumSet, dest string, withQuota bool) (*imap.CopyData, []uint32, error) {
	items := s.sel.resolve(numSet)
	warned := func(mailbox.Usage) {}
	if withQuota {
		var adding int64
		for _, it := range items {
			adding += it.m.Size
		}
		var err error
		if warned, err = s.reserveQuotaWarned(adding); err != nil {
			return nil, nil, err
		}
	}
	dst, err := s.openFolder(dest)
	if err != nil {
		warned(mailbox.Usage{})
		return nil, nil, errTryCreate // RFC 9051 §6.4.7
	}
	defer dst.Close()
	src, out, err := s.sel.folder.CopyTo(dst, uidsOf(items))
	// The warning lock (quota warnings on) is held no longer than the copy.
	warned(copiedUsage(items, src))
	if err != nil {
		return nil, nil, err
	}
	if s.srv.OnCopy != nil && len(out) > 0 {
		s.srv.OnCopy(s.account, s.sel.name, dest, func() []*os.File { return openAll(dst, out) })
	}
	return &imap.CopyData{UIDValidity: dst.UIDValidity(), SourceUIDs: uidSet(src), DestUIDs: uidSet(out)}, src, nil
}

// copiedUsage is what copying the messages with source UIDs copied, of
// items, added to the usage.
func copiedUsage(items []item, copied []uint32) mailbox.Usage {
	done := make(map[uint32]bool, len(copied))
	for _, uid := range copied {
		done[uid] = true
	}
	var u mailbox.Usage
	for _, it := range items {
		if done[it.m.UID] {
			u.Bytes, u.Messages = u.Bytes+it.m.Size, u.Messages+1
		}
	}
	return u
}

// Move serves MOVE (RFC 6851): copy, then expunge the originals.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) (err error) {
	defer s.logFailure("MOVE", &err)
	if s.sel.readOnly {
		return errReadOnly
	}
	data, moved, err := s.copy(numSet, dest, false)
	if err != nil {
		return err
	}
	if err := w.WriteCopyData(data); err != nil {
		return err
	}
	_, err = s.sel.folder.Expunge(moved)
	return err
}

// openAll opens the messages with uids that are still there.
func openAll(f *mailbox.Folder, uids []uint32) []*os.File {
	var out []*os.File
	for _, u := range uids {
		if file, err := f.Open(u); err == nil {
			out = append(out, file)
		}
	}
	return out
}

func uidSet(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return set
}

// Append stores a message (RFC 9051 §6.3.12) with APPENDUID (RFC 4315).
func (s *session) Append(name string, r imap.LiteralReader, options *imap.AppendOptions) (_ *imap.AppendData, err error) {
	defer s.logFailure("APPEND", &err)
	f, err := s.openFolder(name)
	if err != nil {
		io.Copy(io.Discard, r)
		return nil, errTryCreate
	}
	defer f.Close()
	// Reserved until the message is stored: the literal arrives after
	// the check, and other sessions' APPENDs meanwhile see it counted.
	limit, release, err := s.reserveQuota(r.Size())
	defer release()
	if err != nil {
		io.Copy(io.Discard, r)
		return nil, err
	}
	// The literal comes at the client's pace: staged before the quota
	// warning locks the account's usage for the short commit.
	staged, err := f.Stage(r, letters(options.Flags), options.Time)
	if err != nil {
		return nil, err
	}
	warned := s.warnQuota(limit)
	uid, err := staged.Commit()
	if err != nil {
		warned(mailbox.Usage{})
		return nil, err
	}
	warned(mailbox.Usage{Bytes: staged.Size(), Messages: 1})
	return &imap.AppendData{UID: imap.UID(uid), UIDValidity: f.UIDValidity()}, nil
}

// AppendLimit advertises APPENDLIMIT (RFC 7889).
func (s *session) AppendLimit() uint32 {
	if s.srv.MaxMessageBytes > 0 && s.srv.MaxMessageBytes < 1<<32 {
		return uint32(s.srv.MaxMessageBytes)
	}
	return 50 << 20
}
