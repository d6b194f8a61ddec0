package webmail

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"mailgate/internal/mailbox"
	"mailgate/internal/thread"
)

// The UID index (internal/mailbox) keeps what a Maildir name tells: UID,
// flags, size, date. Sorting a folder by sender or subject, or searching
// it, needs those header fields of every message, and reading 100,000
// files per page is not an option; so each folder gets a summary cache
// beside its index, keyed by the message's unique Maildir base name. A
// Maildir file never changes once delivered, so an entry never goes stale;
// a message copied or moved gets a new base name in its new folder and a
// new entry there. The cache is only a cache: lost or torn, it is rebuilt
// from the messages.

// SummaryFile is the cache's file in each folder's Maildir. Dovecot and
// other Maildir readers ignore files they do not know.
const SummaryFile = "mailgate-summary"

// Summary is what the message list shows beyond the index.
type Summary struct {
	From     string // display name, else address, decoded
	FromAddr string
	To       string // the To addresses, decoded, comma separated
	Subject  string // decoded

	// What threading reads (RFC 5256 §3): the Message-ID, the parent
	// chain (References' last thread.MaxReferences msg-ids, else
	// In-Reply-To's first, as "<id> <id>"), the sent date (Unix seconds,
	// 0 when Date is missing or does not parse). Threaded is false for an
	// entry written before these were cached: it is read again.
	MessageID string
	Refs      string
	Sent      int64
	Threaded  bool
}

// refsMax bounds the cached parent chain; the nearest IDs are kept.
const refsMax = 1000

// summaryHeaderMax bounds the header read for a summary: fields past it
// are not in the list (the message view reads the whole message).
const summaryHeaderMax = 64 << 10

// fieldMax bounds each cached field: the list shows a line of each.
const fieldMax = 300

type summaryCache struct {
	mu      sync.Mutex
	dir     string
	m       map[string]Summary
	lines   int
	loaded  bool
	lastUse time.Time
	// orders are whole-folder orders by sort key, valid while the
	// folder holds the same messages.
	orders map[string]folderOrder
	// threads is the conversation view's grouping (conversations.go).
	threads *folderThreads
}

// folderOrder is a folder's ascending order for one sort key, as
// positions in the message list it was made from. A folder's messages
// only ever grow at the end (new UIDs) or leave, so its count and last
// UID say whether it is still the same list.
type folderOrder struct {
	n    int
	last uint32
	idx  []int32
}

func orderKey(msgs []mailbox.Message) (int, uint32) {
	if len(msgs) == 0 {
		return 0, 0
	}
	return len(msgs), msgs[len(msgs)-1].UID
}

// sortedOrder returns a copy of the kept ascending order of msgs by key,
// or nil.
func sortedOrder(f *mailbox.Folder, msgs []mailbox.Message, key string) []int32 {
	if key != BySender && key != BySubject {
		return nil
	}
	c := cacheFor(f.Dir())
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.orders[key]
	n, last := orderKey(msgs)
	if !ok || o.n != n || o.last != last {
		return nil
	}
	return append([]int32(nil), o.idx...)
}

// keepOrder keeps the ascending order idx of msgs by key.
func keepOrder(f *mailbox.Folder, msgs []mailbox.Message, key string, idx []int32) {
	c := cacheFor(f.Dir())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.orders == nil {
		c.orders = map[string]folderOrder{}
	}
	n, last := orderKey(msgs)
	c.orders[key] = folderOrder{n: n, last: last, idx: append([]int32(nil), idx...)}
}

var (
	cachesMu sync.Mutex
	caches   = map[string]*summaryCache{}
)

// maxCaches bounds the folders whose summaries stay in memory (a 100k
// folder's are about 20 MB).
const maxCaches = 32

func cacheFor(dir string) *summaryCache {
	cachesMu.Lock()
	defer cachesMu.Unlock()
	c := caches[dir]
	if c == nil {
		if len(caches) >= maxCaches {
			var oldest *summaryCache
			for _, o := range caches {
				if oldest == nil || o.lastUse.Before(oldest.lastUse) {
					oldest = o
				}
			}
			delete(caches, oldest.dir)
		}
		c = &summaryCache{dir: dir, m: map[string]Summary{}}
		caches[dir] = c
	}
	c.lastUse = time.Now()
	return c
}

// summaries returns the summaries of msgs (indexed like msgs), reading
// the header of each message the cache does not know yet and recording
// it.
func summaries(f *mailbox.Folder, msgs []mailbox.Message) []Summary {
	return summariesFor(f, msgs, false)
}

