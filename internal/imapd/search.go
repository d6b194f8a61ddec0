package imapd

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"mailgate/internal/mailbox"
	"mailgate/internal/message"
)

// Search serves SEARCH (RFC 9051 §6.4.4) with ESEARCH results and SAVE
// (RFC 5182). Flags, dates, sizes and numbers come from the index; only
// header and text criteria read message files.
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (_ *imap.SearchData, err error) {
	defer s.logFailure("SEARCH", &err)
	if searchKeys(criteria, 0) > maxSearchKeys {
		return nil, errSearchTooBig
	}
	var (
		data   imap.SearchData
		seqSet imap.SeqSet
		uidSet imap.UIDSet
	)
	for _, it := range s.sel.matching(criteria) {
		uidSet.AddNum(imap.UID(it.m.UID))
		num := it.seq
		if kind == imapserver.NumKindUID {
			num = it.m.UID
		} else {
			seqSet.AddNum(it.seq)
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		if num > data.Max {
			data.Max = num
		}
		data.Count++
		// RFC 7162 §3.1.5: the highest mod-sequence found (sent only
		// when the search had a MODSEQ key).
		data.ModSeq = max(data.ModSeq, it.m.ModSeq)
	}
	if kind == imapserver.NumKindUID {
		data.All = uidSet
	} else {
		data.All = seqSet
	}
	if options.ReturnSave {
		s.sel.searchRes = uidSet
	}
	return &data, nil
}

// matching returns the selected folder's messages that criteria match,
// in order: SEARCH and THREAD (RFC 5256 §4) alike.
func (sel *selected) matching(criteria *imap.SearchCriteria) []item {
	var all []item
	sel.folder.View(func(msgs []mailbox.Message) {
		sel.staticCriteria(criteria, msgs)
		all = make([]item, 0, len(msgs))
		for i := range msgs {
			all = append(all, item{sel.tracker.EncodeSeqNum(uint32(i + 1)), msgs[i]})
		}
	})
	out := all[:0]
	for _, it := range all {
		if it.seq == 0 {
			continue
		}
		mt := &matcher{sel: sel, it: it}
		if mt.match(criteria) {
			out = append(out, it)
		}
	}
	return out
}

// matchingMessages is matching for SORT and THREAD (RFC 5256), which
// order what SEARCH would find: the key bound checked, and the messages
// alongside their items for internal/summary.
func (sel *selected) matchingMessages(criteria *imap.SearchCriteria) ([]item, []mailbox.Message, error) {
	if searchKeys(criteria, 0) > maxSearchKeys {
		return nil, nil, errSearchTooBig
	}
	items := sel.matching(criteria)
	msgs := make([]mailbox.Message, len(items))
	for i, it := range items {
		msgs[i] = it.m
	}
	return items, msgs, nil
}

// maxSearchKeys bounds the keys of one SEARCH, NOT and OR counted: every
// key is evaluated against every message, and OR/NOT nest as deep as they
// are many (go-imap parses them recursively; its 50 KiB command line and
// 1000-level list limit bound the parse itself). Real clients send a few
// keys, a long OR of addresses a few hundred.
const maxSearchKeys = 1000

var errSearchTooBig = &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeLimit,
	Text: fmt.Sprintf("SEARCH has more than %d keys (NOT and OR included); split it", maxSearchKeys)}

// searchKeys counts the keys of c on top of n, stopping once past
// maxSearchKeys.
func searchKeys(c *imap.SearchCriteria, n int) int {
	n += len(c.SeqNum) + len(c.UID) + len(c.Flag) + len(c.NotFlag) + len(c.Header) + len(c.Body) + len(c.Text)
	for _, t := range []time.Time{c.Since, c.Before, c.SentSince, c.SentBefore} {
		if !t.IsZero() {
			n++
		}
	}
	if c.Larger != 0 {
		n++
	}
	if c.Smaller != 0 {
		n++
	}
	if c.ModSeq != nil {
		n++
	}
	for i := range c.Not {
		if n > maxSearchKeys {
			return n
		}
		n = searchKeys(&c.Not[i], n+1)
	}
	for i := range c.Or {
		if n > maxSearchKeys {
			return n
		}
		n = searchKeys(&c.Or[i][1], searchKeys(&c.Or[i][0], n+1))
	}
	return n
}

