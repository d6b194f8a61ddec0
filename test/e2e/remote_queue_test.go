package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// queueID returns the ID of the queued message for rcpt.
func queueID(t *testing.T, n *Node, rcpt string) string {
	t.Helper()
	out := n.MustCLI("", "queue", "list")
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, rcpt) {
			return strings.Fields(line)[0]
		}
	}
	t.Fatalf("%s not in queue:\n%s", rcpt, out)
	return ""
}

// TestRemoteQueueCommands: with the MX down and retries an hour apart, an
// operator holds, releases, retries, removes and bounces messages; each
// command's effect shows in `queue list`/`show`, and bounce sends a DSN.
func TestRemoteQueueCommands(t *testing.T) {
	port := FreePort(t)
	d := startDNS(t, "cli.test. 60 IN MX 10 mx.cli.test.", "mx.cli.test. 60 IN A 127.0.0.7")
	n := remoteNode(t, d, port, map[string]string{"retry_initial": `"1h"`, "retry_max": `"2h"`, "connect_timeout": `"1s"`})
	n.Start()
	submit(t, n, []string{"kim@cli.test"}, []byte(msg(rmSender, "kim@cli.test", "queued", "body\r\n")))
	submit(t, n, []string{"lee@cli.test"}, []byte(msg(rmSender, "lee@cli.test", "removed", "body\r\n")))
	waitQueue(t, n, `kim@cli\.test\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+451 4\.4\.1 .*connection refused`)
	waitQueue(t, n, `lee@cli\.test\s+1\s`)
	id := queueID(t, n, "kim@cli.test")

	if out := n.MustCLI("", "queue", "hold", id); out != id+" held\n" {
		t.Fatalf("hold: %q", out)
	}
	waitQueue(t, n, `kim@cli\.test\s+1\s+held\s`)
	n.MustCLI("", "queue", "retry", "--all")
	// The retry did run (lee's message was tried again); then five more
	// queue scans: the held message must not have been tried.
	waitQueue(t, n, `lee@cli\.test\s+2\s`)
	time.Sleep(time.Second)
	waitQueue(t, n, `kim@cli\.test\s+1\s+held\s`)

	n.MustCLI("", "queue", "release", id)
	waitQueue(t, n, `kim@cli\.test\s+2\s+\d{4}-`)
	n.MustCLI("", "queue", "retry", id)
	waitQueue(t, n, `kim@cli\.test\s+3\s+\d{4}-`)

	show := n.MustCLI("", "queue", "show", id)
	mustContain(t, show, "attempts: 3\n", "held: false\n",
		fmt.Sprintf("rcpt: <kim@cli.test> pending mx.cli.test[127.0.0.7]:%d 451 4.4.1 ", port), "Subject: queued\r\n")

	lee := queueID(t, n, "lee@cli.test")
	if out := n.MustCLI("", "queue", "remove", lee); out != lee+" removed\n" {
		t.Fatalf("remove: %q", out)
	}
	if out := n.MustCLI("", "queue", "bounce", id); out != id+" bounced\n" {
		t.Fatalf("bounce: %q", out)
	}
	dsn := readDSNs(t, n, 1)[0]
	waitSpoolEmpty(t, n)
	mustContain(t, dsn, "Final-Recipient: rfc822; kim@cli.test\r\nAction: failed\r\nStatus: 5.0.0\r\n",
		"message returned by the mail administrator; last error: 451 4.4.1", "Subject: queued\r\n")
	if strings.Contains(dsn, "lee@cli.test") {
		t.Error("removed message was bounced")
	}
	if _, err := n.CLI("", "queue", "hold"); err == nil {
		t.Error("hold without IDs or --all succeeded")
	}
}

