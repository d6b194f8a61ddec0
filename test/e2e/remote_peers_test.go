package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"mailgate/internal/testpeer"
)

// testDNS is an authoritative DNS server for the test's domains, run
// in-process on loopback (UDP and TCP on one port) with miekg/dns.
type testDNS struct {
	Addr   string
	mu     sync.Mutex
	rrs    map[string][]mdns.RR
	signed []string // zones answered with AD=1, as a validating resolver would
}

// sign makes the answers for names in zones "secure" (the AD bit).
func (d *testDNS) sign(zones ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.signed = append(d.signed, zones...)
}

func startDNS(t *testing.T, zone ...string) *testDNS {
	t.Helper()
	d := &testDNS{rrs: map[string][]mdns.RR{}}
	d.add(t, zone...)
	var pc net.PacketConn
	var l net.Listener
	for i := 0; ; i++ {
		port := FreePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		var err error
		if pc, err = net.ListenPacket("udp", addr); err == nil {
			if l, err = net.Listen("tcp", addr); err == nil {
				d.Addr = addr
				break
			}
			pc.Close()
		}
		if i > 10 {
			t.Fatal(err)
		}
	}
	h := mdns.HandlerFunc(d.serve)
	udp := &mdns.Server{PacketConn: pc, Handler: h}
	tcp := &mdns.Server{Listener: l, Handler: h}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return d
}

// add loads records in zone-file syntax ("name ttl IN type data").
func (d *testDNS) add(t *testing.T, lines ...string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, line := range lines {
		rr, err := mdns.NewRR(line)
		if err != nil {
			t.Fatalf("zone line %q: %v", line, err)
		}
		n := strings.ToLower(rr.Header().Name)
		d.rrs[n] = append(d.rrs[n], rr)
	}
}

// replace answers lines instead of the records of their names and
// types: a record changed while a test runs.
func (d *testDNS) replace(t *testing.T, lines ...string) {
	t.Helper()
	d.mu.Lock()
	for _, line := range lines {
		rr, err := mdns.NewRR(line)
		if err != nil {
			d.mu.Unlock()
			t.Fatalf("zone line %q: %v", line, err)
		}
		n := strings.ToLower(rr.Header().Name)
		d.rrs[n] = slices.DeleteFunc(d.rrs[n], func(old mdns.RR) bool { return old.Header().Rrtype == rr.Header().Rrtype })
	}
	d.mu.Unlock()
	d.add(t, lines...)
}

func (d *testDNS) serve(w mdns.ResponseWriter, r *mdns.Msg) {
	m := new(mdns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) == 1 {
		q := r.Question[0]
		d.mu.Lock()
		rrs, ok := d.rrs[strings.ToLower(q.Name)]
		for _, z := range d.signed {
			if n := strings.TrimSuffix(strings.ToLower(q.Name), "."); n == z || strings.HasSuffix(n, "."+z) {
				m.AuthenticatedData = true
			}
		}
		d.mu.Unlock()
		if !ok {
			m.Rcode = mdns.RcodeNameError
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	w.WriteMsg(m)
}

// sink is Postfix's smtp-sink: a real SMTP server that stores each
// transaction it accepts as one file in Dir.
type sink struct {
	Dir  string
	Addr string
	cmd  *exec.Cmd
}

// startSink runs smtp-sink on ip:port with extra options (-r CMD: 4xx,
// -f CMD: 5xx, -w N: delay DATA replies).
func startSink(t *testing.T, ip string, port int, dir string, opts ...string) *sink {
	t.Helper()
	NeedTool(t, "smtp-sink")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "mailgate-sink-"); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o777)
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	s := &sink{Dir: dir, Addr: net.JoinHostPort(ip, fmt.Sprint(port))}
	args := append([]string{"-u", "nobody", "-d", filepath.Join(dir, "m.")}, opts...)
	args = append(args, s.Addr, "64")
	s.cmd = exec.Command("smtp-sink", args...)
	out := &strings.Builder{}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	WaitPort(t, s.Addr)
	return s
}

func (s *sink) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// messages returns the transactions the sink stored. smtp-sink creates a
// file before it writes it: one still empty or cut inside a line is not a
// message yet (a test that read it saw an empty message).
func (s *sink) messages() []string {
	var out []string
	for _, m := range readFiles(filepath.Join(s.Dir, "m.*")) {
		if strings.HasSuffix(m, "\n") {
			out = append(out, m)
		}
	}
	return out
}

