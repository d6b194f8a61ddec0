// Package summary is a folder's message summary cache: the header fields
// a message list shows and searches (sender, recipients, subject) and
// what threading reads (Message-ID, the parent chain, the sent date), for
// every message of a Maildir folder, kept on disk beside the folder's UID
// index and in memory.
//
// The UID index (internal/mailbox) keeps what a Maildir name tells: UID,
// flags, size, date. Sorting a folder by sender or subject, searching it,
// or threading it (IMAP THREAD, the webmail's conversations) needs header
// fields of every message, and reading 100,000 files per page is not an
// option; so each folder gets this cache, keyed by the message's unique
// Maildir base name. A Maildir file never changes once delivered, so an
// entry never goes stale; a message copied or moved gets a new base name
// in its new folder and a new entry there. The cache is only a cache:
// lost or torn, it is rebuilt from the messages.
package summary

import (
	"bufio"
	"errors"
	"io"
	"net/mail"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"mailgate/internal/mailbox"
	"mailgate/internal/message"
	"mailgate/internal/thread"
)

// File is the cache's file in each folder's Maildir. Dovecot and other
// Maildir readers ignore files they do not know.
const File = "mailgate-summary"

// Summary is what a list shows of a message beyond the index.
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

	// What IMAP SORT reads beyond the above (RFC 5256 §3, RFC 5957 §3):
	// the first To address, its display name else that address, and the
	// first Cc address. Sortable is false for an entry written before
	// these were cached: it is read again.
	ToAddr    string
	ToDisplay string
	CcAddr    string
	Sortable  bool
}

// refsMax bounds the cached parent chain; the nearest IDs are kept.
const refsMax = 1000

// headerMax bounds the header read for a summary: fields past it are not
// in the list (the webmail's message view reads the whole message).
const headerMax = 64 << 10

// fieldMax bounds each cached field: a list shows a line of each.
const fieldMax = 300

// cached is s as the cache keeps it, in memory as in its file: each field
// cut to fieldMax. Kept whole, a folder of messages with 64 KiB subjects
// (a header the size headerMax lets through) would hold 200 times the
// memory maxCaches is counted for.
func (s Summary) cached() Summary {
	return Summary{From: cacheField(s.From), FromAddr: cacheField(s.FromAddr), To: cacheField(s.To), Subject: cacheField(s.Subject),
		MessageID: cacheField(s.MessageID), Refs: cacheRefs(s.Refs), Sent: s.Sent, Threaded: s.Threaded,
		ToAddr: cacheField(s.ToAddr), ToDisplay: cacheField(s.ToDisplay), CcAddr: cacheField(s.CcAddr), Sortable: s.Sortable}
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

// readAll sets out[i] to the summary of msgs[i] for every i in missing,
// spread over the cores: it is a file open and a header parse per
// message.
func readAll(f *mailbox.Folder, msgs []mailbox.Message, missing []int, out []Summary) {
	workers := min(runtime.GOMAXPROCS(0), (len(missing)+63)/64)
	if workers <= 1 {
		for _, i := range missing {
			out[i] = read(f, msgs[i].UID).cached()
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
				out[i] = read(f, msgs[i].UID).cached()
			}
		})
	}
	wg.Wait()
}

func read(f *mailbox.Folder, uid uint32) Summary {
	fh, err := f.Open(uid)
	if err != nil {
		return Summary{}
	}
	defer fh.Close()
	h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(fh, headerMax)))
	if err != nil && len(h.Map()) == 0 && !errors.Is(err, io.EOF) {
		return Summary{}
	}
	return FromHeader(gomessage.Header{Header: h})
}

// FromHeader decodes the fields a summary keeps: RFC 2047 encoded words
// in any charset go-message knows, and addresses per RFC 5322 §3.4
// (falling back to the raw text of a field that does not parse).
func FromHeader(h gomessage.Header) Summary {
	var s Summary
	s.Subject = message.OneLine(message.DecodeWords(h.Get("Subject")))
	from := h.Get("From")
	if list, err := message.ParseAddressList(from); err == nil && len(list) > 0 {
		s.FromAddr = list[0].Address
		s.From = list[0].Name
		if s.From == "" {
			s.From = list[0].Address
		}
	} else {
		s.From = message.OneLine(message.DecodeWords(from))
	}
	s.To = message.AddressText(h.Get("To"))
	if list, err := message.ParseAddressList(h.Get("To")); err == nil && len(list) > 0 {
		s.ToAddr = list[0].Address
		s.ToDisplay = list[0].Name
		if s.ToDisplay == "" {
			s.ToDisplay = list[0].Address
		}
	}
	if list, err := message.ParseAddressList(h.Get("Cc")); err == nil && len(list) > 0 {
		s.CcAddr = list[0].Address
	}
	s.Threaded, s.Sortable = true, true
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
