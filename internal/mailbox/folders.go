package mailbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Delim is the folder hierarchy separator: Maildir++ keeps "A.B" in the
// directory ".A.B" (Dovecot's default maildir++ layout), so IMAP sees '.'.
const Delim = '.'

// Inbox is the folder whose Maildir is the account's root.
const Inbox = "INBOX"

// Junk is the folder spam is delivered to (RFC 6154 \Junk).
const Junk = "Junk"

// DefaultFolders are created for every account, with their RFC 6154
// special-use attribute.
var DefaultFolders = []struct{ Name, SpecialUse string }{
	{"Sent", `\Sent`},
	{"Drafts", `\Drafts`},
	{"Trash", `\Trash`},
	{Junk, `\Junk`},
}

var (
	// ErrNoFolder: the folder does not exist.
	ErrNoFolder = errors.New("no such folder")
	// ErrFolderExists: CREATE/RENAME onto an existing folder.
	ErrFolderExists = errors.New("folder already exists")
	// ErrBadFolderName: a name Maildir++ cannot store.
	ErrBadFolderName = errors.New("invalid folder name")
)

// SpecialUse returns the RFC 6154 attribute of a default folder, or "".
func SpecialUse(name string) string {
	for _, d := range DefaultFolders {
		if d.Name == name {
			return d.SpecialUse
		}
	}
	return ""
}

// IsInbox reports whether name means INBOX (case-insensitive, RFC 9051 §5.1).
func IsInbox(name string) bool { return strings.EqualFold(name, Inbox) }

// checkName rejects names that would escape the Maildir or cannot be
// stored: empty hierarchy levels, '/', control characters, invalid UTF-8.
func checkName(name string) error {
	if name == "" || !utf8.ValidString(name) || len(name) > 200 {
		return ErrBadFolderName
	}
	for _, part := range strings.Split(name, string(Delim)) {
		if part == "" || part == "." || part == ".." {
			return ErrBadFolderName
		}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return ErrBadFolderName
		}
	}
	if IsInbox(strings.SplitN(name, string(Delim), 2)[0]) {
		return ErrBadFolderName // no folders under INBOX in Maildir++
	}
	return nil
}

// FolderDir is the Maildir of folder name under an account's Maildir.
func FolderDir(mailDir, name string) (string, error) {
	if IsInbox(name) {
		return mailDir, nil
	}
	if err := checkName(name); err != nil {
		return "", fmt.Errorf("%q: %w", name, err)
	}
	return filepath.Join(mailDir, "."+encodeUTF7(name)), nil
}

// FolderExists reports whether folder name exists.
func FolderExists(mailDir, name string) bool {
	dir, err := FolderDir(mailDir, name)
	if err != nil {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, "cur"))
	return err == nil && fi.IsDir()
}

// Folders lists an account's folders: INBOX first, then every ".Name"
// Maildir++ subdirectory.
func Folders(mailDir string) ([]string, error) {
	out := []string{Inbox}
	ents, err := os.ReadDir(mailDir)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		n := e.Name()
		if len(n) < 2 || n[0] != '.' || !e.IsDir() {
			continue
		}
		name, err := decodeUTF7(n[1:])
		if err != nil || checkName(name) != nil {
			continue
		}
		if fi, err := os.Stat(filepath.Join(mailDir, n, "cur")); err == nil && fi.IsDir() {
			out = append(out, name)
		}
	}
	sortStrings(out[1:])
	return out, nil
}

// CreateFolder makes folder name (with tmp/new/cur and the Maildir++
// "maildirfolder" marker).
func CreateFolder(mailDir, name string) error {
	if IsInbox(name) {
		return ErrFolderExists
	}
	dir, err := FolderDir(mailDir, name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(mailDir, 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return ErrFolderExists
		}
		return err
	}
	if err := Ensure(dir); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o600); err != nil {
		return err
	}
	return syncDir(mailDir)
}

