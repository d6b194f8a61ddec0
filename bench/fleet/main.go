// Command fleet benchmarks what a fleet's extra hop costs: two nodes on
// one PostgreSQL, alice's mailbox homed on node-b. Inbound mail from
// Postfix's smtp-source goes once straight to the home node's MX and once
// to node-a's MX, which spools it and hands it to node-b over LMTP with
// mutual TLS (accepted msg/s, end-to-end msg/s until the last message is
// in the Maildir, CPU per 1000). Then IMAP SELECT and FETCH 1:* (FLAGS)
// latency on the resulting mailbox, direct on node-b beside proxied
// through node-a (Python imaplib, a new connection per run, medians).
// Runs are interleaved.
//
//	MAILGATE_TEST_POSTGRES=postgres://... go run ./bench/fleet -mailgate ./mailgate
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"mailgate/bench/measure"
	"mailgate/internal/testpeer"
)

var (
	messages = flag.Int("messages", 2000, "messages per run (smtp-source -m)")
	sessions = flag.Int("sessions", 20, "parallel sessions (smtp-source -s)")
	size     = flag.Int("size", 10240, "message size in bytes (smtp-source -l)")
	runs     = flag.Int("runs", 3, "interleaved runs per target")
)

const user, password = "alice@example.net", "bench-password-1"

func main() {
	binary := flag.String("mailgate", "./mailgate", "path of the mailgate binary")
	flag.Parse()
	if err := run(*binary); err != nil {
		fmt.Fprintln(os.Stderr, "bench/fleet:", err)
		os.Exit(1)
	}
}

func run(binary string) error {
	dsn, drop, err := freshDatabase()
	if err != nil {
		return err
	}
	defer drop()
	work, err := os.MkdirTemp("", "mailgate-bench-fleet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ns, err := testpeer.StartNSD(map[string]string{"remote.example": "@ IN TXT \"v=spf1 ip4:127.0.0.1 -all\""})
	if err != nil {
		return err
	}
	defer ns.Stop()
	ca, err := newCA(work)
	if err != nil {
		return err
	}
	var nodes []*node
	defer func() {
		for _, n := range nodes {
			n.Stop()
		}
	}()
	for _, name := range []string{"node-a", "node-b"} {
		n, err := startNode(binary, work, dsn, name, ca, fmt.Sprintf("[dns]\nservers = [%q]\n[auth]\nenabled = false\n", ns.Addr))
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	a, b := nodes[0], nodes[1]
	if err := a.CLI("", "domain", "add", "example.net"); err != nil {
		return err
	}
	if err := a.CLI(password+"\n", "user", "add", user, "--password-stdin", "--home", "node-b"); err != nil {
		return err
	}
	maildir := filepath.Join(b.Dir, "mail", "example.net", "alice", "new")
	inbound := func(via *node) func() (measure.Result, error) {
		return func() (measure.Result, error) {
			count := measure.CountFiles(maildir)
			base := count()
			load := measure.SMTPSource("127.0.0.1:"+strconv.Itoa(via.mx), *sessions, *messages, *size, "sender@remote.example", user)
			return measure.Run(*messages, load, func() int { return count() - base }, 10*time.Minute)
		}
	}
	targets := []measure.Target{
		{Name: "MX of the home node (node-b)", Run: inbound(b)},
		{Name: "MX of node-a, LMTP hand-off to node-b", Run: inbound(a)},
	}
	results, err := measure.Interleave(targets, *runs)
	if err != nil {
		return err
	}
	measure.PrintTable(fmt.Sprintf("Inbound SMTP through a fleet, %d × %d-byte messages, %d sessions (smtp-source), %d interleaved runs",
		*messages, *size, *sessions, *runs), targets, results)

	total := *messages * len(targets) * *runs
	var sel, fet [2][]float64
	for r := 0; r < *runs*3; r++ {
		for i, n := range []*node{b, a} {
			s, f, c, err := imapTimes(n.imaps)
			if err != nil {
				return err
			}
			if c != total {
				return fmt.Errorf("IMAP through %s saw %d messages, want %d", n.name, c, total)
			}
			sel[i], fet[i] = append(sel[i], s), append(fet[i], f)
		}
	}
	fmt.Printf("\nIMAP on a %d-message INBOX, Python imaplib over TLS, new connection per run, %d interleaved runs: median ms\n\n", total, *runs*3)
	fmt.Printf("| %-40s | %-12s | %-22s |\n", "path", "SELECT ms", "FETCH 1:* (FLAGS) ms")
	fmt.Printf("|%s|%s|%s|\n", strings.Repeat("-", 42), strings.Repeat("-", 14), strings.Repeat("-", 24))
	for i, name := range []string{"direct to the home node (node-b)", "through node-a (proxied to node-b)"} {
		fmt.Printf("| %-40s | %-12.1f | %-22.1f |\n", name, median(sel[i]), median(fet[i]))
	}
	return nil
}

