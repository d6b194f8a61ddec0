package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"mailgate/internal/dkim"
	"mailgate/internal/testpeer"
)

// authZones are the sender domains of the authentication tests, served by
// a real nsd. Mail comes from 127.0.0.1, which some SPF records name and
// others do not. unserved.test is in no zone: nsd refuses it and the
// node's second server never answers (temperror).
func authZones(dkimRecord string) map[string]string {
	return map[string]string{
		"pass.test":   `@ IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
		"fail.test":   `@ IN TXT "v=spf1 ip4:192.0.2.1 -all"`,
		"soft.test":   `@ IN TXT "v=spf1 ~all"`,
		"none.test":   `@ IN A 192.0.2.9`,
		"helo.test":   "client IN A 127.0.0.1\nclient IN TXT \"v=spf1 a -all\"",
		"signer.test": "@ IN TXT \"v=spf1 -all\"\n_dmarc IN TXT \"v=DMARC1; p=reject\"\n" + dkimRecord,
		"reject.test": "@ IN TXT \"v=spf1 -all\"\n_dmarc IN TXT \"v=DMARC1; p=reject\"",
		"quar.test":   "@ IN TXT \"v=spf1 -all\"\n_dmarc IN TXT \"v=DMARC1; p=quarantine; pct=100\"",
	}
}

// authNode starts nsd with authZones and a node that asks it, hosting
// alice@example.net; it returns the node and the private key file that
// signs for signer.test (selector "sel").
func authNode(t *testing.T, extra string) (*Node, string) {
	t.Helper()
	NeedTool(t, "nsd")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "signer.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	val, err := dkim.RecordValue(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for len(val) > 200 {
		parts, val = append(parts, strconv.Quote(val[:200])), val[200:]
	}
	record := "sel._domainkey IN TXT ( " + strings.Join(append(parts, strconv.Quote(val)), " ") + " )"
	ns, err := testpeer.StartNSD(authZones(record))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Stop)
	// A second server that never answers: what nsd refuses (a name in
	// none of its zones) is asked there next and times out, as a sender
	// domain whose name servers are down does.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	n := NewNode(t, "", fmt.Sprintf("[dns]\nservers = [%q, %q]\ntimeout = \"1s\"\n%s", ns.Addr, silent.LocalAddr(), extra))
	n.AddUser("alice@example.net", "alice-secret-1")
	n.Start()
	return n, keyFile
}

// sendMX sends a whole message (header and body, LF line ends) to the MX
// with swaks and returns swaks's transcript and error.
func sendMX(t *testing.T, n *Node, helo, mailFrom, msg string) (string, error) {
	t.Helper()
	swaks := NeedTool(t, "swaks")
	if mailFrom == "" {
		mailFrom = "<>" // swaks's spelling of the null reverse-path
	}
	cmd := exec.Command(swaks, "-s", n.Addr("mx"), "--ehlo", helo, "-f", mailFrom, "-t", "alice@example.net", "--data", "-")
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// dkimSign signs msg for signer.test with dkimpy's dkimsign.
func dkimSign(t *testing.T, keyFile, msg string) string {
	t.Helper()
	sign := NeedTool(t, "dkimsign")
	cmd := exec.Command(sign, "--hcanon", "relaxed", "--bcanon", "simple", "sel", "signer.test", keyFile)
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dkimsign: %v", err)
	}
	return string(out)
}

// storedFields returns the unfolded values of the named fields of the
// newest message in a folder of alice's mailbox ("" for INBOX).
func storedFields(t *testing.T, path, name string) []string {
	t.Helper()
	header, _ := splitMessage(t, readFile(t, path))
	header = strings.ReplaceAll(header, "\r\n\t", " ")
	header = strings.ReplaceAll(header, "\r\n ", " ")
	var out []string
	for _, line := range strings.Split(header, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			out = append(out, strings.Join(strings.Fields(v), " "))
		}
	}
	return out
}

func msgFrom(from, subject string) string {
	return "From: <" + from + ">\nTo: <alice@example.net>\nSubject: " + subject + "\nMessage-ID: <" + subject + "@test>\n\nHello Alice,\nthis is " + subject + ".\n"
}

// TestMXSPFResults: each SPF result lands in the stored message's
// Authentication-Results and Received-SPF, with the MAIL FROM identity,
// or the HELO identity for a null sender (RFC 7208 §2.3). A domain whose
// DNS does not answer gives temperror and, by default, is delivered.
func TestMXSPFResults(t *testing.T) {
	n, _ := authNode(t, "")
	cases := []struct {
		helo, mailFrom, from, spf, identity string
	}{
		{"client.example", "bob@pass.test", "bob@pass.test", "pass", "smtp.mailfrom=bob@pass.test"},
		{"client.example", "bob@fail.test", "bob@fail.test", "fail", "smtp.mailfrom=bob@fail.test"},
		{"client.example", "bob@soft.test", "bob@soft.test", "softfail", "smtp.mailfrom=bob@soft.test"},
		{"client.example", "bob@none.test", "bob@none.test", "none", "smtp.mailfrom=bob@none.test"},
		{"client.example", "bob@unserved.test", "bob@none.test", "temperror", "smtp.mailfrom=bob@unserved.test"},
		{"client.helo.test", "", "mailer-daemon@none.test", "pass", "smtp.helo=client.helo.test"},
	}
	for i, c := range cases {
		subject := fmt.Sprintf("spf-%d-%s", i, c.spf)
		if out, err := sendMX(t, n, c.helo, c.mailFrom, msgFrom(c.from, subject)); err != nil {
			t.Fatalf("%s: swaks: %v\n%s", subject, err, out)
		}
		files := n.WaitMaildir("alice@example.net", i+1)
		path := newest(t, files, subject)
		ar := storedFields(t, path, "Authentication-Results")
		if len(ar) != 1 || !strings.HasPrefix(ar[0], "mail.test.example; spf="+c.spf+" ") || !strings.Contains(ar[0], c.identity) {
			t.Errorf("%s: Authentication-Results %q, want spf=%s %s", subject, ar, c.spf, c.identity)
		}
		rs := storedFields(t, path, "Received-SPF")
		if len(rs) != 1 || !strings.HasPrefix(rs[0], c.spf+" (mail.test.example: ") || !strings.Contains(rs[0], "client-ip=127.0.0.1;") {
			t.Errorf("%s: Received-SPF %q", subject, rs)
		}
		if c.spf == "temperror" && !strings.Contains(rs[0], "timeout") {
			t.Errorf("%s: the problem should be the unanswered query: %q", subject, rs)
		}
	}
}

// newest finds the stored message whose Subject is subject.
func newest(t *testing.T, files []string, subject string) string {
	t.Helper()
	for _, f := range files {
		if strings.Contains(readFile(t, f), "\r\nSubject: "+subject+"\r\n") {
			return f
		}
	}
	t.Fatalf("no stored message with subject %s among %d", subject, len(files))
	return ""
}

var arDKIM = regexp.MustCompile(`dkim=(\w+)[^;]* header\.d=signer\.test`)

// TestMXDKIMAndForgedResults: a message signed by dkimpy passes DKIM and
// DMARC; the same message with its body changed fails DKIM; an
// Authentication-Results field claiming our authserv-id is removed, and
// others' stay. Postfix relaying a signed message keeps it verifiable.
func TestMXDKIMAndForgedResults(t *testing.T) {
	n, key := authNode(t, "")
	signed := dkimSign(t, key, msgFrom("ceo@signer.test", "dkim-pass"))
	forged := "Authentication-Results: mail.test.example; dkim=pass header.d=bank.test; dmarc=pass\n" +
		"Authentication-Results: other.example; spf=pass\n" + signed
	if out, err := sendMX(t, n, "client.example", "bounce@none.test", forged); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	path := newest(t, n.WaitMaildir("alice@example.net", 1), "dkim-pass")
	ar := storedFields(t, path, "Authentication-Results")
	if len(ar) != 2 || !strings.HasPrefix(ar[0], "mail.test.example;") || ar[1] != "other.example; spf=pass" {
		t.Fatalf("want our field and other.example's, the forged one gone: %q", ar)
	}
	if m := arDKIM.FindStringSubmatch(ar[0]); m == nil || m[1] != "pass" || !strings.Contains(ar[0], "dmarc=pass") || strings.Contains(ar[0], "bank.test") {
		t.Errorf("signed: %q", ar[0])
	}

	altered := strings.Replace(dkimSign(t, key, msgFrom("news@pass.test", "dkim-fail")), "this is", "this was", 1)
	if out, err := sendMX(t, n, "client.example", "bob@pass.test", altered); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	path = newest(t, n.WaitMaildir("alice@example.net", 2), "dkim-fail")
	ar = storedFields(t, path, "Authentication-Results")
	if m := arDKIM.FindStringSubmatch(ar[0]); m == nil || m[1] != "fail" || !strings.Contains(ar[0], "spf=pass") {
		t.Errorf("altered body: %q", ar)
	}

	// Through Debian's Postfix: SPF for Postfix's MAIL FROM, DKIM intact.
	NeedTool(t, "postfix")
	pfPort := FreePort(t)
	pf, err := testpeer.StartPostfix(pfPort, map[string]string{"relayhost": "[127.0.0.1]:" + strconv.Itoa(n.Ports["mx"])})
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Stop()
	swaks := NeedTool(t, "swaks")
	cmd := exec.Command(swaks, "-s", "127.0.0.1:"+strconv.Itoa(pfPort), "-f", "bounce@pass.test", "-t", "alice@example.net", "--data", "-")
	cmd.Stdin = strings.NewReader(dkimSign(t, key, msgFrom("ceo@signer.test", "via-postfix")))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("swaks to postfix: %v\n%s", err, out)
	}
	path = newest(t, n.WaitMaildir("alice@example.net", 3), "via-postfix")
	ar = storedFields(t, path, "Authentication-Results")
	if m := arDKIM.FindStringSubmatch(ar[0]); m == nil || m[1] != "pass" || !strings.Contains(ar[0], "spf=pass smtp.mailfrom=bounce@pass.test") || !strings.Contains(ar[0], "dmarc=pass") {
		t.Errorf("via Postfix: %q", ar)
	}
}

// TestMXDMARCPolicies: a spoof of a p=reject domain is refused with
// 550 5.7.1 at the end of DATA and nothing is stored; a p=quarantine
// domain's failing mail is delivered to the Junk folder; with
// dmarc_reject = "quarantine" the p=reject spoof goes to Junk too.
func TestMXDMARCPolicies(t *testing.T) {
	n, _ := authNode(t, "")
	out, err := sendMX(t, n, "client.example", "x@none.test", msgFrom("ceo@reject.test", "spoof"))
	if err == nil || !strings.Contains(out, "<** 550 5.7.1 ") || !strings.Contains(out, "DMARC policy of reject.test") {
		t.Fatalf("spoof of p=reject: %v\n%s", err, out)
	}
	if _, err := sendMX(t, n, "client.example", "x@none.test", msgFrom("ceo@quar.test", "quarantined")); err != nil {
		t.Fatal(err)
	}
	if got := n.SettledMaildir("alice@example.net"); len(got) != 0 {
		t.Fatalf("INBOX holds %d messages, want 0 (spoof refused, quarantined in Junk)", len(got))
	}
	junk, _ := filepath.Glob(filepath.Join(n.Dir, "mail", "example.net", "alice", ".Junk", "new", "*"))
	if len(junk) != 1 || !strings.Contains(readFile(t, junk[0]), "Subject: quarantined\r\n") {
		t.Fatalf("Junk: %v", junk)
	}
	if ar := storedFields(t, junk[0], "Authentication-Results"); len(ar) != 1 || !strings.Contains(ar[0], "dmarc=fail (p=quarantine dis=quarantine) header.from=quar.test") {
		t.Fatalf("quarantined: %q", ar)
	}

	soft, _ := authNode(t, "[auth]\ndmarc_reject = \"quarantine\"\n")
	if out, err := sendMX(t, soft, "client.example", "x@none.test", msgFrom("ceo@reject.test", "spoof-downgraded")); err != nil {
		t.Fatalf("downgraded: %v\n%s", err, out)
	}
	waitSpoolEmpty(t, soft)
	junk, _ = filepath.Glob(filepath.Join(soft.Dir, "mail", "example.net", "alice", ".Junk", "new", "*"))
	if len(junk) != 1 || len(soft.Maildir("alice@example.net")) != 0 {
		t.Fatalf("downgraded reject: Junk %v, INBOX %v", junk, soft.Maildir("alice@example.net"))
	}
}

// TestMXTempErrorDefer: with temperror = "defer", a sender domain whose
// DNS fails gets 451 4.7.24 and nothing is stored.
func TestMXTempErrorDefer(t *testing.T) {
	n, _ := authNode(t, "[auth]\ntemperror = \"defer\"\n")
	out, err := sendMX(t, n, "client.example", "bob@unserved.test", msgFrom("bob@unserved.test", "deferred"))
	if err == nil || !strings.Contains(out, "<** 451 4.7.24 ") {
		t.Fatalf("want 451 4.7.24: %v\n%s", err, out)
	}
	if got := n.SettledMaildir("alice@example.net"); len(got) != 0 {
		t.Fatalf("stored %d", len(got))
	}
}

// TestSubmissionDropsForgedResults: a subscriber cannot hand a local
// recipient an Authentication-Results field in our name either (RFC 8601
// §5); other ADMDs' fields stay.
func TestSubmissionDropsForgedResults(t *testing.T) {
	swaks := NeedTool(t, "swaks")
	n := mxNode(t, "")
	msg := "Authentication-Results: mail.test.example; dmarc=pass header.from=bank.test\n" +
		"Authentication-Results: other.example; spf=pass\n" + msgFrom("alice@example.net", "submitted")
	cmd := exec.Command(swaks, "-s", n.Addr("submission"), "--tls", "--auth", "PLAIN", "--auth-user", "alice@example.net",
		"--auth-password", "alice-secret-1", "-f", "alice@example.net", "-t", "alice@example.net", "--data", "-")
	cmd.Stdin = strings.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	path := newest(t, n.WaitMaildir("alice@example.net", 1), "submitted")
	if ar := storedFields(t, path, "Authentication-Results"); len(ar) != 1 || ar[0] != "other.example; spf=pass" {
		t.Fatalf("stored Authentication-Results %q, want only other.example's", ar)
	}
}
