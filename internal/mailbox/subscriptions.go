package mailbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// SubscriptionsFile lists subscribed folders one per line, as Courier and
// Dovecot's Maildir++ layout keep it.
const SubscriptionsFile = "subscriptions"

var subMu sync.Mutex

// Subscriptions returns the subscribed folder names.
func Subscriptions(mailDir string) ([]string, error) {
	subMu.Lock()
	defer subMu.Unlock()
	return readSubs(mailDir)
}

func readSubs(mailDir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(mailDir, SubscriptionsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" && !strings.HasPrefix(l, "V\t") {
			out = append(out, l)
		}
	}
	return out, nil
}

func isSubscribed(mailDir, name string) bool {
	subs, _ := Subscriptions(mailDir)
	for _, s := range subs {
		if s == name {
			return true
		}
	}
	return false
}

// Subscribe adds or removes name from the subscriptions (RFC 9051 §6.3.7:
// a name may be subscribed whether or not the folder exists).
func Subscribe(mailDir, name string, on bool) error {
	if strings.ContainsAny(name, "\r\n") || name == "" {
		return ErrBadFolderName
	}
	return setSubscribed(mailDir, name, on)
}

func setSubscribed(mailDir, name string, on bool) error {
	subMu.Lock()
	defer subMu.Unlock()
	subs, err := readSubs(mailDir)
	if err != nil {
		return err
	}
	var out []string
	found := false
	for _, s := range subs {
		if s == name {
			found = true
			if !on {
				continue
			}
		}
		out = append(out, s)
	}
	if on && !found {
		out = append(out, name)
	}
	if on == found {
		return nil
	}
	path := filepath.Join(mailDir, SubscriptionsFile)
	tmp := path + ".tmp"
	body := strings.Join(out, "\n")
	if body != "" {
		body += "\n"
	}
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
