package summary

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailgate/internal/mailbox"
)

// folderCache is one folder's summaries in memory, with what its users
// keep of the whole folder (Keep).
type folderCache struct {
	mu      sync.Mutex
	dir     string
	m       map[string]Summary
	lines   int
	loaded  bool
	lastUse time.Time
	kept    map[string]keptValue
}

// keptValue is a value made from a folder's whole message list, valid
// while the folder holds the same messages. A folder's messages only ever
// grow at the end (new UIDs) or leave, so its count and last UID say
// whether it is still the same list.
type keptValue struct {
	n    int
	last uint32
	v    any
}

func listKey(msgs []mailbox.Message) (int, uint32) {
	if len(msgs) == 0 {
		return 0, 0
	}
	return len(msgs), msgs[len(msgs)-1].UID
}

var (
	cachesMu sync.Mutex
	caches   = map[string]*folderCache{}
)

// maxCaches bounds the folders whose summaries stay in memory (a 100k
// folder's are about 20 MB).
const maxCaches = 32

func cacheFor(dir string) *folderCache {
	cachesMu.Lock()
	defer cachesMu.Unlock()
	c := caches[dir]
	if c == nil {
		if len(caches) >= maxCaches {
			var oldest *folderCache
			for _, o := range caches {
				if oldest == nil || o.lastUse.Before(oldest.lastUse) {
					oldest = o
				}
			}
			delete(caches, oldest.dir)
		}
		c = &folderCache{dir: dir, m: map[string]Summary{}}
		caches[dir] = c
	}
	c.lastUse = time.Now()
	return c
}

// Keep keeps v, made from the whole of msgs (a sorted order, a threading:
// minutes of work over 100,000 messages, not to be redone per page),
// beside f's summaries under name, until a message comes or goes. v is
// shared: whoever gets it from Kept must not change it.
func Keep(f *mailbox.Folder, msgs []mailbox.Message, name string, v any) {
	c := cacheFor(f.Dir())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kept == nil {
		c.kept = map[string]keptValue{}
	}
	n, last := listKey(msgs)
	c.kept[name] = keptValue{n: n, last: last, v: v}
}

// Kept returns the value kept under name if f still holds the messages
// it was made from (msgs is the folder's list now).
func Kept[T any](f *mailbox.Folder, msgs []mailbox.Message, name string) (T, bool) {
	c := cacheFor(f.Dir())
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.kept[name]
	n, last := listKey(msgs)
	if !ok || k.n != n || k.last != last {
		var zero T
		return zero, false
	}
	v, ok := k.v.(T)
	return v, ok
}

// Of returns the summaries of msgs (indexed like msgs), reading the
// header of each message the cache does not know yet and recording it.
func Of(f *mailbox.Folder, msgs []mailbox.Message) []Summary {
	return of(f, msgs, needList)
}

// need is what a reader of summaries needs of an entry an older version
// cached: a list takes any, threading needs the threading fields, SORT
// also the sort fields. An entry without them is read again (a list does
// not need them, so an upgrade does not reread every folder at once).
type need int

const (
	needList need = iota
	needThread
	needSort
)

func (s Summary) has(n need) bool {
	switch n {
	case needThread:
		return s.Threaded
	case needSort:
		return s.Sortable
	}
	return true
}

// of is Of, reading again the entries that lack what n needs.
func of(f *mailbox.Folder, msgs []mailbox.Message, n need) []Summary {
	c := cacheFor(f.Dir())
	out := make([]Summary, len(msgs))
	var missing []int
	c.mu.Lock()
	if !c.loaded {
		c.load()
	}
	for i := range msgs {
		if s, ok := c.m[msgs[i].Base]; ok && s.has(n) {
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
	// seconds, and other pages of it need the cache meanwhile.
	readAll(f, msgs, missing, out)
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

// Compact rewrites f's cache with only the entries of its messages when
// dead entries (expunged messages) outnumber them, as the index does.
// Call it after reading the whole folder.
func Compact(f *mailbox.Folder) {
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
	tmp := filepath.Join(c.dir, File+".tmp")
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return
	}
	if os.Rename(tmp, filepath.Join(c.dir, File)) == nil {
		c.m, c.lines = keep, len(keep)
	}
}

// The file is a line per message, tab-separated: base name, From,
// FromAddr, To, Subject, and since threading Message-ID, the parent
// chain and the sent date, and since SORT the first To address, its
// display text and the first Cc address. Lines of five fields (the
// version before threading) and eight (before SORT) still load.

func (c *folderCache) load() {
	c.loaded = true
	b, err := os.ReadFile(filepath.Join(c.dir, File))
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
		if (len(f) != 5 && len(f) != 8 && len(f) != 11) || f[0] == "" {
			continue
		}
		s := Summary{From: f[1], FromAddr: f[2], To: f[3], Subject: f[4]}
		if len(f) >= 8 {
			// A later version's line: the threading fields follow. A
			// line is only ever cut short by a tear, never edited, so
			// a bad date is a bad file: read the message again.
			sent, err := strconv.ParseInt(f[7], 10, 64)
			if err != nil {
				continue
			}
			s.MessageID, s.Refs, s.Sent, s.Threaded = f[5], f[6], sent, true
		}
		if len(f) == 11 {
			s.ToAddr, s.ToDisplay, s.CcAddr, s.Sortable = f[8], f[9], f[10], true
		}
		c.m[f[0]] = s.cached()
	}
}

func (c *folderCache) append(b []byte) {
	// No fsync: a line lost in a crash is one header read again.
	fh, err := os.OpenFile(filepath.Join(c.dir, File), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
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
		if s.Sortable {
			for _, v := range []string{s.ToAddr, s.ToDisplay, s.CcAddr} {
				b.WriteByte('\t')
				b.WriteString(cacheField(v))
			}
		}
	}
	b.WriteByte('\n')
}
