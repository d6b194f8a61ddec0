package mtasts

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"mailgate/internal/dns"
)

type fakeDNS struct{ txt map[string][]string }

func (fakeDNS) LookupMX(context.Context, string) ([]*net.MX, error) { return nil, dns.ErrNotFound }
func (fakeDNS) LookupIP(context.Context, string) ([]net.IP, error) {
	return []net.IP{net.IPv4(127, 0, 0, 1)}, nil
}
func (f fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	if t, ok := f.txt[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("%w: %s", dns.ErrNotFound, name)
}

func testCert(t *testing.T, names ...string) (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestFetcherFetchesCachesAndRefuses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.Host {
		case "mta-sts.redirect.test":
			http.Redirect(w, r, "https://mta-sts.a.test/.well-known/mta-sts.txt", http.StatusFound)
			return
		case "mta-sts.html.test":
			w.Header().Set("Content-Type", "text/html")
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		fmt.Fprint(w, "version: STSv1\nmode: testing\nmx: mx.a.test\nmax_age: 3600\n")
	}))
	cert, pool := testCert(t, "mta-sts.a.test", "mta-sts.redirect.test", "mta-sts.html.test", "mta-sts.two.test")
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	d := fakeDNS{txt: map[string][]string{
		"_mta-sts.a.test":         {"v=STSv1; id=1"},
		"_mta-sts.wrongcert.test": {"v=STSv1; id=1"},
		"_mta-sts.redirect.test":  {"v=STSv1; id=1"},
		"_mta-sts.html.test":      {"v=STSv1; id=1"},
		"_mta-sts.two.test":       {"v=STSv1; id=1", "v=STSv1; id=2"},
	}}
	cacheDir := t.TempDir()
	f := &Fetcher{DNS: d, Roots: pool, Port: port, CacheDir: cacheDir}
	ctx := context.Background()

	p := f.Get(ctx, "a.test")
	if p == nil || p.Mode != Testing || p.ID != "1" || !p.Match("mx.a.test") {
		t.Fatalf("policy %+v", p)
	}
	before := hits.Load()
	if p2 := f.Get(ctx, "a.test"); p2 != p || hits.Load() != before {
		t.Fatal("same id fetched again instead of using the cache")
	}
	d.txt["_mta-sts.a.test"] = []string{"v=STSv1; id=2"}
	if p3 := f.Get(ctx, "a.test"); p3 == nil || p3.ID != "2" || hits.Load() != before+1 {
		t.Fatalf("new id not refetched: %+v", p3)
	}
	delete(d.txt, "_mta-sts.a.test")
	if p4 := f.Get(ctx, "a.test"); p4 == nil || p4.ID != "2" {
		t.Fatal("RFC 8461 §5.1: a cached policy outlives its TXT record until max_age")
	}
	for _, dom := range []string{"wrongcert.test", "redirect.test", "html.test", "two.test", "nosts.test"} {
		if p := f.Get(ctx, dom); p != nil {
			t.Errorf("%s: got policy %+v, want none", dom, p)
		}
	}
	// After a restart, with the policy host unreachable and the TXT record
	// gone, the policy cached on disk still applies.
	srv.Close()
	f2 := &Fetcher{DNS: d, Roots: pool, Port: port, CacheDir: cacheDir}
	if p5 := f2.Get(ctx, "a.test"); p5 == nil || p5.ID != "2" || p5.Mode != Testing {
		t.Fatalf("policy not restored from the disk cache: %+v", p5)
	}
}

func FuzzParseTXT(f *testing.F) {
	f.Add("v=STSv1; id=20190429T010101;")
	f.Add("v=STSv1;id=;")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseTXT(s)
		if err == nil && (id == "" || len(id) > 32) {
			t.Fatalf("accepted id %q", id)
		}
	})
}
