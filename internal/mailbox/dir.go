package mailbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"mailgate/internal/address"
)

// Dir is the Maildir of an account (a normalized address):
// <root>/<domain>/<local>. The store refuses names that are paths
// (address.NormalizeNew), but a mailbox must not depend on what some
// version of the store let in: Dir escapes each name so that two different
// accounts never share a directory and the Maildir is always a direct
// child of its domain's directory, which is a direct child of root. It
// returns an error, never a path elsewhere, for an account it cannot place.
//
// Names the store has always accepted (no '%', no '/', not starting with
// '.') come out unchanged, so existing Maildirs stay where they are.
func Dir(root, account string) (string, error) {
	at := strings.LastIndexByte(account, '@')
	if at < 0 {
		return "", fmt.Errorf("mailbox of %q: not an address", account)
	}
	domain, err := pathName(domainDirName(root, account[at+1:]))
	if err != nil {
		return "", fmt.Errorf("mailbox of %q: domain: %v", account, err)
	}
	local, err := pathName(account[:at])
	if err != nil {
		return "", fmt.Errorf("mailbox of %q: local part: %v", account, err)
	}
	// pathName makes this hold; checked anyway, as the last word before
	// a delivery or a login opens the directory.
	domDir := filepath.Join(root, domain)
	dir := filepath.Join(domDir, local)
	if filepath.Dir(dir) != domDir || filepath.Dir(domDir) != filepath.Clean(root) {
		return "", fmt.Errorf("mailbox of %q: %s is not a direct child of %s", account, dir, domDir)
	}
	return dir, nil
}

// domainDirName is the name of a domain's directory: the domain itself,
// except that before domains were kept as A-labels (issue 15 §2) an
// internationalized domain's mail went under its U-label. While that
// directory exists and the A-label one does not, it stays the domain's, so
// existing mail is not left behind; moving it to the A-label name is the
// operator's choice. The U-label is never another domain's A-label (those
// are ASCII), so no two domains share a directory.
func domainDirName(root, domain string) string {
	u, ok := address.ULabelDomain(domain)
	if !ok || pathExists(filepath.Join(root, domain)) || !pathExists(filepath.Join(root, u)) {
		return domain
	}
	return u
}

func pathExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// pathName turns a name into one path component, injectively: '%' (the
// escape, refused in addresses since RFC 2505 §2.1 routing), the separators
// '/' and '\', NUL and the other control characters, and a leading '.'
// (".", ".." and hidden names) are written %XX. Decoding %XX gives the name
// back, so two names never share a component.
func pathName(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty name")
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c == '/' || c == '\\' || c < 0x20 || c == 0x7f || (i == 0 && c == '.') {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	if b.Len() > 255 { // NAME_MAX of Linux file systems
		return "", fmt.Errorf("name longer than 255 octets once escaped")
	}
	return b.String(), nil
}
