package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"mailgate/internal/store/storetest"
)

const (
	alice   = "alice@example.net"
	alicePW = "alice-secret-1"
	bob     = "bob@example.net"
	bobPW   = "bob-secret-22"
)

// submissionNode starts a node with alice and bob in example.net; extra
// TOML (e.g. a [limits] table) goes into the config.
func submissionNode(t *testing.T, extra string) *Node {
	t.Helper()
	n := NewNode(t, "", extra)
	n.AddUser(alice, alicePW)
	n.AddUser(bob, bobPW)
	n.Start()
	return n
}

// receivedRE is the trace field the MSA prepends: RFC 4954 §7 / RFC 3848
// ESMTPSA and the authenticated identity.
var receivedRE = regexp.MustCompile(`^Received: from (\S+) \(\[127\.0\.0\.1\]\)\r\n` +
	`\tby mail\.test\.example \(mailgate\) with ESMTPSA id ([0-9a-f]+)\r\n` +
	`\t\(using TLS ?1\.[23] with cipher [A-Z0-9_]+\)\r\n` +
	`\t\(authenticated sender: ([^)]+)\)` +
	`(?:\r\n\tfor <([^>]+)>)?;\r\n` +
	`\t[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\r\n`)

var (
	dateRE  = regexp.MustCompile(`^Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\r\n`)
	msgIDRE = regexp.MustCompile(`^Message-ID: <\d+\.[0-9a-f]{16}@mail\.test\.example>\r\n`)
)

// checkStored asserts the exact bytes of a delivered message: the
// Received field for (helo, authenticated identity, single recipient), the
// fix-ups when wantFixups, then the client's message unchanged (in CRLF).
func checkStored(t *testing.T, stored, helo, auth, rcpt string, wantFixups bool, original string) {
	t.Helper()
	m := receivedRE.FindStringSubmatch(stored)
	if m == nil {
		t.Fatalf("stored message does not begin with the expected Received field:\n%q", stored)
	}
	if m[1] != helo || m[3] != auth || m[4] != rcpt {
		t.Fatalf("Received: helo %q auth %q for %q, want %q %q %q", m[1], m[3], m[4], helo, auth, rcpt)
	}
	rest := stored[len(m[0]):]
	if wantFixups {
		d := dateRE.FindString(rest)
		if d == "" {
			t.Fatalf("no Date fix-up after Received:\n%q", rest)
		}
		rest = rest[len(d):]
		id := msgIDRE.FindString(rest)
		if id == "" {
			t.Fatalf("no Message-ID fix-up after Date:\n%q", rest)
		}
		rest = rest[len(id):]
	}
	if rest != original {
		t.Fatalf("stored message after the added fields:\n%q\nwant the client's bytes:\n%q", rest, original)
	}
	onlyCRLF(t, stored)
}

// crlf turns a LF-written text into the CRLF form on the wire.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestSubmissionSwaksStartTLSAuthPlainAndLogin(t *testing.T) {
	NeedSwaksTLS(t)
	n := submissionNode(t, "")
	for i, mech := range []string{"PLAIN", "LOGIN"} {
		// No Date, no Message-ID: the MSA adds both (RFC 6409 §8.2, §8.3).
		data := "From: Alice <alice@example.net>\nTo: bob@example.net\nSubject: swaks " + mech + "\n\nHello Bob,\nline two via " + mech + "."
		cmd := exec.Command("swaks", "--server", "127.0.0.1", "--port", strconv.Itoa(n.Ports["submission"]),
			"--ehlo", "swaks.client.test", "--tls", "--auth", mech, "--auth-user", alice, "--auth-password", alicePW,
			"--from", alice, "--to", bob, "--data", "-")
		cmd.Stdin = strings.NewReader(data)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("swaks %s: %v\n%s", mech, err, out)
		}
		for _, want := range []string{"<-  220 2.0.0 Ready to start TLS", "~> AUTH " + mech, "<~  235 2.0.0 Authentication succeeded", "<~  250 2.0.0 OK queued as "} {
			if !strings.Contains(string(out), want) {
				t.Fatalf("swaks %s transcript lacks %q:\n%s", mech, want, out)
			}
		}
		// Before STARTTLS the EHLO reply must not offer AUTH.
		pre := string(out)[:strings.Index(string(out), "-> STARTTLS")]
		if strings.Contains(pre, "AUTH") {
			t.Fatalf("AUTH offered before STARTTLS:\n%s", pre)
		}
		files := n.WaitMaildir(bob, i+1)
		stored := withMarker(t, files, "Subject: swaks "+mech+"\r\n")
		// swaks ends the data with CRLF itself.
		checkStored(t, stored, "swaks.client.test", alice, bob, true, crlf(data)+"\r\n")
	}
}

