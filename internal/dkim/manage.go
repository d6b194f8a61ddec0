package dkim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// KeyInfo describes one key of a domain for `dkim list DOMAIN` and the
// API: never the private key, only what is published.
type KeyInfo struct {
	Selector  string    `json:"selector"`
	Algorithm string    `json:"algorithm"`
	Active    bool      `json:"active"`
	Created   time.Time `json:"created"`
	// Name and Value are the TXT record to publish (RFC 6376 §3.6.2.1):
	// <selector>._domainkey.<domain>. and its text.
	Name  string `json:"name"`
	Value string `json:"value"`
}

// KeysOf lists domain's keys, oldest first; none is not an error.
func (k Keys) KeysOf(domain string) ([]KeyInfo, error) {
	domain = canonical(domain)
	if !validLabel(domain) {
		return nil, fmt.Errorf("dkim: %q %w: not a domain name", domain, ErrInvalid)
	}
	var out []KeyInfo
	if k.Store != nil {
		if err := k.importDir(); err != nil {
			return nil, err
		}
		ctx, cancel := storeCtx()
		defer cancel()
		err := k.Store.EachDKIMKey(ctx, domain, func(sel, algo string, active bool, created time.Time) {
			out = append(out, KeyInfo{Selector: sel, Algorithm: algo, Active: active, Created: created.UTC()})
		})
		if err != nil {
			return nil, err
		}
	} else {
		pems, err := filepath.Glob(filepath.Join(k.Dir, domain, "*.pem"))
		if err != nil {
			return nil, err
		}
		active, _, _ := k.Active(domain)
		for _, p := range pems {
			fi, err := os.Stat(p)
			if err != nil {
				return nil, err
			}
			sel := strings.TrimSuffix(filepath.Base(p), ".pem")
			out = append(out, KeyInfo{Selector: sel, Active: sel == active, Created: fi.ModTime().UTC()})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	}
	for i := range out {
		key, err := k.load(domain, out[i].Selector)
		if err != nil {
			return nil, err
		}
		if out[i].Algorithm == "" {
			out[i].Algorithm = algorithmOf(key)
		}
		out[i].Name = out[i].Selector + "._domainkey." + domain + "."
		if out[i].Value, err = RecordValue(key.Public()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Retire deletes the key of domain under selector, for good: once a
// rotation is done and the old record has been withdrawn (RFC 6376 §3.6.1
// leaves its removal to the signer). The active key cannot be retired —
// activate another one first — or mail would go out unsigned.
func (k Keys) Retire(domain, selector string) error {
	domain = canonical(domain)
	if _, err := k.load(domain, selector); err != nil {
		return err
	}
	active, _, err := k.Active(domain)
	if err != nil && !errors.Is(err, ErrNoKey) {
		return err
	}
	if active == selector {
		return fmt.Errorf("dkim: %s of %s %w: activate another selector first (mailgate dkim activate %s SELECTOR)", selector, domain, ErrActive, domain)
	}
	legacy := filepath.Join(k.Dir, domain, selector+".pem")
	if k.Store == nil {
		return os.Remove(legacy)
	}
	actor, err := k.actor()
	if err != nil {
		return err
	}
	ctx, cancel := storeCtx()
	defer cancel()
	if err := k.Store.RetireDKIMKey(ctx, actor, domain, selector); err != nil {
		return err
	}
	// A copy left in this node's legacy directory would be copied back
	// into the store by the next process that reads it (importDir).
	if k.Dir != "" {
		if err := os.Remove(legacy); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("dkim: key %s of %s retired, but its old file stays and would come back: remove %s: %w", selector, domain, legacy, err)
		}
	}
	return nil
}