// DeleteFolder removes folder name and its messages. Sub-folders stay
// (RFC 9051 §6.3.4 allows it; they are separate Maildirs here).
func DeleteFolder(mailDir, name string) error {
	if IsInbox(name) {
		return fmt.Errorf("INBOX: %w", ErrBadFolderName)
	}
	dir, err := FolderDir(mailDir, name)
	if err != nil {
		return err
	}
	if !FolderExists(mailDir, name) {
		return ErrNoFolder
	}
	// Rename first so a crash never leaves half a folder under its name.
	trash := filepath.Join(mailDir, fmt.Sprintf("..deleted.%d", uniqueSeq.Add(1)))
	if err := os.Rename(dir, trash); err != nil {
		return err
	}
	forgetOpen(dir)
	setSubscribed(mailDir, name, false)
	err = os.RemoveAll(trash)
	forgetUsage(mailDir) // its messages are counted out by a recount
	return err
}

// RenameFolder renames folder from (and its sub-folders) to to. The index
// moves with the files, so UIDVALIDITY and UIDs are kept.
func RenameFolder(mailDir, from, to string) error {
	if IsInbox(from) {
		// RFC 9051 §6.3.6 wants INBOX's messages moved instead; refuse.
		return fmt.Errorf("renaming INBOX is not supported: %w", ErrBadFolderName)
	}
	src, err := FolderDir(mailDir, from)
	if err != nil {
		return err
	}
	if _, err := FolderDir(mailDir, to); err != nil {
		return err
	}
	if IsInbox(to) || FolderExists(mailDir, to) {
		return ErrFolderExists
	}
	if !FolderExists(mailDir, from) {
		return ErrNoFolder
	}
	all, err := Folders(mailDir)
	if err != nil {
		return err
	}
	err = renameFolders(mailDir, from, to, src, all)
	// No change in usage, but a recount running meanwhile may have seen a
	// folder under both names or neither: counted again. (Not done under
	// the usage lock: moveOpen takes folders' locks, which are always
	// taken before it.)
	forgetUsage(mailDir)
	return err
}

func renameFolders(mailDir, from, to, src string, all []string) error {
	for _, n := range all {
		if n != from && !strings.HasPrefix(n, from+string(Delim)) {
			continue
		}
		nn := to + n[len(from):]
		old := filepath.Join(mailDir, "."+encodeUTF7(n))
		dst := filepath.Join(mailDir, "."+encodeUTF7(nn))
		if n == from {
			old = src
		}
		if err := os.Rename(old, dst); err != nil {
			return err
		}
		moveOpen(old, dst)
		if isSubscribed(mailDir, n) {
			setSubscribed(mailDir, n, false)
			setSubscribed(mailDir, nn, true)
		}
	}
	return syncDir(mailDir)
}

func forgetOpen(dir string) {
	openMu.Lock()
	f := openDir[dir]
	delete(openDir, dir)
	openMu.Unlock()
	if f != nil {
		f.mu.Lock()
		f.gone = true
		f.mu.Unlock()
		openMu.Lock()
		idle := f.refs == 0
		openMu.Unlock()
		if idle {
			f.unload()
		}
	}
}

func moveOpen(old, dst string) {
	openMu.Lock()
	defer openMu.Unlock()
	if f := openDir[old]; f != nil {
		delete(openDir, old)
		openDir[dst] = f
		f.mu.Lock()
		f.dir = dst
		f.mu.Unlock()
	}
}

// EnsureDefaults creates the account's Maildir, INBOX and the default
// folders (subscribed), when missing. Cheap when they exist.
func EnsureDefaults(mailDir string) error {
	if err := Ensure(mailDir); err != nil {
		return err
	}
	for _, d := range DefaultFolders {
		if FolderExists(mailDir, d.Name) {
			continue
		}
		if err := CreateFolder(mailDir, d.Name); err != nil && !errors.Is(err, ErrFolderExists) {
			return err
		}
		if err := setSubscribed(mailDir, d.Name, true); err != nil {
			return err
		}
	}
	return nil
}
