package webmail

import (
	"errors"
	"fmt"
	"os"

	"mailgate/internal/mailbox"
)

// Flag changes, with the letters of mailbox (Maildir "info", the flags
// IMAP clients see as \Seen and \Flagged).
const (
	MarkRead    = "read"
	MarkUnread  = "unread"
	MarkFlagged = "flag"
	MarkUnflag  = "unflag"
)

// ErrBadAction: an unknown mark or an action that does not apply here
// (emptying a folder other than Trash or Junk, moving a message onto its
// own folder).
var ErrBadAction = errors.New("action not possible here")

// Mark changes the flags of uids in folder. The Folder is the one IMAP
// sessions share, so theirs hear of it (untagged FETCH FLAGS, RFC 9051
// §7.5.2) and the file names in cur/ carry it (Maildir info).
func (mb *Mailbox) Mark(folder string, uids []uint32, mark string) error {
	var op byte
	var letter string
	switch mark {
	case MarkRead:
		op, letter = '+', string(mailbox.FlagSeen)
	case MarkUnread:
		op, letter = '-', string(mailbox.FlagSeen)
	case MarkFlagged:
		op, letter = '+', string(mailbox.FlagFlagged)
	case MarkUnflag:
		op, letter = '-', string(mailbox.FlagFlagged)
	default:
		return fmt.Errorf("%q: %w", mark, ErrBadAction)
	}
	f, err := mb.open(folder)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.SetFlags(uids, op, letter, mb)
	return err
}

// Move moves uids from one folder to another as IMAP MOVE does (RFC 6851:
// copy, then expunge the originals; a crash between leaves a copy, never
// a loss) and tells the learner, as imapd does, so moving into or out of
// Junk teaches the spam check. It returns the UIDs in the destination.
func (mb *Mailbox) Move(from, to string, uids []uint32) ([]uint32, error) {
	if from == to || (mailbox.IsInbox(from) && mailbox.IsInbox(to)) {
		return nil, fmt.Errorf("move onto the same folder: %w", ErrBadAction)
	}
	src, err := mb.open(from)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst, err := mb.open(to)
	if err != nil {
		return nil, err
	}
	defer dst.Close()
	moved, out, err := src.CopyTo(dst, uids)
	if err != nil {
		return nil, err
	}
	if mb.learn != nil && len(out) > 0 {
		mb.learn(mb.Account, imapName(from), imapName(to), func() []*os.File { return openAll(dst, out) })
	}
	if _, err := src.Expunge(moved); err != nil {
		return out, err
	}
	return out, nil
}

// imapName is a folder's name as IMAP spells it (INBOX in capitals).
func imapName(n string) string {
	if mailbox.IsInbox(n) {
		return mailbox.Inbox
	}
	return n
}

func openAll(f *mailbox.Folder, uids []uint32) []*os.File {
	var out []*os.File
	for _, u := range uids {
		if fh, err := f.Open(u); err == nil {
			out = append(out, fh)
		}
	}
	return out
}

// Delete moves uids to Trash; in Trash it deletes them for good.
func (mb *Mailbox) Delete(folder string, uids []uint32) error {
	if folder == Trash {
		return mb.expunge(folder, uids)
	}
	_, err := mb.Move(folder, Trash, uids)
	return err
}

// Empty deletes every message of Trash or Junk for good.
func (mb *Mailbox) Empty(folder string) error {
	if folder != Trash && folder != Junk {
		return fmt.Errorf("empty %q: %w", folder, ErrBadAction)
	}
	f, err := mb.open(folder)
	if err != nil {
		return err
	}
	defer f.Close()
	var uids []uint32
	f.View(func(msgs []mailbox.Message) {
		for i := range msgs {
			uids = append(uids, msgs[i].UID)
		}
	})
	_, err = f.Expunge(uids)
	return err
}

func (mb *Mailbox) expunge(folder string, uids []uint32) error {
	f, err := mb.open(folder)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Expunge(uids)
	return err
}

// Spam moves uids to Junk ("this is spam"): the learner is taught spam.
func (mb *Mailbox) Spam(folder string, uids []uint32) error {
	if folder == Junk {
		return fmt.Errorf("already in Junk: %w", ErrBadAction)
	}
	_, err := mb.Move(folder, Junk, uids)
	return err
}

// NotSpam moves uids from Junk to INBOX ("not spam"): the learner is
// taught ham.
func (mb *Mailbox) NotSpam(folder string, uids []uint32) error {
	if folder != Junk {
		return fmt.Errorf("not in Junk: %w", ErrBadAction)
	}
	_, err := mb.Move(Junk, Inbox, uids)
	return err
}
