// Package webmail is the model behind the webmail pages: one account's
// folders with their counts, a message list that pages, sorts and searches
// a large folder from the UID index and a header cache, a message decoded
// for display (charsets, sanitized HTML, attachments), and the actions a
// reader takes (flags, move, delete to Trash, spam / not spam).
//
// It speaks no HTTP. It works on the same shared mailbox.Folder values as
// IMAP and POP3 in this process, so a flag set here is the Maildir flag an
// IMAP client sees (and hears of, through the folder's events).
package webmail

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"mailgate/internal/mailbox"
)

// Learner hears of messages moved between folders, as imapd.Server.OnCopy
// does (scan.Learner.Copied: into Junk is spam, out of Junk is ham). It
// must only decide and hand off; whoever calls files closes them.
type Learner func(account, from, to string, files func() []*os.File)

// Mailbox is one account's mail.
type Mailbox struct {
	Account string
	dir     string // the account's Maildir (INBOX)
	learn   Learner
}

// Open returns the mailbox of account (a normalized address) under
// mailRoot (<data_dir>/mail), creating INBOX and the default folders as
// an IMAP login does. learn may be nil.
func Open(mailRoot, account string, learn Learner) (*Mailbox, error) {
	dir, err := mailbox.Dir(mailRoot, account)
	if err != nil {
		return nil, err
	}
	if err := mailbox.EnsureDefaults(dir); err != nil {
		return nil, err
	}
	return &Mailbox{Account: account, dir: dir, learn: learn}, nil
}

// Folder names the webmail treats specially; they are the IMAP names of
// mailbox.DefaultFolders (RFC 6154 special-use).
const (
	Inbox  = mailbox.Inbox
	Sent   = "Sent"
	Drafts = "Drafts"
	Trash  = "Trash"
	Junk   = mailbox.Junk
)

// FolderInfo is one folder as the folder list shows it.
type FolderInfo struct {
	Name       string // IMAP name (UTF-8, '.' between levels)
	SpecialUse string // RFC 6154 attribute, "" for the user's own
	Total      int
	Unread     int
	Depth      int // hierarchy level, for indentation
	Leaf       string
}

// Special reports whether the folder is INBOX or a default folder, which
// the webmail neither renames nor deletes.
func (f FolderInfo) Special() bool { return f.Name == Inbox || f.SpecialUse != "" }

// Folders lists the folders: INBOX, the default folders in their usual
// order, then the user's own, sorted; each with message and unread counts
// from the index (no message file is read).
func (mb *Mailbox) Folders() ([]FolderInfo, error) {
	names, err := mailbox.Folders(mb.dir)
	if err != nil {
		return nil, err
	}
	order := func(n string) int {
		if n == Inbox {
			return 0
		}
		for i, d := range mailbox.DefaultFolders {
			if d.Name == n {
				return i + 1
			}
		}
		return len(mailbox.DefaultFolders) + 1
	}
	var out []FolderInfo
	for _, n := range names {
		fi := FolderInfo{Name: n, SpecialUse: mailbox.SpecialUse(n), Depth: strings.Count(n, string(mailbox.Delim)), Leaf: n}
		if i := strings.LastIndexByte(n, mailbox.Delim); i >= 0 {
			fi.Leaf = n[i+1:]
		}
		f, err := mb.open(n)
		if err != nil {
			continue // deleted meanwhile
		}
		f.View(func(msgs []mailbox.Message) {
			fi.Total = len(msgs)
			for i := range msgs {
				if !mailbox.HasFlag(msgs[i].Flags, mailbox.FlagSeen) {
					fi.Unread++
				}
			}
		})
		f.Close()
		out = append(out, fi)
	}
	// Stable: the default folders first in their order, the rest as
	// mailbox.Folders sorted them.
	sort.SliceStable(out, func(i, j int) bool { return order(out[i].Name) < order(out[j].Name) })
	return out, nil
}

// ErrSpecialFolder: INBOX and the default folders are not renamed or
// deleted from the webmail (an IMAP client still may).
var ErrSpecialFolder = errors.New("this folder cannot be renamed or deleted")

// CreateFolder makes a folder, with the IMAP server's name rules
// (mailbox.CreateFolder: Maildir++ names, no empty levels, nothing under
// INBOX).
func (mb *Mailbox) CreateFolder(name string) error {
	name = strings.TrimSuffix(strings.TrimSpace(name), string(mailbox.Delim))
	return mailbox.CreateFolder(mb.dir, name)
}

// RenameFolder renames a user's folder and its sub-folders.
func (mb *Mailbox) RenameFolder(from, to string) error {
	if isSpecial(from) {
		return ErrSpecialFolder
	}
	to = strings.TrimSuffix(strings.TrimSpace(to), string(mailbox.Delim))
	return mailbox.RenameFolder(mb.dir, from, to)
}

// DeleteFolder deletes a user's folder with its messages.
func (mb *Mailbox) DeleteFolder(name string) error {
	if isSpecial(name) {
		return ErrSpecialFolder
	}
	return mailbox.DeleteFolder(mb.dir, name)
}

func isSpecial(name string) bool { return mailbox.IsInbox(name) || mailbox.SpecialUse(name) != "" }

// open opens an existing folder by IMAP name; close it when done.
func (mb *Mailbox) open(name string) (*mailbox.Folder, error) {
	if !mailbox.IsInbox(name) && !mailbox.FolderExists(mb.dir, name) {
		return nil, fmt.Errorf("%q: %w", name, mailbox.ErrNoFolder)
	}
	dir, err := mailbox.FolderDir(mb.dir, name)
	if err != nil {
		return nil, err
	}
	return mailbox.OpenFolder(dir)
}

// Exists reports whether folder name exists.
func (mb *Mailbox) Exists(name string) bool {
	return mailbox.IsInbox(name) || mailbox.FolderExists(mb.dir, name)
}
