package compose

import (
	"bytes"
	"time"

	"mailgate/internal/mailbox"
	"mailgate/internal/quotawarn"
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
	// Account and Warner: a save that takes the usage past one of
	// [mailbox] quota_warnings stores the notice in INBOX, as a delivery
	// or an IMAP APPEND does (internal/quotawarn). Warner nil: none.
	Account string
	Warner  *quotawarn.Warner
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
	done, err := f.Warner.Reserve(f.Account, f.MailDir, f.Quota, int64(len(msg)))
	if err != nil {
		return 0, err
	}
	// The quota warning is judged on the change net of the version
	// dropped, so that saving a draft again and again at the threshold
	// does not warn at each save.
	var added mailbox.Usage
	defer func() { done(added) }()
	uid, err := fo.Append(bytes.NewReader(msg), draftFlags, now)
	if err != nil {
		return 0, err
	}
	added = mailbox.Usage{Bytes: int64(len(msg)), Messages: 1}
	if replaces != 0 {
		old, found := messageSize(fo, replaces)
		gone, err := fo.Expunge([]uint32{replaces})
		if found && len(gone) == 1 {
			added.Bytes, added.Messages = added.Bytes-old, 0
		}
		if err != nil {
			return uid, err
		}
	}
	return uid, nil
}

// messageSize is the size of the message uid in fo, as the usage counts it.
func messageSize(fo *mailbox.Folder, uid uint32) (size int64, found bool) {
	fo.View(func(msgs []mailbox.Message) {
		for _, m := range msgs {
			if m.UID == uid {
				size, found = m.Size, true
			}
		}
	})
	return size, found
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
	done, err := f.Warner.Reserve(f.Account, f.MailDir, f.Quota, int64(len(msg)))
	if err != nil {
		return 0, err
	}
	uid, err := fo.Append(bytes.NewReader(msg), sentFlags, now)
	if err != nil {
		done(mailbox.Usage{})
		return 0, err
	}
	done(mailbox.Usage{Bytes: int64(len(msg)), Messages: 1})
	return uid, nil
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
