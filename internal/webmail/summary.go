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
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"mailgate/internal/mailbox"
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
}

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
// it. open opens a message of the folder by UID.
func summaries(f *mailbox.Folder, msgs []mailbox.Message) []Summary {
	c := cacheFor(f.Dir())
	out := make([]Summary, len(msgs))
	var missing []int
	c.mu.Lock()
	if !c.loaded {
		c.load()
	}
	for i := range msgs {
		if s, ok := c.m[msgs[i].Base]; ok {
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
		if len(f) != 5 || f[0] == "" {
			continue
		}
		c.m[f[0]] = Summary{From: f[1], FromAddr: f[2], To: f[3], Subject: f[4]}
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
	b.WriteByte('\n')
}

// cached is s as the cache keeps it, in memory as in its file: each field
// cut to fieldMax. Kept whole, a folder of messages with 64 KiB subjects
// (a header the size summaryHeaderMax lets through) would hold 200 times
// the memory maxCaches is counted for.
func (s Summary) cached() Summary {
	return Summary{From: cacheField(s.From), FromAddr: cacheField(s.FromAddr), To: cacheField(s.To), Subject: cacheField(s.Subject)}
}

// cacheField keeps a value on its line and in its column.
func cacheField(v string) string {
	v = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r == 0 {
			return ' '
		}
		return r
	}, v)
	return truncate(v, fieldMax)
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