// withMarker returns the content of the one file in files that contains
// marker (e.g. a unique Subject line).
func withMarker(t *testing.T, files []string, marker string) string {
	t.Helper()
	found := ""
	for _, f := range files {
		if b := readFile(t, f); strings.Contains(b, marker) {
			if found != "" {
				t.Fatalf("two messages contain %q", marker)
			}
			found = b
		}
	}
	if found == "" {
		t.Fatalf("no message contains %q", marker)
	}
	return found
}

func TestSubmissionSwaksTLSOnConnect465(t *testing.T) {
	NeedSwaksTLS(t)
	n := submissionNode(t, "")
	// Date and Message-ID present: the MSA must not add second ones.
	data := "Date: Mon, 02 Jan 2006 15:04:05 +0000\nMessage-ID: <given.1@example.net>\nFrom: alice@example.net\nTo: bob@example.net\nSubject: 465\n\nimplicit TLS body"
	cmd := exec.Command("swaks", "--server", "127.0.0.1", "--port", strconv.Itoa(n.Ports["submissions"]),
		"--ehlo", "tls.client.test", "--tls-on-connect", "--auth", "LOGIN", "--auth-user", alice, "--auth-password", alicePW,
		"--from", alice, "--to", bob, "--data", "-")
	cmd.Stdin = strings.NewReader(data)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "<~  235 2.0.0 Authentication succeeded") || !strings.Contains(string(out), "<~  250 2.0.0 OK queued as ") {
		t.Fatalf("swaks transcript:\n%s", out)
	}
	stored := readFile(t, n.WaitMaildir(bob, 1)[0])
	checkStored(t, stored, "tls.client.test", alice, bob, false, crlf(data)+"\r\n")
	h, _ := splitMessage(t, stored)
	if headerCount(h, "Message-ID") != 1 || headerCount(h, "Date") != 1 {
		t.Fatalf("want exactly one Message-ID and one Date:\n%s", h)
	}
}

func TestSubmissionCurlSMTPAndSMTPS(t *testing.T) {
	NeedTool(t, "curl")
	n := submissionNode(t, "")
	cases := []struct {
		name, url string
		args      []string
	}{
		{"smtp-starttls", "smtp://127.0.0.1:" + strconv.Itoa(n.Ports["submission"]), []string{"--ssl-reqd"}},
		{"smtps", "smtps://127.0.0.1:" + strconv.Itoa(n.Ports["submissions"]), nil},
	}
	for i, c := range cases {
		data := "From: alice@example.net\r\nTo: bob@example.net\r\nMessage-ID: <curl." + c.name + "@example.net>\r\nSubject: curl " + c.name + "\r\n\r\nsent by curl over " + c.name + "\r\n"
		f := filepath.Join(t.TempDir(), "msg.eml")
		os.WriteFile(f, []byte(data), 0o600)
		args := append([]string{"-sS", "-v", "-k", c.url + "/curl.client.test", "--mail-from", alice, "--mail-rcpt", bob,
			"--user", alice + ":" + alicePW, "--login-options", "AUTH=PLAIN", "--upload-file", f}, c.args...)
		out, err := exec.Command("curl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", c.name, err, out)
		}
		for _, want := range []string{"< 235 2.0.0", "< 250 2.0.0 OK queued as"} {
			if !strings.Contains(string(out), want) {
				t.Fatalf("curl %s transcript lacks %q:\n%s", c.name, want, out)
			}
		}
		stored := withMarker(t, n.WaitMaildir(bob, i+1), "Subject: curl "+c.name+"\r\n")
		// Date is missing, Message-ID present: only Date is added.
		m := receivedRE.FindString(stored)
		if m == "" {
			t.Fatalf("no Received field:\n%q", stored)
		}
		rest := stored[len(m):]
		d := dateRE.FindString(rest)
		if d == "" || rest[len(d):] != data {
			t.Fatalf("want Received, Date, then the client's bytes; got:\n%q", stored)
		}
		if !strings.Contains(m, "(authenticated sender: alice@example.net)") || !strings.HasPrefix(m, "Received: from curl.client.test ") {
			t.Fatalf("Received field: %q", m)
		}
	}
}

