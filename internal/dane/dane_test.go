package dane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue makes a certificate for names signed by parent (self-signed when
// parent is nil), valid from..until.
func issue(t testing.TB, parent *issued, ca bool, from, until time.Time, names ...string) *issued {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + int64(len(names))), Subject: pkix.Name{CommonName: "test"},
		DNSNames: names, NotBefore: from, NotAfter: until, BasicConstraintsValid: true, IsCA: ca,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &issued{c, key}
}

func rec(usage, selector, matching uint8, c *x509.Certificate) Record {
	data := c.Raw
	if selector == 1 {
		data = c.RawSubjectPublicKeyInfo
	}
	switch matching {
	case 1:
		s := sha256.Sum256(data)
		data = s[:]
	case 2:
		s := sha512.Sum512(data)
		data = s[:]
	}
	return Record{Usage: usage, Selector: selector, MatchingType: matching, Data: data}
}

func TestVerify(t *testing.T) {
	year := 365 * 24 * time.Hour
	root := issue(t, nil, true, now.Add(-year), now.Add(year))
	inter := issue(t, root, true, now.Add(-year), now.Add(year))
	leaf := issue(t, inter, false, now.Add(-year), now.Add(year), "mx.example.net")
	expired := issue(t, inter, false, now.Add(-2*year), now.Add(-year), "mx.example.net")
	// An anonymous, long-expired self-signed certificate: fine for DANE-EE.
	anon := issue(t, nil, false, now.Add(-3*year), now.Add(-2*year))
	other := issue(t, nil, true, now.Add(-year), now.Add(year))

	chain := []*x509.Certificate{leaf.cert, inter.cert, root.cert}
	cases := []struct {
		name  string
		rs    []Record
		chain []*x509.Certificate
		host  string
		ok    bool
	}{
		{"EE 3 1 1", []Record{rec(3, 1, 1, leaf.cert)}, chain, "mx.example.net", true},
		{"EE 3 0 1", []Record{rec(3, 0, 1, leaf.cert)}, chain, "mx.example.net", true},
		{"EE 3 1 2", []Record{rec(3, 1, 2, leaf.cert)}, chain, "mx.example.net", true},
		{"EE 3 0 0", []Record{rec(3, 0, 0, leaf.cert)}, chain, "mx.example.net", true},
		{"EE ignores names and dates", []Record{rec(3, 1, 1, anon.cert)}, []*x509.Certificate{anon.cert}, "mx.example.net", true},
		{"EE of another key", []Record{rec(3, 1, 1, other.cert)}, chain, "mx.example.net", false},
		{"EE does not match an issuer", []Record{rec(3, 1, 1, inter.cert)}, chain, "mx.example.net", false},
		{"TA on the intermediate", []Record{rec(2, 1, 1, inter.cert)}, chain, "mx.example.net", true},
		{"TA on the root", []Record{rec(2, 0, 1, root.cert)}, chain, "mx.example.net", true},
		{"TA checks the name", []Record{rec(2, 1, 1, inter.cert)}, chain, "mx.other.net", false},
		{"TA checks the dates", []Record{rec(2, 1, 1, inter.cert)}, []*x509.Certificate{expired.cert, inter.cert}, "mx.example.net", false},
		{"TA 2 0 0 not in the chain", []Record{rec(2, 0, 0, root.cert)}, chain[:2], "mx.example.net", true},
		{"TA of an unrelated CA", []Record{rec(2, 1, 1, other.cert)}, append(chain, other.cert), "mx.example.net", false},
		{"one matching record of several", []Record{rec(3, 1, 1, other.cert), rec(2, 1, 1, inter.cert)}, chain, "mx.example.net", true},
		{"no certificate", []Record{rec(3, 1, 1, leaf.cert)}, nil, "mx.example.net", false},
	}
	for _, c := range cases {
		err := Verify(c.rs, c.chain, c.host, now)
		if (err == nil) != c.ok {
			t.Errorf("%s: Verify = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && len(c.chain) > 0 && !errors.Is(err, ErrNoMatch) {
			t.Errorf("%s: error %v is not ErrNoMatch", c.name, err)
		}
	}
}

func TestUsable(t *testing.T) {
	rs := []Record{
		{0, 1, 1, []byte{1}}, {1, 1, 1, []byte{1}}, // PKIX-TA, PKIX-EE: not for SMTP
		{2, 1, 1, []byte{1}}, {3, 0, 2, []byte{1}},
		{3, 2, 1, []byte{1}}, {3, 1, 3, []byte{1}}, // unknown selector, matching type
		{3, 1, 1, nil},
	}
	got := Usable(rs)
	if len(got) != 2 || got[0].Usage != 2 || got[1].Usage != 3 {
		t.Fatalf("Usable = %v", got)
	}
}

// FuzzVerify: TLSA records come from remote DNS and certificates from the
// remote server; whatever they hold, Verify answers without panicking,
// and a record that is the leaf's own key always matches as DANE-EE.
func FuzzVerify(f *testing.F) {
	year := 365 * 24 * time.Hour
	leaf := issue(f, nil, false, now.Add(-year), now.Add(year), "mx.example.net")
	f.Add(uint8(3), uint8(1), uint8(1), rec(3, 1, 1, leaf.cert).Data, leaf.cert.Raw)
	f.Add(uint8(2), uint8(0), uint8(0), leaf.cert.Raw, leaf.cert.Raw)
	f.Add(uint8(2), uint8(0), uint8(0), []byte{0x30, 0x03, 0x02, 0x01, 0x00}, []byte{})
	f.Fuzz(func(t *testing.T, usage, selector, matching uint8, data, der []byte) {
		r := Record{Usage: usage, Selector: selector, MatchingType: matching, Data: data}
		var chain []*x509.Certificate
		if c, err := x509.ParseCertificate(der); err == nil {
			chain = append(chain, c)
		}
		Verify(Usable([]Record{r}), chain, "mx.example.net", now)
		if len(chain) == 1 {
			if err := Verify([]Record{rec(3, 1, 2, chain[0])}, chain, "mx.example.net", now); err != nil {
				t.Fatalf("the leaf's own 3 1 2 record did not match: %v", err)
			}
		}
	})
}
