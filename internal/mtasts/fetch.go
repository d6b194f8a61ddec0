package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailgate/internal/dns"
)

// maxPolicyBytes bounds the policy body; RFC 8461 §3.3 suggests 64 KiB.
const maxPolicyBytes = 64 << 10

// Fetcher looks up and caches policies.
type Fetcher struct {
	DNS dns.Resolver
	// Roots verifies policy hosts' certificates; nil means system roots.
	Roots *x509.CertPool
	// Port is the HTTPS port of policy hosts (443; tests change it).
	Port int
	// CacheDir, when set, keeps fetched policies across restarts, so a
	// policy cannot be stripped by blocking the fetch after a restart
	// (RFC 8461 §10.2).
	CacheDir string
	Log      *slog.Logger

	once   sync.Once
	client *http.Client
	mu     sync.Mutex
	cache  map[string]*Policy
}

func (f *Fetcher) init() {
	f.cache = f.loadAll()
	port := f.Port
	if port == 0 {
		port = 443
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	f.client = &http.Client{
		Timeout: 30 * time.Second,
		// RFC 8461 §3.3: redirects are not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy: nil,
			// The policy host is resolved through the delivery resolver,
			// like the MX hosts it vouches for.
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				ips, err := f.DNS.LookupIP(ctx, host)
				if err != nil {
					return nil, err
				}
				var lastErr error
				for _, ip := range ips {
					c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
					if err == nil {
						return c, nil
					}
					lastErr = err
				}
				return nil, lastErr
			},
			TLSClientConfig:     &tls.Config{RootCAs: f.Roots, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 10 * time.Second,
			DisableKeepAlives:   true,
		},
	}
}

// Get returns domain's policy, or nil when the domain has none (or when it
// cannot be had and nothing valid is cached: RFC 8461 §5.1 says deliver as
// if the domain had no policy then).
func (f *Fetcher) Get(ctx context.Context, domain string) *Policy {
	f.once.Do(f.init)
	domain = strings.ToLower(domain)
	now := time.Now()
	f.mu.Lock()
	cached := f.cache[domain]
	f.mu.Unlock()
	if cached != nil && now.After(cached.Expires) {
		cached = nil
	}
	id, err := f.lookupID(ctx, domain)
	if err != nil {
		// §5.1: no TXT (or a broken one) with a valid cached policy: use it.
		return cached
	}
	if cached != nil && cached.ID == id {
		return cached
	}
	p, err := f.fetch(ctx, domain)
	if err != nil {
		if f.Log != nil {
			f.Log.Warn("mta-sts policy fetch failed", "domain", domain, "err", err)
		}
		return cached
	}
	p.ID = id
	p.Expires = now.Add(p.MaxAge)
	f.mu.Lock()
	f.cache[domain] = p
	f.mu.Unlock()
	f.store(domain, p)
	return p
}

// loadAll reads the policies cached on disk, once (on the first Get): a
// domain without a policy, most of them, then costs no file I/O per message.
func (f *Fetcher) loadAll() map[string]*Policy {
	cache := map[string]*Policy{}
	if f.CacheDir == "" {
		return cache
	}
	entries, _ := os.ReadDir(f.CacheDir)
	now := time.Now()
	for _, e := range entries {
		domain, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || strings.HasPrefix(domain, ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(f.CacheDir, e.Name()))
		if err != nil {
			continue
		}
		var p Policy
		if json.Unmarshal(b, &p) != nil || now.After(p.Expires) {
			continue
		}
		cache[domain] = &p
	}
	return cache
}

// store writes a policy to the disk cache (temporary file, rename).
func (f *Fetcher) store(domain string, p *Policy) {
	if f.CacheDir == "" || strings.ContainsAny(domain, "/\\") {
		return
	}
	b, err := json.Marshal(p)
	if err == nil {
		err = os.MkdirAll(f.CacheDir, 0o700)
	}
	if err == nil {
		tmp := filepath.Join(f.CacheDir, "."+domain+".tmp")
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, filepath.Join(f.CacheDir, domain+".json"))
		}
	}
	if err != nil && f.Log != nil {
		f.Log.Warn("mta-sts policy cache write failed", "domain", domain, "err", err)
	}
}

func (f *Fetcher) lookupID(ctx context.Context, domain string) (string, error) {
	txts, err := f.DNS.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, t := range txts {
		if !strings.HasPrefix(t, "v=STSv1") {
			continue
		}
		id, err := ParseTXT(t)
		if err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	// §3.1: exactly one STSv1 record, else no policy.
	if len(ids) != 1 {
		return "", errors.New("mta-sts: not exactly one STSv1 TXT record")
	}
	return ids[0], nil
}

func (f *Fetcher) fetch(ctx context.Context, domain string) (*Policy, error) {
	// §3.3: https://mta-sts.<domain>/.well-known/mta-sts.txt, a certificate
	// valid for mta-sts.<domain>.
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/plain" {
		return nil, fmt.Errorf("%s: content type %q is not text/plain", url, mt)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPolicyBytes {
		return nil, fmt.Errorf("%s: policy larger than %d bytes", url, maxPolicyBytes)
	}
	return Parse(b)
}
