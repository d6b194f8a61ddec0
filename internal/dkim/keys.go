// Package dkim keeps our domains' DKIM signing keys and signs outbound
// mail with them (RFC 6376, on emersion/go-msgauth).
//
// A node keeps its keys in the store (see store.go here), so every node of
// a fleet signs with the same key. Before that they lived under one
// directory (<data_dir>/dkim), which is still read, once, to copy its keys
// into the store, and which Keys without a Store still uses:
//
//	<domain>/<selector>.pem   PKCS#8 private key, mode 0600
//	<domain>/active           the selector used for signing
package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"mailgate/internal/address"
)

// ErrNoKey means the domain has no active signing key (or no key under
// the selector asked for).
var ErrNoKey = errors.New("dkim: no signing key for domain")

// noKeyUnder is ErrNoKey for a selector that names no key of domain: a
// typo as often as a missing key, so both ways out are named.
func noKeyUnder(domain, selector string) error {
	return fmt.Errorf("%w %s under selector %s: see its keys with `mailgate dkim list %s`, or make one with `mailgate dkim keygen %s --selector %s`",
		ErrNoKey, domain, selector, domain, domain, selector)
}

// Errors the API maps to its statuses: a bad domain, selector or
// algorithm; a selector already taken; retiring the key in use.
var (
	ErrInvalid = errors.New("invalid")
	ErrExists  = errors.New("already exists")
	ErrActive  = errors.New("is the active key")
)

// Keys is where our signing keys are: Store when set, else the directory
// Dir. With a Store, Dir is only the legacy directory whose keys are
// copied into the store on first use.
type Keys struct {
	Dir   string
	Store KeyStore
	// Actor is who changes keys ("cli:root", "api:NAME", "web:ADDRESS",
	// NodeActor for a node's signer): the store audits Generate, Activate,
	// Retire and the copy of Dir under it, in the transaction that makes
	// the change. With a Store, a change without an Actor is ErrNoActor.
	Actor string

	parsed   *keyCache    // set by Cached
	imported *importState // set by Cached: the copy of Dir runs once
}

// Cached returns k keeping the keys it parses in memory: parsing an RSA
// key takes about as long as signing with it (~1 ms), too much to pay per
// message. The active file is still read on every Active, so `dkim
// activate` takes effect at once, and a key file is parsed again when its
// size or modification time changes.
func (k Keys) Cached() Keys {
	k.parsed = &keyCache{m: map[string]cachedKey{}}
	k.imported = &importState{}
	return k
}

type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKey // by key file path
}

type cachedKey struct {
	mod  time.Time
	size int64
	pem  string // for a key from the store
	key  crypto.Signer
}

func (c *keyCache) get(path string, fi os.FileInfo) crypto.Signer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[path]; ok && e.mod.Equal(fi.ModTime()) && e.size == fi.Size() {
		return e.key
	}
	return nil
}

func (c *keyCache) put(path string, fi os.FileInfo, key crypto.Signer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[path] = cachedKey{mod: fi.ModTime(), size: fi.Size(), key: key}
}

func validLabel(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// Generate makes a new key for domain under selector and returns the DNS
// TXT record to publish. algo is "rsa" (2048 bits) or "ed25519" (RFC 8463).
// The key becomes active when activate is set or the domain has none yet.
func (k Keys) Generate(domain, selector, algo string, activate bool) (string, error) {
	domain = canonical(domain)
	if !validLabel(domain) {
		return "", fmt.Errorf("dkim: %q %w: not a domain name", domain, ErrInvalid)
	}
	if !validLabel(selector) {
		return "", fmt.Errorf("dkim: selector %q %w: use lower-case letters, digits, '-', '.'", selector, ErrInvalid)
	}
	var priv crypto.Signer
	var err error
	switch algo {
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return "", fmt.Errorf("dkim: algorithm %q %w: use rsa or ed25519", algo, ErrInvalid)
	}
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	if k.Store != nil {
		return k.generateInStore(domain, selector, algo, der, activate)
	}
	dir := filepath.Join(k.Dir, domain)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, selector+".pem")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("dkim: %s already has a key for selector %q (%w): choose another selector", domain, selector, ErrExists)
	}
	if err != nil {
		return "", err
	}
	err = pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", err
	}
	if _, _, err := k.Active(domain); errors.Is(err, ErrNoKey) || activate {
		if err := k.Activate(domain, selector); err != nil {
			return "", err
		}
	}
	return k.Record(domain, selector)
}

