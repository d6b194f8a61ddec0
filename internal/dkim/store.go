package dkim

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// KeyStore is the part of the store (internal/store) that keeps DKIM keys.
// Its arguments are plain strings so this package need not import the
// store; "" stands for "no such key". Each change is audited under actor
// in the transaction that makes it (dkim.keygen, dkim.import,
// dkim.activate, dkim.retire), so no change lands without its audit row.
type KeyStore interface {
	AddDKIMKey(ctx context.Context, actor, domain, selector, algorithm, privatePEM string, created time.Time, activate bool) (added bool, err error)
	// ImportDKIMKey adds a key read from file in the legacy directory.
	ImportDKIMKey(ctx context.Context, actor, domain, selector, algorithm, privatePEM, file string, created time.Time) (added bool, err error)
	ActivateDKIMKey(ctx context.Context, actor, domain, selector string) error
	DKIMKeyPEM(ctx context.Context, domain, selector string) (string, error)
	ActiveDKIMKey(ctx context.Context, domain string) (selector, privatePEM string, err error)
	DKIMDomains(ctx context.Context) (map[string]string, error)
	// EachDKIMKey calls fn for each key of domain, oldest first.
	EachDKIMKey(ctx context.Context, domain string, fn func(selector, algorithm string, active bool, created time.Time)) error
	// RetireDKIMKey deletes a key that is not the active one.
	RetireDKIMKey(ctx context.Context, actor, domain, selector string) error
}

// ErrNoActor refuses a change to the store's keys through Keys without an
// Actor: the store audits every change under its actor, and an empty one
// would say nobody made it.
var ErrNoActor = errors.New("dkim: changing the stored keys needs Keys.Actor (who makes the change, for the audit log)")

// NodeActor is the actor of a running node's own change: its signer
// copying the legacy directory into the store (as "node:NAME" in the
// fleet's other audit rows).
func NodeActor(node string) string { return "node:" + node }

// actor is who the store audits k's change under, or ErrNoActor.
func (k Keys) actor() (string, error) {
	if k.Actor == "" {
		return "", ErrNoActor
	}
	return k.Actor, nil
}

// storeTimeout bounds one store call: the Keys methods take no context
// (the CLI and the signer call them alike), and a signing that waits on a
// database gone away must fail, not hang the delivery worker.
const storeTimeout = 30 * time.Second

func storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), storeTimeout)
}

// importState makes a cached Keys copy Dir into the store once per
// process, and again after a failed try.
type importState struct {
	mu   sync.Mutex
	done bool
}

// importDir copies the keys of the legacy directory Dir into the store,
// the domain's active key first, so that it becomes the active one when
// the store has none for the domain yet. Keys already in the store (under
// the same domain and selector) are kept as they are, so running it again,
// or on several nodes at once, changes nothing. The files are left in
// place. A file that does not parse is skipped: it could not sign before
// either.
func (k Keys) importDir() error {
	if k.Dir == "" {
		return nil
	}
	if k.imported != nil {
		k.imported.mu.Lock()
		defer k.imported.mu.Unlock()
		if k.imported.done {
			return nil
		}
	}
	entries, err := os.ReadDir(k.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("dkim: reading the key directory %s to copy it into the store: %w", k.Dir, err)
	}
	for _, e := range entries {
		if e.IsDir() && validLabel(e.Name()) {
			if err := k.importDomain(e.Name()); err != nil {
				return err
			}
		}
	}
	if k.imported != nil {
		k.imported.done = true
	}
	return nil
}

