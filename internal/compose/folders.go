package compose

import (
	"bytes"
	"time"

	"mailgate/internal/mailbox"
)

// Folder names and Maildir flag letters of what compose files (RFC 6154
// \Drafts and \Sent; RFC 9051 §2.3.2 \Draft and \Seen as Maildir's D and S).
const (
	Drafts     = "Drafts"
	Sent       = "Sent"
	draftFlags = "DS"
	sentFlags  = "S"
)

// Folders files one account's drafts and sent copies through the mailbox
// index, as IMAP APPEND does, so IMAP clients see the change at once
// (reading is webmail.Mailbox's).
type Folders struct {
	MailDir string // the account's Maildir (mailbox.Dir)
	// Quota is the account's mailbox quota in octets (0: unlimited):
	// a save that would go over it fails with mailbox.ErrOverQuota, as
	// IMAP APPEND does.
	Quota int64
}

func (f Folders) open(name string) (*mailbox.Folder, error) {
	if err := mailbox.EnsureDefaults(f.MailDir); err != nil {
		return nil, err
	}
	dir, err := mailbox.FolderDir(f.MailDir, name)
	if err != nil {
		return nil, err
	}
	return mailbox.OpenFolder(dir)
}

// SaveDraft files a draft in Drafts (\Draft \Seen) and drops the version
// it replaces (replaces 0: none). It returns the new UID.
func (f Folders) SaveDraft(msg []byte, replaces uint32, now time.Time) (uint32, error) {
	fo, err := f.open(Drafts)
	if err != nil {
		return 0, err
	}
	defer fo.Close()
	release, err := mailbox.ReserveQuota(f.MailDir, f.Quota, int64(len(msg)))
	defer release()
	if err != nil {
		return 0, err
	}
	uid, err := fo.Append(bytes.NewReader(msg), draftFlags, now)
	if err != nil {
		return 0, err
	}
	if replaces != 0 {
		if _, err := fo.Expunge([]uint32{replaces}); err != nil {
			return uid, err
		}
	}
	return uid, nil
}

// DropDraft removes a draft once it was sent.
func (f Folders) DropDraft(uid uint32) error {
	fo, err := f.open(Drafts)
	if err != nil {
		return err
	}
	defer fo.Close()
	_, err = fo.Expunge([]uint32{uid})
	return err
}

// SaveSent files the copy of a sent message in Sent, \Seen.
func (f Folders) SaveSent(msg []byte, now time.Time) (uint32, error) {
	fo, err := f.open(Sent)
	if err != nil {
		return 0, err
	}
	defer fo.Close()
	release, err := mailbox.ReserveQuota(f.MailDir, f.Quota, int64(len(msg)))
	defer release()
	if err != nil {
		return 0, err
	}
	return fo.Append(bytes.NewReader(msg), sentFlags, now)
}

// MarkAnswered sets \Answered (Maildir R, RFC 9051 §2.3.2) on the message
// a sent reply answers, as mail programs do.
func (f Folders) MarkAnswered(folder string, uid uint32) error {
	fo, err := f.open(folder)
	if err != nil {
		return err
	}
	defer fo.Close()
	_, err = fo.SetFlags([]uint32{uid}, '+', string(mailbox.FlagReplied), nil)
	return err
}
