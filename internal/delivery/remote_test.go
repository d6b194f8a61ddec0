package delivery

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailgate/internal/spool"
)

// recorder is an SMTP server backend that offers AUTH PLAIN and records
// what the client did.
type recorder struct {
	mu    sync.Mutex
	conns int      // sessions: one per connection
	auths []string // "user:password"
	tls   []bool
	data  []string
}

type recSession struct {
	r   *recorder
	tls bool
}

func (r *recorder) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	r.mu.Lock()
	r.conns++
	r.mu.Unlock()
	return &recSession{r: r, tls: isTLS}, nil
}
func (s *recSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *recSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.r.mu.Lock()
		s.r.auths = append(s.r.auths, user+":"+pass)
		s.r.mu.Unlock()
		return nil
	}), nil
}
func (s *recSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *recSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *recSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.r.mu.Lock()
	s.r.data = append(s.r.data, string(b))
	s.r.tls = append(s.r.tls, s.tls)
	s.r.mu.Unlock()
	return nil
}
func (s *recSession) Reset()        {}
func (s *recSession) Logout() error { return nil }

// selfSigned returns a certificate for name and a pool trusting it.
func selfSigned(t *testing.T, name string) (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
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

// startRecorder runs a recorder on a loopback port, offering STARTTLS
// with cert; adjust, if given, changes the server or wraps its listener.
func startRecorder(t *testing.T, cert tls.Certificate, adjust ...func(*smtp.Server, net.Listener) net.Listener) (*recorder, int) {
	rec := &recorder{}
	srv := smtp.NewServer(rec)
	srv.Domain = "relay.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range adjust {
		l = f(srv, l)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return rec, l.Addr().(*net.TCPAddr).Port
}

type fixedDNS struct{}

func (fixedDNS) LookupMX(context.Context, string) ([]*net.MX, error) {
	return []*net.MX{{Host: "mx.far.test.", Pref: 10}}, nil
}
func (fixedDNS) LookupIP(context.Context, string) ([]net.IP, error) {
	return []net.IP{net.IPv4(127, 0, 0, 1)}, nil
}
func (fixedDNS) LookupTXT(context.Context, string) ([]string, error) { return nil, nil }

// TestSmarthostAuthOverVerifiedTLSButNeverToMX: the smarthost gets AUTH
// PLAIN after a verified STARTTLS; the same server reached as an MX, though
// it offers AUTH, gets none.
func TestSmarthostAuthOverVerifiedTLSButNeverToMX(t *testing.T) {
	cert, pool := selfSigned(t, "relay.test")
	rec, port := startRecorder(t, cert)
	_, m := spoolOne(t, "alice@ours.example", []string{"bob@far.test"}, "Subject: x\r\n\r\nbody\r\n")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	relay := &Remote{DNS: fixedDNS{}, Hostname: "mail.ours.example", Roots: pool, Log: log,
		Smarthost: "relay.test:" + strconv.Itoa(port), SmarthostUser: "relayuser", SmarthostPassword: "pw-1"}
	// relay.test resolves through fixedDNS to 127.0.0.1.
	out := relay.Deliver(context.Background(), m, "far.test", []string{"bob@far.test"}, nil)
	if o := out["bob@far.test"]; o.Status != spool.Delivered {
		t.Fatalf("via smarthost: %+v", o)
	}
	relay.Close()

	mx := &Remote{DNS: fixedDNS{}, Hostname: "mail.ours.example", Port: port, Log: log}
	out = mx.Deliver(context.Background(), m, "far.test", []string{"bob@far.test"}, nil)
	if o := out["bob@far.test"]; o.Status != spool.Delivered {
		t.Fatalf("via MX: %+v", o)
	}
	mx.Close()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.auths) != 1 || rec.auths[0] != "relayuser:pw-1" {
		t.Fatalf("AUTH seen: %v, want exactly the smarthost's", rec.auths)
	}
	if len(rec.data) != 2 || !rec.tls[0] || !rec.tls[1] {
		t.Fatalf("deliveries %d, over TLS %v", len(rec.data), rec.tls)
	}
}