// TestRemoteSmarthost: with a smarthost set, remote mail goes there
// whatever the MX says; with credentials configured and a smarthost that
// offers no TLS, nothing is sent and the password appears nowhere.
func TestRemoteSmarthost(t *testing.T) {
	port := FreePort(t)
	s := startSink(t, "127.0.0.8", port, "")
	d := startDNS(t, "elsewhere.test. 60 IN MX 10 mx.elsewhere.test.", "mx.elsewhere.test. 60 IN A 127.0.0.9")
	n := remoteNode(t, d, FreePort(t), map[string]string{"smarthost": fmt.Sprintf(`"127.0.0.8:%d"`, port)})
	n.Start()
	submit(t, n, []string{"max@elsewhere.test"}, []byte(msg(rmSender, "max@elsewhere.test", "via relay", "body\r\n")))
	got := s.wait(t, 1, n)
	waitSpoolEmpty(t, n)
	mustContain(t, got[0], "X-Rcpt-Args: <max@elsewhere.test>", "Subject: via relay")
	n.Stop()

	const secret = "smarthost-pw-Zq81"
	pwFile := filepath.Join(t.TempDir(), "smarthost.pw")
	os.WriteFile(pwFile, []byte(secret+"\n"), 0o600)
	n2 := remoteNode(t, d, FreePort(t), map[string]string{
		"smarthost": fmt.Sprintf(`"127.0.0.8:%d"`, port), "smarthost_username": `"relayuser"`,
		"smarthost_password_file": fmt.Sprintf("%q", pwFile),
	})
	n2.Start()
	submit(t, n2, []string{"max@elsewhere.test"}, []byte(msg(rmSender, "max@elsewhere.test", "no cleartext", "body\r\n")))
	out := waitQueue(t, n2, `max@elsewhere\.test\s+[1-9]\s.*451 4\.7\.5 127\.0\.0\.8:\d+ offers no STARTTLS, and TLS is required for this destination`)
	if len(s.messages()) != 1 {
		t.Fatalf("sink got %d messages, want only the first", len(s.messages()))
	}
	for what, text := range map[string]string{"log": n2.Log(), "queue list": out, "config": readFile(t, n2.Config)} {
		if regexp.MustCompile(secret).MatchString(text) {
			t.Errorf("password appears in %s", what)
		}
	}
}

// TestRemoteTLSRequiredDomainWaits: a domain listed in tls_required is
// never sent to in plaintext: its MX (smtp-sink, no STARTTLS) gets nothing
// and the message waits with a 4.7.5 error, while another domain on the
// same MX is delivered opportunistically in plaintext.
func TestRemoteTLSRequiredDomainWaits(t *testing.T) {
	port := FreePort(t)
	s := startSink(t, "127.0.0.10", port, "")
	d := startDNS(t, "secure.test. 60 IN MX 10 mx.shared.test.", "plain.test. 60 IN MX 10 mx.shared.test.",
		"mx.shared.test. 60 IN A 127.0.0.10")
	n := remoteNode(t, d, port, map[string]string{"tls_required": `["Secure.Test"]`})
	n.Start()
	submit(t, n, []string{"ned@secure.test"}, []byte(msg(rmSender, "ned@secure.test", "secret", "body\r\n")))
	submit(t, n, []string{"oli@plain.test"}, []byte(msg(rmSender, "oli@plain.test", "public", "body\r\n")))
	got := s.wait(t, 1, n)
	waitQueue(t, n, `ned@secure\.test\s+[2-9]\s.*451 4\.7\.5 127\.0\.0\.10:\d+ offers no STARTTLS, and TLS is required for this destination`)
	if all := s.messages(); len(all) != 1 || !strings.Contains(got[0], "X-Rcpt-Args: <oli@plain.test>") {
		t.Fatalf("sink got %d messages: %v", len(all), all)
	}
}

// TestRemoteMXPreferenceAndImplicitMX: RFC 5321 §5.1: the preferred MX is
// tried first and, when it is down, the next one gets the mail; a domain
// without MX records is its own implicit MX.
func TestRemoteMXPreferenceAndImplicitMX(t *testing.T) {
	port := FreePort(t)
	s := startSink(t, "127.0.0.12", port, "")
	d := startDNS(t,
		"pref.test. 60 IN MX 20 mx2.pref.test.", "pref.test. 60 IN MX 10 mx1.pref.test.",
		"mx1.pref.test. 60 IN A 127.0.0.11", "mx2.pref.test. 60 IN A 127.0.0.12",
		"implicit.test. 60 IN A 127.0.0.12")
	n := remoteNode(t, d, port, nil)
	n.Start()
	submit(t, n, []string{"pat@pref.test"}, []byte(msg(rmSender, "pat@pref.test", "second MX", "body\r\n")))
	submit(t, n, []string{"quinn@implicit.test"}, []byte(msg(rmSender, "quinn@implicit.test", "implicit", "body\r\n")))
	s.wait(t, 2, n)
	waitSpoolEmpty(t, n)
	log := n.Log()
	for _, want := range []string{
		fmt.Sprintf("rcpt=pat@pref.test status=delivered relay=mx2.pref.test[127.0.0.12]:%d", port),
		fmt.Sprintf("rcpt=quinn@implicit.test status=delivered relay=implicit.test[127.0.0.12]:%d", port),
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
