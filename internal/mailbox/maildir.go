// Package mailbox stores mail in Maildir++ (the layout Dovecot and Courier
// read): <root>/<domain>/<local>/{tmp,new,cur}, subfolders as .Name.
package mailbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailgate/internal/atomicfile"
	"mailgate/internal/dirsync"
)

// Ensure creates a Maildir's tmp, new and cur directories.
//
// tmp comes last: a delivery that finds tmp/ takes the Maildir as made and
// links into new/ at once, so new/ must already exist then (two first
// deliveries at once to a new mailbox failed with ENOENT otherwise).
func Ensure(dir string) error {
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// deliveryHostEscape keeps / and : (the info separator) out of the host
// part of a name, as the Maildir spec asks.
var deliveryHostEscape = strings.NewReplacer("/", `\057`, ":", `\072`)

// DeliveryName is the Maildir file name for one delivery. It is made from
// the spool entry and recipient rather than from the clock, so a delivery
// retried after a crash finds its own earlier copy instead of adding a
// second one.
func DeliveryName(received time.Time, key, host string, size int64) string {
	host = deliveryHostEscape.Replace(host)
	return fmt.Sprintf("%d.M%dK%s.%s,S=%d", received.Unix(), received.Nanosecond()/1000, key, host, size)
}

// Deliver writes body into dir/new under name, durably: the file is
// written in tmp/, fsynced, linked into new/ and new/ is fsynced.
// If a message of that name is already in new/ or cur/, Deliver does
// nothing and reports done: delivery is idempotent.
func Deliver(dir, name string, body io.Reader) error {
	_, err := DeliverCounted(dir, name, "", body, false)
	return err
}

// DeliverNew is Deliver for a message known not to be there yet (its first
// attempt): it skips the look for an earlier copy, which in a large cur/
// costs a directory listing.
func DeliverNew(dir, name string, body io.Reader) error {
	_, err := DeliverCounted(dir, name, "", body, true)
	return err
}

// DeliverFlagged is Deliver for a message that arrives with flags (a Sieve
// script's imap4flags, RFC 5232): flag letters put it straight into cur/
// as name:2,letters, as Dovecot's deliver does; without letters it goes to
// new/ as any delivery.
func DeliverFlagged(dir, name, letters string, body io.Reader) error {
	_, err := DeliverCounted(dir, name, letters, body, false)
	return err
}

// DeliverCounted is DeliverFlagged (DeliverNew's shortcut when fresh: the
// message cannot be there yet) that also says what the delivery added to
// the account's usage: nothing when the message was there already (an
// attempt cut short by a crash stored it). Delivery's quota warnings add
// it to the usage its quota check read, instead of reading the UsageFile
// again.
func DeliverCounted(dir, name, letters string, body io.Reader, fresh bool) (Usage, error) {
	sub, file := "new", name
	if letters = normFlags(letters); letters != "" {
		sub, file = "cur", name+":2,"+letters
	}
	if !fresh && exists(dir, name) {
		return Usage{}, nil
	}
	return trackUsage(dir, func() (Usage, error) { return writeInto(dir, sub, file, body) })
}

func writeInto(dir, sub, file string, body io.Reader) (Usage, error) {
	// The file is born nameless in tmp/ (O_TMPFILE) and linked into new/
	// (or cur/) whole: Maildir's tmp-then-link protocol, without a name
	// to clean up.
	f, err := atomicfile.Create(filepath.Join(dir, "tmp"))
	if errors.Is(err, os.ErrNotExist) {
		// First delivery to this mailbox.
		if err := Ensure(dir); err != nil {
			return Usage{}, err
		}
		f, err = atomicfile.Create(filepath.Join(dir, "tmp"))
	}
	if err != nil {
		return Usage{}, fmt.Errorf("maildir %s: %w", dir, err)
	}
	n, err := io.Copy(f, body)
	if err != nil {
		f.Abort()
		return Usage{}, fmt.Errorf("maildir %s: %w", dir, err)
	}
	added := Usage{Bytes: n, Messages: 1}
	// An existing name is an earlier copy of this very delivery.
	if err := f.Commit(filepath.Join(dir, sub, file)); err != nil {
		if !errors.Is(err, atomicfile.ErrExist) {
			return Usage{}, fmt.Errorf("maildir %s: %w", dir, err)
		}
		added = Usage{}
	}
	// Shared with concurrent deliveries into the same Maildir.
	return added, dirsync.Dir(filepath.Join(dir, sub))
}

func exists(dir, name string) bool {
	if _, err := os.Stat(filepath.Join(dir, "new", name)); err == nil {
		return true
	}
	m, _ := filepath.Glob(filepath.Join(dir, "cur", globEscape(name)+":2,*"))
	return len(m) > 0
}

func globEscape(s string) string { return globEscaper.Replace(s) }

var globEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`)

func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
