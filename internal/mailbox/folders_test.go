package mailbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Folder names reach the mailbox decoded (go-imap undoes modified UTF-7
// and refuses what is not valid, issue 15 §4); the decoded forms of the
// hostile names (`&AC4ALg-` is "..", `&AC8-etc` "/etc") are refused here,
// and nothing is created for them.
func TestHostileFolderNamesRefused(t *testing.T) {
	root := t.TempDir()
	mailDir := filepath.Join(root, "m")
	if err := EnsureDefaults(mailDir); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadDir(mailDir)
	for _, name := range []string{"..", "a..b", ".hidden", "a.", "/etc", "a/b", "../x", "a\x00b", "a\nb", `a\b`, "INBOX.x", "", "\xff"} {
		if err := CreateFolder(mailDir, name); !errors.Is(err, ErrBadFolderName) {
			t.Errorf("CreateFolder(%q) = %v, want ErrBadFolderName", name, err)
		}
		if err := RenameFolder(mailDir, "Sent", name); !errors.Is(err, ErrBadFolderName) {
			t.Errorf("RenameFolder(Sent, %q) = %v, want ErrBadFolderName", name, err)
		}
	}
	after, _ := os.ReadDir(mailDir)
	if len(after) != len(before) {
		t.Errorf("the Maildir changed: %d entries, was %d", len(after), len(before))
	}
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Errorf("something was created beside the Maildir: %v", ents)
	}
	// Directories another program made with such names in modified UTF-7
	// are no folders: printable ASCII must not be encoded (RFC 3501 §5.1.3).
	for _, dir := range []string{".&AC4ALg-", ".&AC8-etc", ".&AAA-"} {
		if err := Ensure(filepath.Join(mailDir, dir)); err != nil {
			t.Fatal(err)
		}
	}
	names, err := Folders(mailDir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "INBOX Drafts Junk Sent Trash" {
		t.Errorf("Folders = %s", got)
	}
}

// FuzzFolderDir: whatever the name, FolderDir refuses it or gives a
// directory directly inside the Maildir, named "." and the name's modified
// UTF-7, which decodes back to the name.
func FuzzFolderDir(f *testing.F) {
	for _, s := range []string{"Sent", "A.B", "..", "/etc", "a/../b", "Entwürfe", "a\x00b", "&", "~x", "INBOX"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		const mailDir = "/m/d/u"
		dir, err := FolderDir(mailDir, name)
		if err != nil || IsInbox(name) {
			return
		}
		if filepath.Dir(dir) != mailDir {
			t.Fatalf("FolderDir(%q) = %q, not directly inside the Maildir", name, dir)
		}
		base := filepath.Base(dir)
		if base[0] != '.' || base == "." || base == ".." {
			t.Fatalf("FolderDir(%q) = %q", name, dir)
		}
		if back, err := decodeUTF7(base[1:]); err != nil || back != name {
			t.Fatalf("FolderDir(%q) = %q, which decodes to %q (%v)", name, dir, back, err)
		}
	})
}