func (sel *selected) staticCriteria(c *imap.SearchCriteria, msgs []mailbox.Message) {
	var seqs []imap.SeqSet
	for _, set := range c.SeqNum {
		switch ns := sel.static(set, msgs).(type) {
		case imap.SeqSet:
			seqs = append(seqs, ns)
		case imap.UIDSet:
			c.UID = append(c.UID, ns)
		}
	}
	c.SeqNum = seqs
	for i, set := range c.UID {
		c.UID[i] = sel.static(set, msgs).(imap.UIDSet)
	}
	for i := range c.Not {
		sel.staticCriteria(&c.Not[i], msgs)
	}
	for i := range c.Or {
		sel.staticCriteria(&c.Or[i][0], msgs)
		sel.staticCriteria(&c.Or[i][1], msgs)
	}
}

// matcher evaluates criteria against one message, reading its file and
// parsing its MIME structure at most once and only when a criterion needs
// the content.
type matcher struct {
	sel  *selected
	it   item
	buf  []byte
	root *message.Part
}

func (mt *matcher) parsed() ([]byte, *message.Part) {
	if mt.root == nil {
		mt.buf, _ = mt.sel.readMessage(mt.it.m.UID)
		mt.root = message.ParseMIME(mt.buf)
	}
	return mt.buf, mt.root
}

func (mt *matcher) match(c *imap.SearchCriteria) bool {
	m := &mt.it.m
	for _, set := range c.SeqNum {
		if !set.Contains(mt.it.seq) {
			return false
		}
	}
	for _, set := range c.UID {
		if !set.Contains(imap.UID(m.UID)) {
			return false
		}
	}
	if !matchDate(time.Unix(m.Date, 0), c.Since, c.Before) {
		return false
	}
	for _, f := range c.Flag {
		if !hasIMAPFlag(m.Flags, f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if hasIMAPFlag(m.Flags, f) {
			return false
		}
	}
	if c.Larger != 0 && m.Size <= c.Larger {
		return false
	}
	if c.Smaller != 0 && m.Size >= c.Smaller {
		return false
	}
	// RFC 7162 §3.1.5: MODSEQ n holds for mod-sequences >= n; flags have
	// no mod-sequences of their own here, so the entry name is moot.
	if c.ModSeq != nil && m.ModSeq < c.ModSeq.ModSeq {
		return false
	}
	if len(c.Header) > 0 || !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		_, root := mt.parsed()
		h := mail.Header{Header: root.Header}
		for _, hc := range c.Header {
			if !matchHeaderFields(h.FieldsByKey(hc.Key), hc.Value) {
				return false
			}
		}
		if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
			t, err := h.Date()
			if err != nil || !matchDate(t, c.SentSince, c.SentBefore) {
				return false
			}
		}
	}
	for _, text := range c.Text {
		if buf, root := mt.parsed(); !matchPart(buf, root, text, true) {
			return false
		}
	}
	for _, body := range c.Body {
		if buf, root := mt.parsed(); !matchPart(buf, root, body, false) {
			return false
		}
	}
	for i := range c.Not {
		if mt.match(&c.Not[i]) {
			return false
		}
	}
	for i := range c.Or {
		if !mt.match(&c.Or[i][0]) && !mt.match(&c.Or[i][1]) {
			return false
		}
	}
	return true
}

// matchDate compares dates without time zone, as RFC 9051 §6.4.4 wants.
func matchDate(t, since, before time.Time) bool {
	t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && t.Before(since) {
		return false
	}
	if !before.IsZero() && !t.Before(before) {
		return false
	}
	return true
}

func matchHeaderFields(fields gomessage.HeaderFields, pattern string) bool {
	if pattern == "" {
		return fields.Len() > 0
	}
	pattern = strings.ToLower(pattern)
	for fields.Next() {
		v, _ := fields.Text()
		if strings.Contains(strings.ToLower(v), pattern) {
			return true
		}
	}
	return false
}

// matchPart looks for pattern in the text of part p of msg: its header
// when includeHeader (SEARCH TEXT), the decoded bodies of its text parts,
// and those of the messages it encapsulates, as deep as ParseMIME went.
func matchPart(msg []byte, p *message.Part, pattern string, includeHeader bool) bool {
	if pattern == "" {
		return true
	}
	if includeHeader && matchHeaderFields(p.Header.Fields(), pattern) {
		return true
	}
	for _, c := range p.Children {
		if matchPart(msg, c, pattern, includeHeader) {
			return true
		}
	}
	if p.Message != nil {
		return matchPart(msg, p.Message, pattern, includeHeader)
	}
	if p.IsMultipart() || !strings.HasPrefix(p.Type, "text/") {
		return false
	}
	// go-message undoes the transfer encoding and, where it knows the
	// charset, converts to UTF-8; otherwise the bytes are searched as is.
	var body io.Reader = bytes.NewReader(p.Body(msg))
	if e, err := gomessage.New(p.Header, body); e != nil && (err == nil || gomessage.IsUnknownCharset(err)) {
		body = e.Body
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return false
	}
	return bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(pattern)))
}