// TestSmarthostRefusesUnverifiedCertificate: credentials never go to a
// smarthost whose certificate does not verify.
func TestSmarthostRefusesUnverifiedCertificate(t *testing.T) {
	cert, _ := selfSigned(t, "relay.test")
	rec, port := startRecorder(t, cert)
	_, m := spoolOne(t, "alice@ours.example", []string{"bob@far.test"}, "Subject: x\r\n\r\nbody\r\n")
	relay := &Remote{DNS: fixedDNS{}, Hostname: "mail.ours.example", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Smarthost: "relay.test:" + strconv.Itoa(port), SmarthostUser: "relayuser", SmarthostPassword: "pw-1"}
	out := relay.Deliver(context.Background(), m, "far.test", []string{"bob@far.test"}, nil)
	if o := out["bob@far.test"]; o.Status != spool.Pending || o.Text[:9] != "451 4.7.5" {
		t.Fatalf("outcome %+v, want pending 4.7.5", o)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.auths) != 0 || len(rec.data) != 0 {
		t.Fatalf("auths %v data %d", rec.auths, len(rec.data))
	}
}

// TestSmarthostImplicitTLS: a smarthost on port 465 style gets TLS from the
// first byte, verified, then AUTH.
func TestSmarthostImplicitTLS(t *testing.T) {
	cert, pool := selfSigned(t, "relay.test")
	rec, port := startRecorder(t, cert, func(srv *smtp.Server, l net.Listener) net.Listener {
		return tls.NewListener(l, srv.TLSConfig)
	})
	_, m := spoolOne(t, "alice@ours.example", []string{"bob@far.test"}, "Subject: x\r\n\r\nbody\r\n")
	relay := &Remote{DNS: fixedDNS{}, Hostname: "mail.ours.example", Roots: pool, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Smarthost: "relay.test:" + strconv.Itoa(port), SmarthostImplicitTLS: true, SmarthostUser: "u", SmarthostPassword: "p"}
	out := relay.Deliver(context.Background(), m, "far.test", []string{"bob@far.test"}, nil)
	relay.Close()
	if o := out["bob@far.test"]; o.Status != spool.Delivered {
		t.Fatalf("outcome %+v", o)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.auths) != 1 || rec.auths[0] != "u:p" || len(rec.data) != 1 {
		t.Fatalf("auths %v data %d", rec.auths, len(rec.data))
	}
}

// TestTooManyRecipientsGoInNextTransaction: a server taking one recipient
// per transaction (452 4.5.3 for more) gets three transactions on one
// connection, and every recipient is delivered in this attempt.
func TestTooManyRecipientsGoInNextTransaction(t *testing.T) {
	cert, _ := selfSigned(t, "mx.far.test")
	rec, port := startRecorder(t, cert, func(srv *smtp.Server, l net.Listener) net.Listener {
		srv.Domain = "mx.far.test"
		srv.MaxRecipients = 1
		return l
	})
	rcpts := []string{"a@far.test", "b@far.test", "c@far.test"}
	_, m := spoolOne(t, "alice@ours.example", rcpts, "Subject: x\r\n\r\nbody\r\n")
	r := &Remote{DNS: fixedDNS{}, Hostname: "mail.ours.example", Port: port, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	out := r.Deliver(context.Background(), m, "far.test", rcpts, nil)
	r.Close()
	for _, rc := range rcpts {
		if out[rc].Status != spool.Delivered {
			t.Errorf("%s: %+v", rc, out[rc])
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.data) != 3 {
		t.Fatalf("%d transactions, want 3", len(rec.data))
	}
}

// TestPlaintextFallbackSessionIsReused: after a failed opportunistic
// STARTTLS the plaintext session delivers, and the next message to the
// host goes over it too, not over two new connections.
func TestPlaintextFallbackSessionIsReused(t *testing.T) {
	rec, port := startRecorder(t, tls.Certificate{}, func(srv *smtp.Server, l net.Listener) net.Listener {
		srv.TLSConfig = &tls.Config{} // offers STARTTLS, cannot complete it
		return l
	})
	_, m := spoolOne(t, "alice@ours.example", []string{"bob@far.test"}, "Subject: x\r\n\r\nbody\r\n")
	r := &Remote{DNS: fixedDNS{}, Hostname: "mail.ours.example", Port: port, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	defer r.Close()
	for i := 0; i < 2; i++ {
		out := r.Deliver(context.Background(), m, "far.test", []string{"bob@far.test"}, nil)
		if o := out["bob@far.test"]; o.Status != spool.Delivered {
			t.Fatalf("message %d: %+v", i+1, o)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.data) != 2 || rec.tls[0] || rec.tls[1] {
		t.Fatalf("deliveries %d, over TLS %v; want 2 in plaintext", len(rec.data), rec.tls)
	}
	if rec.conns != 2 {
		t.Fatalf("%d connections, want 2: the failed STARTTLS one and the plaintext one, reused", rec.conns)
	}
}