func (k Keys) importDomain(domain string) error {
	dir := filepath.Join(k.Dir, domain)
	pems, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return err
	}
	var active string
	if b, err := os.ReadFile(filepath.Join(dir, "active")); err == nil {
		active = strings.TrimSpace(string(b))
	}
	sort.SliceStable(pems, func(i, j int) bool {
		return strings.TrimSuffix(filepath.Base(pems[i]), ".pem") == active && strings.TrimSuffix(filepath.Base(pems[j]), ".pem") != active
	})
	for _, path := range pems {
		sel := strings.TrimSuffix(filepath.Base(path), ".pem")
		if !validLabel(sel) {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		key, err := parseKey(b, path)
		if err != nil {
			continue
		}
		algo := algorithmOf(key)
		if algo == "" {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		actor, err := k.actor()
		if err != nil {
			return fmt.Errorf("dkim: copying %s into the store: %w", path, err)
		}
		ctx, cancel := storeCtx()
		_, err = k.Store.ImportDKIMKey(ctx, actor, domain, sel, algo, string(b), path, fi.ModTime())
		cancel()
		if err != nil {
			return fmt.Errorf("dkim: copying %s into the store: %w", path, err)
		}
	}
	return nil
}

func algorithmOf(key crypto.Signer) string {
	switch key.(type) {
	case *rsa.PrivateKey:
		return "rsa"
	case ed25519.PrivateKey:
		return "ed25519"
	}
	return ""
}

func (k Keys) generateInStore(domain, selector, algo string, der []byte, activate bool) (string, error) {
	if err := k.importDir(); err != nil {
		return "", err
	}
	actor, err := k.actor()
	if err != nil {
		return "", err
	}
	p := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	ctx, cancel := storeCtx()
	defer cancel()
	added, err := k.Store.AddDKIMKey(ctx, actor, domain, selector, algo, p, time.Now(), activate)
	if err != nil {
		return "", err
	}
	if !added {
		return "", fmt.Errorf("dkim: %s already has a key for selector %q (%w): choose another selector", domain, selector, ErrExists)
	}
	return k.Record(domain, selector)
}

func (k Keys) activateInStore(domain, selector string) error {
	domain = canonical(domain)
	actor, err := k.actor()
	if err != nil {
		return err
	}
	if _, err := k.load(domain, selector); err != nil {
		return err
	}
	ctx, cancel := storeCtx()
	defer cancel()
	return k.Store.ActivateDKIMKey(ctx, actor, domain, selector)
}

func (k Keys) loadFromStore(domain, selector string) (crypto.Signer, error) {
	if err := k.importDir(); err != nil {
		return nil, err
	}
	ctx, cancel := storeCtx()
	defer cancel()
	p, err := k.Store.DKIMKeyPEM(ctx, domain, selector)
	if err != nil {
		return nil, err
	}
	if p == "" {
		return nil, noKeyUnder(domain, selector)
	}
	return k.parseCached(domain, selector, p)
}

func (k Keys) activeInStore(domain string) (string, crypto.Signer, error) {
	if err := k.importDir(); err != nil {
		return "", nil, err
	}
	ctx, cancel := storeCtx()
	defer cancel()
	sel, p, err := k.Store.ActiveDKIMKey(ctx, domain)
	if err != nil {
		return "", nil, err
	}
	if sel == "" {
		return "", nil, ErrNoKey
	}
	key, err := k.parseCached(domain, sel, p)
	return sel, key, err
}

// parseCached parses p, or returns the key parsed from the same text
// before: the store is asked on every message (so `dkim activate` on any
// node takes effect at once), the parsing is not repeated.
func (k Keys) parseCached(domain, selector, p string) (crypto.Signer, error) {
	id := "store:" + domain + "/" + selector
	if k.parsed != nil {
		k.parsed.mu.Lock()
		e, ok := k.parsed.m[id]
		k.parsed.mu.Unlock()
		if ok && e.pem == p {
			return e.key, nil
		}
	}
	key, err := parseKey([]byte(p), "the stored key "+selector+" of "+domain)
	if err != nil {
		return nil, err
	}
	if k.parsed != nil {
		k.parsed.mu.Lock()
		k.parsed.m[id] = cachedKey{pem: p, key: key}
		k.parsed.mu.Unlock()
	}
	return key, nil
}

func (k Keys) listInStore() (map[string]string, error) {
	if err := k.importDir(); err != nil {
		return nil, err
	}
	ctx, cancel := storeCtx()
	defer cancel()
	m, err := k.Store.DKIMDomains(ctx)
	if err != nil {
		return nil, err
	}
	for d, sel := range m {
		if sel == "" {
			m[d] = "(none active)"
		}
	}
	return m, nil
}
