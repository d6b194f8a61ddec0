package mailbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"mailgate/internal/atomicfile"
	"mailgate/internal/dirsync"
)

// Copy delivers one message into several Maildirs while writing it once:
// the first delivery writes and fsyncs a nameless file, each delivery
// (that one included) links it into its Maildir and fsyncs the directory
// through dirsync, shared with concurrent deliveries into the same
// Maildir. The Maildirs are on one file system in the usual layout; one
// on another gets its own copy. Maildir messages are never changed in
// place (flags are renames), so the shared inode is as good as separate
// files, and one name removed leaves the others.
//
// A Copy is for a message's first delivery (no earlier copy can exist):
// it does not look for one, and an existing name is taken as its own.
type Copy struct {
	body []byte
	f    *atomicfile.File
}

// NewCopy starts a Copy of body (CRLF line ends, as stored).
func NewCopy(body []byte) *Copy { return &Copy{body: body} }

// Close releases the file; the names given stay.
func (c *Copy) Close() {
	if c.f != nil {
		c.f.Abort()
		c.f = nil
	}
}

// Deliver stores the message in dir: in new/ as name, or with flag
// letters (RFC 5232 imap4flags) in cur/ as name:2,letters, as
// DeliverFlagged does.
func (c *Copy) Deliver(dir, name, letters string) error {
	_, err := c.DeliverCounted(dir, name, letters)
	return err
}

// DeliverCounted is Deliver that also says what it added to the account's
// usage (nothing when the message was there already), as
// mailbox.DeliverCounted does.
func (c *Copy) DeliverCounted(dir, name, letters string) (Usage, error) {
	sub, file := "new", name
	if letters = normFlags(letters); letters != "" {
		sub, file = "cur", name+":2,"+letters
	}
	return trackUsage(dir, func() (Usage, error) { return c.deliver(dir, sub, file) })
}

// deliver links the message in as dir/sub/file and says what it added to
// the account's usage.
func (c *Copy) deliver(dir, sub, file string) (Usage, error) {
	dest := filepath.Join(dir, sub, file)
	if c.f == nil {
		if err := c.write(dir); err != nil {
			return Usage{}, err
		}
	}
	err := c.f.Link(dest)
	if errors.Is(err, os.ErrNotExist) && !pathExists(filepath.Join(dir, sub)) {
		// First delivery to this mailbox.
		if err := Ensure(dir); err != nil {
			return Usage{}, err
		}
		err = c.f.Link(dest)
	}
	if errors.Is(err, atomicfile.ErrExist) {
		return Usage{}, dirsync.Dir(filepath.Join(dir, sub)) // taken as its own
	}
	if err != nil {
		// Another file system, or the first name already expunged (a
		// nameless inode that had a name cannot be linked again): this
		// Maildir gets a copy of its own.
		return writeInto(dir, sub, file, bytes.NewReader(c.body))
	}
	return Usage{Bytes: int64(len(c.body)), Messages: 1}, dirsync.Dir(filepath.Join(dir, sub))
}

// write writes and fsyncs the shared file in dir's tmp/.
func (c *Copy) write(dir string) error {
	f, err := atomicfile.Create(filepath.Join(dir, "tmp"))
	if errors.Is(err, os.ErrNotExist) {
		if err := Ensure(dir); err != nil { // first delivery to this mailbox
			return err
		}
		f, err = atomicfile.Create(filepath.Join(dir, "tmp"))
	}
	if err != nil {
		return fmt.Errorf("maildir %s: %w", dir, err)
	}
	if _, err := f.Write(c.body); err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Abort()
		return fmt.Errorf("maildir %s: %w", dir, err)
	}
	c.f = f
	return nil
}