const pySubmit = `
import smtplib, ssl, sys
from email.message import EmailMessage
port, user, pw, to = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", port, local_hostname="py.client.test")
code, _ = s.ehlo(); print("ehlo", code, s.has_extn("auth"))
code, _ = s.starttls(context=ctx); print("starttls", code)
code, _ = s.ehlo(); print("ehlo", code, s.has_extn("auth"), s.esmtp_features.get("auth", "").strip())
code, _ = s.login(user, pw); print("login", code)
m = EmailMessage()
m["From"] = user
m["To"] = to
m["Subject"] = "python smtplib"
m.set_content("Sent by smtplib.\nSecond line.\n")
print("refused", s.send_message(m))
code, resp = s.noop(); print("noop", code)
code, _ = s.quit(); print("quit", code)
`

func TestSubmissionPythonSmtplib(t *testing.T) {
	NeedTool(t, "python3")
	n := submissionNode(t, "")
	out, err := exec.Command("python3", "-c", pySubmit, strconv.Itoa(n.Ports["submission"]), alice, alicePW, bob).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	want := "ehlo 250 False\nstarttls 220\nehlo 250 True PLAIN LOGIN\nlogin 235\nrefused {}\nnoop 250\nquit 221\n"
	if string(out) != want {
		t.Fatalf("python transcript:\n%s\nwant:\n%s", out, want)
	}
	stored := readFile(t, n.WaitMaildir(bob, 1)[0])
	original := "From: alice@example.net\r\nTo: bob@example.net\r\nSubject: python smtplib\r\n" +
		"Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 7bit\r\nMIME-Version: 1.0\r\n\r\n" +
		"Sent by smtplib.\r\nSecond line.\r\n"
	checkStored(t, stored, "py.client.test", alice, bob, true, original)
}

// TestSubmissionRawExactBytes sends through our raw client so every byte
// is known, to several recipients (no "for" clause then), one of them via
// an alias.
func TestSubmissionRawExactBytes(t *testing.T) {
	n := submissionNode(t, "")
	n.MustCLI("", "alias", "add", "robert@example.net", bob)
	c := login(t, n, alice, alicePW)
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<robert@example.net>", "250 ")
	c.cmd("RCPT TO:<Alice@Example.NET>", "250 ")
	c.cmd("DATA", "354 ")
	original := "From: \"Alice\" <ALICE@example.net>\r\nSubject: raw\r\n\r\n..leading dot line\r\nlast\r\n"
	c.write(original + ".\r\n")
	c.expectReply("250 2.0.0 OK queued as ")
	c.cmd("QUIT", "221 ")
	for _, who := range []string{bob, alice} {
		stored := readFile(t, n.WaitMaildir(who, 1)[0])
		// The client's dot-stuffing is undone: ".." on the wire is "." stored.
		checkStored(t, stored, "client.test", alice, "", true, strings.Replace(original, "..leading", ".leading", 1))
	}
}

// The same submission path with the directory in PostgreSQL: login,
// sender ownership through an alias, suspension, delivery.
func TestSubmissionOnPostgres(t *testing.T) {
	n := NewNode(t, storetest.PostgresDSN(t), "")
	n.AddUser(alice, alicePW)
	n.AddUser(bob, bobPW)
	n.MustCLI("", "alias", "add", "info@example.net", alice)
	n.Start()
	c := login(t, n, alice, alicePW)
	c.cmd("MAIL FROM:<bob@example.net>", "550 5.7.1 ")
	c.cmd("MAIL FROM:<info@example.net>", "250 ")
	c.cmd("RCPT TO:<nobody@example.net>", "550 5.1.1 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	original := "From: info@example.net\r\nSubject: pg\r\n\r\nvia postgres\r\n"
	c.write(original + ".\r\n")
	c.expectReply("250 2.0.0 OK queued as ")
	c.cmd("QUIT", "221 ")
	checkStored(t, readFile(t, n.WaitMaildir(bob, 1)[0]), "client.test", alice, bob, true, original)
	n.MustCLI("", "user", "suspend", alice)
	s := dialRawTLS(t, n.Addr("submissions"))
	s.cmd("EHLO client.test", "250 ")
	s.cmd("AUTH PLAIN "+plainResp(alice, alicePW), "535 5.7.8 ")
	s.cmd("AUTH PLAIN "+plainResp("nobody@example.net", alicePW), "535 5.7.8 ")
}