// node is one running mailgate of the benchmark fleet.
type node struct {
	*measure.Node
	name      string
	mx, imaps int
}

func startNode(binary, work, dsn, name string, ca *ca, extra string) (*node, error) {
	n := &node{name: name, mx: measure.FreePort(), imaps: measure.FreePort()}
	dir := filepath.Join(work, name)
	files, err := ca.issue(work, name)
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf("hostname = \"mail.bench.example\"\ndata_dir = %q\ndatabase = %q\n%s"+
		"[limits]\nmax_connections_per_ip = 100\n[log]\nlevel = \"warn\"\n[fleet]\nnode = %q\nlisten = \"127.0.0.1:%d\"\n%s%s",
		dir, dsn, measure.ListenTOML(map[string]int{"mx": n.mx, "imaps": n.imaps}), name, measure.FreePort(), files, extra)
	if n.Node, err = measure.Launch(binary, dir, cfg, n.mx, n.imaps); err != nil {
		return nil, err
	}
	return n, nil
}

const imapScript = `
import imaplib, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx)
m.login(sys.argv[2], sys.argv[3])
t0 = time.perf_counter()
typ, data = m.select("INBOX")
t1 = time.perf_counter()
typ, lines = m.fetch("1:*", "(FLAGS)")
t2 = time.perf_counter()
print("%.2f %.2f %d" % ((t1 - t0) * 1000, (t2 - t1) * 1000, int(data[0])))
m.logout()
`

func imapTimes(port int) (sel, fetch float64, count int, err error) {
	out, err := exec.Command("python3", "-c", imapScript, strconv.Itoa(port), user, password).CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("imaplib: %v: %s", err, out)
	}
	_, err = fmt.Sscan(string(out), &sel, &fetch, &count)
	return sel, fetch, count, err
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// freshDatabase creates a database on MAILGATE_TEST_POSTGRES's server.
func freshDatabase() (string, func(), error) {
	admin := os.Getenv("MAILGATE_TEST_POSTGRES")
	if admin == "" {
		return "", nil, fmt.Errorf("MAILGATE_TEST_POSTGRES is not set: run it under scripts/with-postgres.sh (scripts/bench-fleet.sh does)")
	}
	name := fmt.Sprintf("mg_bench_fleet_%d", time.Now().UnixNano())
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		db.Close()
		return "", nil, err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() { db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); db.Close() }, nil
}

// ca is the benchmark's fleet CA.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string
}

func newCA(dir string) (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench fleet CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	c := &ca{cert: cert, key: key, file: filepath.Join(dir, "fleet-ca.pem")}
	return c, writePEM(c.file, "CERTIFICATE", der)
}

// issue writes a node certificate and returns the [fleet] file settings.
func (c *ca) issue(dir, name string) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return "", err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	certFile, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
		return "", err
	}
	if err := writePEM(keyFile, "EC PRIVATE KEY", kder); err != nil {
		return "", err
	}
	return fmt.Sprintf("ca_file = %q\ncert_file = %q\nkey_file = %q\n", c.file, certFile, keyFile), nil
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
