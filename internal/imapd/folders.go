package imapd

import (
	"errors"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailgate/internal/mailbox"
)

func folderErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mailbox.ErrFolderExists):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	case errors.Is(err, mailbox.ErrNoFolder):
		return errNoMailbox
	case errors.Is(err, mailbox.ErrBadFolderName):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: err.Error()}
	}
	return err
}

func (s *session) Create(name string, _ *imap.CreateOptions) (err error) {
	defer s.logFailure("CREATE", &err)
	// RFC 9051 §6.3.4: a trailing delimiter only says more levels follow.
	name = strings.TrimSuffix(name, string(mailbox.Delim))
	return folderErr(mailbox.CreateFolder(s.mailDir, name))
}

func (s *session) Delete(name string) (err error) {
	defer s.logFailure("DELETE", &err)
	return folderErr(mailbox.DeleteFolder(s.mailDir, name))
}

func (s *session) Rename(from, to string, _ *imap.RenameOptions) (err error) {
	defer s.logFailure("RENAME", &err)
	to = strings.TrimSuffix(to, string(mailbox.Delim))
	if mailbox.IsInbox(from) {
		return folderErr(s.renameInbox(to))
	}
	return folderErr(mailbox.RenameFolder(s.mailDir, from, to))
}

// renameInbox does what RFC 9051 §6.3.6 asks of RENAME INBOX: move all
// its messages into a new folder and leave INBOX empty. Copy first, then
// expunge: a crash in between leaves copies, never a loss.
func (s *session) renameInbox(to string) error {
	if err := mailbox.CreateFolder(s.mailDir, to); err != nil {
		return err
	}
	src, err := s.openFolder(mailbox.Inbox)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := s.openFolder(to)
	if err != nil {
		return err
	}
	defer dst.Close()
	var uids []uint32
	src.View(func(msgs []mailbox.Message) {
		for i := range msgs {
			uids = append(uids, msgs[i].UID)
		}
	})
	moved, _, err := src.CopyTo(dst, uids)
	if err != nil {
		return err
	}
	_, err = src.Expunge(moved)
	return err
}

func (s *session) Subscribe(name string) (err error) {
	defer s.logFailure("SUBSCRIBE", &err)
	if !mailbox.IsInbox(name) && !mailbox.FolderExists(s.mailDir, name) {
		return errNoMailbox
	}
	return folderErr(mailbox.Subscribe(s.mailDir, name, true))
}

func (s *session) Unsubscribe(name string) (err error) {
	defer s.logFailure("UNSUBSCRIBE", &err)
	return folderErr(mailbox.Subscribe(s.mailDir, name, false))
}

// List serves LIST (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, SPECIAL-USE
// RFC 6154, LIST-STATUS RFC 5819) and LSUB.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) (err error) {
	defer s.logFailure("LIST", &err)
	if len(patterns) == 0 {
		// RFC 9051 §6.3.9: an empty pattern asks for the delimiter.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: mailbox.Delim})
	}
	names, err := mailbox.Folders(s.mailDir)
	if err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, n := range names {
		exists[n] = true
	}
	subs, _ := mailbox.Subscriptions(s.mailDir)
	subscribed := map[string]bool{}
	for _, n := range subs {
		subscribed[n] = true
	}
	// Maildir++ lets "A.B" exist without "A": list such parents as
	// \Noselect \HasChildren so hierarchy browsing (LIST "" %) finds B.
	candidates := names
	implied := map[string]bool{}
	for _, n := range names {
		for i := 0; i < len(n); i++ {
			if n[i] == mailbox.Delim && !exists[n[:i]] && !implied[n[:i]] {
				implied[n[:i]] = true
				candidates = append(candidates, n[:i])
			}
		}
	}
	if len(implied) > 0 {
		sort.Strings(candidates[1:]) // INBOX first, then parents before children
	}
	if options.SelectSubscribed {
		candidates = nil
		for _, n := range subs {
			candidates = append(candidates, n)
		}
		if subscribed[mailbox.Inbox] || subscribed["inbox"] {
			subscribed[mailbox.Inbox] = true
		}
	}
	for _, name := range candidates {
		if !matchAny(name, ref, patterns) {
			continue
		}
		use := mailbox.SpecialUse(name)
		if implied[name] {
			use = ""
		}
		if options.SelectSpecialUse && use == "" {
			continue
		}
		data := &imap.ListData{Mailbox: name, Delim: mailbox.Delim}
		if implied[name] {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect, imap.MailboxAttrHasChildren)
		} else if !exists[name] {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNonExistent)
		} else if hasChildren(name, names) {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if subscribed[name] && (options.SelectSubscribed || options.ReturnSubscribed) {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if use != "" {
			data.Attrs = append(data.Attrs, imap.MailboxAttr(use))
		}
		if options.ReturnStatus != nil && exists[name] && !implied[name] {
			if st, err := s.Status(name, options.ReturnStatus); err == nil {
				data.Status = st
			}
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if imapserver.MatchList(name, mailbox.Delim, ref, p) {
			return true
		}
	}
	return false
}

func hasChildren(name string, all []string) bool {
	prefix := name + string(mailbox.Delim)
	for _, n := range all {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// Status reads counts from the index only (RFC 9051 §6.3.11).
func (s *session) Status(name string, options *imap.StatusOptions) (_ *imap.StatusData, err error) {
	defer s.logFailure("STATUS", &err)
	f, err := s.openFolder(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data := &imap.StatusData{Mailbox: name}
	var n, unseen, deleted uint32
	var size, deletedSize int64
	f.View(func(msgs []mailbox.Message) {
		n = uint32(len(msgs))
		for i := range msgs {
			if !mailbox.HasFlag(msgs[i].Flags, mailbox.FlagSeen) {
				unseen++
			}
			if mailbox.HasFlag(msgs[i].Flags, mailbox.FlagTrashed) {
				deleted++
				deletedSize += msgs[i].Size
			}
			size += msgs[i].Size
		}
	})
	if options.DeletedStorage {
		// RFC 9208 §5.1: QUOTA=RES-STORAGE brings DELETED-STORAGE, the
		// storage an EXPUNGE would free, in units of 1024 octets.
		kib := (deletedSize + 1023) / 1024
		data.DeletedStorage = &kib
	}
	if options.NumMessages {
		data.NumMessages = &n
	}
	if options.NumUnseen {
		data.NumUnseen = &unseen
	}
	if options.NumDeleted {
		data.NumDeleted = &deleted
	}
	if options.Size {
		data.Size = &size
	}
	if options.NumRecent {
		zero := uint32(0)
		data.NumRecent = &zero
	}
	if options.UIDNext {
		data.UIDNext = imap.UID(f.UIDNext())
	}
	if options.UIDValidity {
		data.UIDValidity = f.UIDValidity()
	}
	if options.HighestModSeq { // RFC 7162 §3.1.3
		data.HighestModSeq = f.HighestModSeq()
	}
	return data, nil
}