// wait waits up to 30 s for the sink to hold n transactions.
func (s *sink) wait(t *testing.T, n int, node *Node) []string {
	t.Helper()
	return waitMessages(t, "sink", n, node, s.messages, nil)
}

// readFiles returns the contents of the files matching the patterns.
func readFiles(patterns ...string) []string {
	var out []string
	for _, pat := range patterns {
		files, _ := filepath.Glob(pat)
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				out = append(out, string(b))
			}
		}
	}
	return out
}

// waitMessages waits up to 30 s for list to return at least n messages;
// on time-out it fails with the node's queue and log, and the peer's log
// when it has one.
func waitMessages(t *testing.T, peer string, n int, node *Node, list func() []string, peerLog func() string) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := list()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			extra := ""
			if peerLog != nil {
				extra = peer + " log:\n" + peerLog()
			}
			t.Fatalf("%s holds %d messages, want %d\nqueue:\n%s\nnode log:\n%s\n%s", peer, len(got), n, node.MustCLI("", "queue", "list"), node.Log(), extra)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// remotePostfix is a Postfix instance acting as a remote domain's MX on ip
// (Postfix insists on an address configured on an interface: 127.0.0.1),
// delivering every recipient of domains into one Maildir (vmail/inbox/).
type remotePostfix struct {
	*testpeer.Postfix
	Vmail string
}

func startRemotePostfix(t *testing.T, ip string, port int, domains string, certFile, keyFile string) *remotePostfix {
	t.Helper()
	return startRemotePostfixWith(t, ip, port, domains, certFile, keyFile, nil)
}

// startRemotePostfixWith is startRemotePostfix with more main.cf settings.
func startRemotePostfixWith(t *testing.T, ip string, port int, domains string, certFile, keyFile string, more map[string]string) *remotePostfix {
	t.Helper()
	NeedTool(t, "postfix")
	vmail, err := os.MkdirTemp("", "mailgate-vmail-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(vmail, 0o777)
	t.Cleanup(func() { os.RemoveAll(vmail) })
	settings := map[string]string{
		"inet_interfaces":          ip,
		"myhostname":               "mx.remote.test",
		"mynetworks":               "",
		"smtpd_relay_restrictions": "reject_unauth_destination",
		"virtual_mailbox_domains":  domains,
		"virtual_mailbox_base":     vmail,
		"virtual_mailbox_maps":     "static:inbox/",
		"virtual_uid_maps":         "static:65534",
		"virtual_gid_maps":         "static:65534",
		"virtual_minimum_uid":      "1",
	}
	if certFile != "" {
		settings["smtpd_tls_security_level"] = "may"
		settings["smtpd_tls_cert_file"] = certFile
		settings["smtpd_tls_key_file"] = keyFile
		settings["smtpd_tls_received_header"] = "yes"
	}
	for k, v := range more {
		settings[k] = v
	}
	p, err := testpeer.StartPostfix(port, settings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	WaitPort(t, net.JoinHostPort(ip, fmt.Sprint(port)))
	return &remotePostfix{Postfix: p, Vmail: vmail}
}

// inbox returns the messages Postfix delivered.
func (p *remotePostfix) inbox() []string {
	return readFiles(filepath.Join(p.Vmail, "inbox", "new", "*"), filepath.Join(p.Vmail, "inbox", "cur", "*"))
}

// wait waits up to 30 s for Postfix to have delivered n messages.
func (p *remotePostfix) wait(t *testing.T, n int, node *Node) []string {
	t.Helper()
	return waitMessages(t, "remote Postfix", n, node, p.inbox, p.Log)
}

// testCA issues certificates for test host names.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	File string // CA certificate, PEM
	dir  string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	dir, err := os.MkdirTemp("", "mailgate-ca-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailgate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, File: filepath.Join(dir, "ca.pem"), dir: dir}
	writePEM(t, ca.File, "CERTIFICATE", der)
	return ca
}

// issue writes a certificate for names, signed by the CA (or self-signed
// when ca is nil), and returns the cert and key file paths.
func (ca *testCA) issue(t *testing.T, selfSigned bool, names ...string) (string, string) {
	t.Helper()
	name := names[0]
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	parent, signer := ca.cert, ca.key
	if selfSigned {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	cf := filepath.Join(ca.dir, name+".crt")
	kf := filepath.Join(ca.dir, name+".key")
	writePEM(t, cf, "CERTIFICATE", der)
	writePEM(t, kf, "PRIVATE KEY", kder)
	os.Chmod(kf, 0o600)
	return cf, kf
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}