// summariesFor is summaries; with threaded, an entry an older version
// cached without the threading fields is read again too (the list does
// not need them, so an upgrade does not reread every folder at once).
func summariesFor(f *mailbox.Folder, msgs []mailbox.Message, threaded bool) []Summary {
	c := cacheFor(f.Dir())
	out := make([]Summary, len(msgs))
	var missing []int
	c.mu.Lock()
	if !c.loaded {
		c.load()
	}
	for i := range msgs {
		if s, ok := c.m[msgs[i].Base]; ok && (s.Threaded || !threaded) {
			out[i] = s
		} else {
			missing = append(missing, i)
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out
	}
	// The headers are read without the lock: filling a large folder takes
	// seconds, and other pages of it need the cache meanwhile. One reader
	// per core: it is a file open and a header parse per message.
	readSummaries(f, msgs, missing, out)
	var add bytes.Buffer
	for _, i := range missing {
		writeLine(&add, msgs[i].Base, out[i])
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, i := range missing {
		c.m[msgs[i].Base] = out[i]
	}
	c.append(add.Bytes())
	return out
}

// compact rewrites the cache with only the entries of live when dead
// entries (expunged messages) outnumber them, as the index does.
func compactSummaries(f *mailbox.Folder) {
	c := cacheFor(f.Dir())
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		c.load()
	}
	live := 0
	keep := map[string]Summary{}
	f.View(func(msgs []mailbox.Message) {
		live = len(msgs)
		if c.lines <= 2*live+1000 {
			return
		}
		for i := range msgs {
			if s, ok := c.m[msgs[i].Base]; ok {
				keep[msgs[i].Base] = s
			}
		}
	})
	if c.lines <= 2*live+1000 {
		return
	}
	var b bytes.Buffer
	bases := make([]string, 0, len(keep))
	for k := range keep {
		bases = append(bases, k)
	}
	sort.Strings(bases)
	for _, k := range bases {
		writeLine(&b, k, keep[k])
	}
	tmp := filepath.Join(c.dir, SummaryFile+".tmp")
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return
	}
	if os.Rename(tmp, filepath.Join(c.dir, SummaryFile)) == nil {
		c.m, c.lines = keep, len(keep)
	}
}

func (c *summaryCache) load() {
	c.loaded = true
	b, err := os.ReadFile(filepath.Join(c.dir, SummaryFile))
	if err != nil {
		return
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break // a torn last line: that message is read again
		}
		line := b[:i]
		b = b[i+1:]
		c.lines++
		f := strings.Split(string(line), "\t")
		if (len(f) != 5 && len(f) != 8) || f[0] == "" {
			continue
		}
		s := Summary{From: f[1], FromAddr: f[2], To: f[3], Subject: f[4]}
		if len(f) == 8 {
			// A later version's line: the threading fields follow. A
			// line is only ever cut short by a tear, never edited, so
			// a bad date is a bad file: read the message again.
			sent, err := strconv.ParseInt(f[7], 10, 64)
			if err != nil {
				continue
			}
			s.MessageID, s.Refs, s.Sent, s.Threaded = f[5], f[6], sent, true
		}
		c.m[f[0]] = s.cached()
	}
}

func (c *summaryCache) append(b []byte) {
	// No fsync: a line lost in a crash is one header read again.
	fh, err := os.OpenFile(filepath.Join(c.dir, SummaryFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer fh.Close()
	if _, err := fh.Write(b); err == nil {
		c.lines += bytes.Count(b, []byte{'\n'})
	}
}

func writeLine(b *bytes.Buffer, base string, s Summary) {
	b.WriteString(cacheField(base))
	for _, v := range []string{s.From, s.FromAddr, s.To, s.Subject} {
		b.WriteByte('\t')
		b.WriteString(cacheField(v))
	}
	// An entry without the threading fields keeps the old line, so it
	// is read again rather than taken for a message without them.
	if s.Threaded {
		b.WriteByte('\t')
		b.WriteString(cacheField(s.MessageID))
		b.WriteByte('\t')
		b.WriteString(cacheRefs(s.Refs))
		b.WriteByte('\t')
		b.WriteString(strconv.FormatInt(s.Sent, 10))
	}
	b.WriteByte('\n')
}

// cached is s as the cache keeps it, in memory as in its file: each field
// cut to fieldMax. Kept whole, a folder of messages with 64 KiB subjects
// (a header the size summaryHeaderMax lets through) would hold 200 times
// the memory maxCaches is counted for.
func (s Summary) cached() Summary {
	return Summary{From: cacheField(s.From), FromAddr: cacheField(s.FromAddr), To: cacheField(s.To), Subject: cacheField(s.Subject),
		MessageID: cacheField(s.MessageID), Refs: cacheRefs(s.Refs), Sent: s.Sent, Threaded: s.Threaded}
}

// cacheRefs is a parent chain cut to refsMax at an ID boundary, the
// nearest (last) IDs kept.
func cacheRefs(v string) string {
	v = oneColumn(v)
	for len(v) > refsMax {
		i := strings.IndexByte(v, ' ')
		if i < 0 {
			return ""
		}
		v = v[i+1:]
	}
	return v
}

// cacheField keeps a value on its line and in its column.
func cacheField(v string) string {
	return truncate(oneColumn(v), fieldMax)
}

// oneColumn replaces the characters that would break v's line or column.
func oneColumn(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r == 0 {
			return ' '
		}
		return r
	}, v)
}