// Activate makes selector the one domain signs with.
func (k Keys) Activate(domain, selector string) error {
	domain = canonical(domain)
	if k.Store != nil {
		return k.activateInStore(domain, selector)
	}
	if _, err := k.load(domain, selector); err != nil {
		return err
	}
	tmp := filepath.Join(k.Dir, domain, ".active.tmp")
	if err := os.WriteFile(tmp, []byte(selector+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(k.Dir, domain, "active"))
}

func (k Keys) load(domain, selector string) (crypto.Signer, error) {
	domain = canonical(domain)
	if !validLabel(domain) || !validLabel(selector) {
		return nil, ErrNoKey
	}
	if k.Store != nil {
		return k.loadFromStore(domain, selector)
	}
	path := filepath.Join(k.Dir, domain, selector+".pem")
	var stamp os.FileInfo
	if k.parsed != nil {
		if fi, err := os.Stat(path); err == nil {
			if key := k.parsed.get(path, fi); key != nil {
				return key, nil
			}
			stamp = fi
		}
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, noKeyUnder(domain, selector)
	}
	if err != nil {
		return nil, err
	}
	s, err := parseKey(b, domain+"/"+selector+".pem")
	if err != nil {
		return nil, err
	}
	if stamp != nil {
		k.parsed.put(path, stamp, s)
	}
	return s, nil
}

// parseKey reads a PEM-wrapped PKCS#8 private key; name says where it
// came from in errors.
func parseKey(b []byte, name string) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("dkim: %s holds no PEM key", name)
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dkim: %s: %w", name, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("dkim: %s: unsupported key type", name)
	}
	return s, nil
}

// Active returns the selector and key domain signs with, or ErrNoKey.
func (k Keys) Active(domain string) (string, crypto.Signer, error) {
	domain = canonical(domain)
	if !validLabel(domain) {
		return "", nil, ErrNoKey
	}
	if k.Store != nil {
		return k.activeInStore(domain)
	}
	b, err := os.ReadFile(filepath.Join(k.Dir, domain, "active"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, ErrNoKey
	}
	if err != nil {
		return "", nil, err
	}
	sel := strings.TrimSpace(string(b))
	key, err := k.load(domain, sel)
	return sel, key, err
}

// Record returns the TXT record publishing selector's public key:
// "<selector>._domainkey.<domain>. IN TXT ..." (RFC 6376 §3.6.1), split
// into 255-byte strings as DNS requires. The owner name is the A-label
// form (RFC 5890 §2.3.2.1) whichever form domain is given in.
func (k Keys) Record(domain, selector string) (string, error) {
	domain = canonical(domain)
	key, err := k.load(domain, selector)
	if err != nil {
		return "", err
	}
	val, err := RecordValue(key.Public())
	if err != nil {
		return "", err
	}
	var parts []string
	for len(val) > 255 {
		parts = append(parts, `"`+val[:255]+`"`)
		val = val[255:]
	}
	parts = append(parts, `"`+val+`"`)
	return fmt.Sprintf("%s._domainkey.%s. IN TXT ( %s )", selector, domain, strings.Join(parts, " ")), nil
}

// RecordValue is the TXT record's text for a public key.
func RecordValue(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		// RFC 8463 §4.2: the raw 32-byte key.
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(p), nil
	}
	return "", fmt.Errorf("dkim: unsupported public key %T", pub)
}

// List lists the domains with keys and each one's active selector.
func (k Keys) List() (map[string]string, error) {
	if k.Store != nil {
		return k.listInStore()
	}
	entries, err := os.ReadDir(k.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sel, _, err := k.Active(e.Name())
		if err != nil {
			sel = "(none active)"
		}
		out[e.Name()] = sel
	}
	return out, nil
}

// canonical is domain as the store keeps it (address.CanonicalDomain: an
// internationalized name in its A-label form, RFC 5890 §2.3.2.1, which is
// also the form DNS and the d= tag carry, RFC 6376 §3.5), or lower-cased
// as given when it is not a domain name, for validLabel to refuse.
func canonical(domain string) string {
	if d, err := address.CanonicalDomain(domain); err == nil {
		return d
	}
	return strings.ToLower(strings.TrimSuffix(domain, "."))
}