func truncate(v string, n int) string {
	if len(v) <= n {
		return v
	}
	v = v[:n]
	for len(v) > 0 && !utf8.ValidString(v) {
		v = v[:len(v)-1]
	}
	return v
}

// readSummaries sets out[i] to the summary of msgs[i] for every i in
// missing, spread over the cores.
func readSummaries(f *mailbox.Folder, msgs []mailbox.Message, missing []int, out []Summary) {
	workers := min(runtime.GOMAXPROCS(0), (len(missing)+63)/64)
	if workers <= 1 {
		for _, i := range missing {
			out[i] = readSummary(f, msgs[i].UID).cached()
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(missing) {
					return
				}
				i := missing[k]
				out[i] = readSummary(f, msgs[i].UID).cached()
			}
		})
	}
	wg.Wait()
}

func readSummary(f *mailbox.Folder, uid uint32) Summary {
	fh, err := f.Open(uid)
	if err != nil {
		return Summary{}
	}
	defer fh.Close()
	h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(fh, summaryHeaderMax)))
	if err != nil && len(h.Map()) == 0 && !errors.Is(err, io.EOF) {
		return Summary{}
	}
	return summaryOf(gomessage.Header{Header: h})
}

// summaryOf decodes the fields the list shows: RFC 2047 encoded words in
// any charset go-message knows, and addresses per RFC 5322 §3.4 (falling
// back to the raw text of a field that does not parse).
func summaryOf(h gomessage.Header) Summary {
	var s Summary
	s.Subject = oneLine(decodeWords(h.Get("Subject")))
	from := h.Get("From")
	if list, err := parseAddressList(from); err == nil && len(list) > 0 {
		s.FromAddr = list[0].Address
		s.From = list[0].Name
		if s.From == "" {
			s.From = list[0].Address
		}
	} else {
		s.From = oneLine(decodeWords(from))
	}
	if list, err := parseAddressList(h.Get("To")); err == nil {
		var names []string
		for _, a := range list {
			if a.Name != "" {
				names = append(names, a.Name+" <"+a.Address+">")
			} else {
				names = append(names, a.Address)
			}
		}
		s.To = strings.Join(names, ", ")
	} else {
		s.To = oneLine(decodeWords(h.Get("To")))
	}
	s.Threaded = true
	if ids := thread.MessageIDs(h.Get("Message-Id"), 1); len(ids) == 1 {
		s.MessageID = "<" + ids[0] + ">"
	}
	refs := thread.MessageIDs(h.Get("References"), thread.MaxReferences)
	if len(refs) == 0 {
		// RFC 5256 §3 step 1A: In-Reply-To's first msg-id when there
		// are no References.
		if irt := thread.MessageIDs(h.Get("In-Reply-To"), thread.MaxReferences); len(irt) > 0 {
			refs = irt[:1]
		}
	}
	for i := range refs {
		refs[i] = "<" + refs[i] + ">"
	}
	s.Refs = strings.Join(refs, " ")
	if t, err := mail.ParseDate(h.Get("Date")); err == nil {
		s.Sent = t.Unix()
	}
	return s
}

var addrParser = mail.AddressParser{WordDecoder: wordDecoder}

func parseAddressList(v string) ([]*mail.Address, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	return addrParser.ParseList(v)
}

// oneLine unfolds a field value (RFC 5322 §2.2.3).
func oneLine(v string) string {
	v = strings.NewReplacer("\r\n", "", "\n", "", "\r", "", "\t", " ").Replace(v)
	return strings.TrimSpace(v)
}

// ThreadMessages returns what threading reads of msgs, indexed like msgs
// and named by UID, from the summary cache (filling it as the list does):
// IMAP THREAD and the conversation view thread the same cached fields.
func ThreadMessages(f *mailbox.Folder, msgs []mailbox.Message) []thread.Message {
	sums := summariesFor(f, msgs, true)
	compactSummaries(f)
	out := make([]thread.Message, len(msgs))
	for i, s := range sums {
		// RFC 5256 §2.2: without a usable Date, the internal date.
		sent := s.Sent
		if sent == 0 {
			sent = msgs[i].Date
		}
		out[i] = thread.Message{Num: msgs[i].UID, MessageID: s.MessageID, References: s.Refs, Subject: s.Subject, Date: time.Unix(sent, 0)}
	}
	return out
}
