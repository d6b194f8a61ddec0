package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// `mailgate bench submit` drives a real node: every message it counts got
// a 250 and is in the mailbox; the password only comes from stdin.
func TestCLIBenchSubmit(t *testing.T) {
	n := submissionNode(t, "")
	cliFails(t, n, "", "--password-stdin", "bench", "submit", "--user", alice)
	out := n.MustCLI(alicePW+"\n", "bench", "submit", "--user", alice, "--password-stdin", "--to", bob,
		"--clients", "3", "--per-conn", "4", "--messages", "10", "--size", "2048")
	if !regexp.MustCompile(`^submit: 10 in [0-9.]+s = [0-9.]+/s, p50 [0-9.]+ ms, p99 [0-9.]+ ms, 0 failed\n$`).MatchString(out) {
		t.Fatalf("bench submit printed %q", out)
	}
	n.WaitMaildir(bob, 10)
	out = n.MustCLI(alicePW+"\n", "bench", "submit", "--implicit-tls", "--user", alice, "--password-stdin", "--to", bob,
		"--clients", "2", "--messages", "2", "--row", "465 row")
	if !regexp.MustCompile(`^465 row\t[0-9.]+\t[0-9.]+\t[0-9.]+\t2\t0\n$`).MatchString(out) {
		t.Fatalf("bench submit --row printed %q", out)
	}
	n.WaitMaildir(bob, 12)
	// A client that pipelines (RFC 2920): AUTH PLAIN with the first
	// MAIL/RCPT/DATA, QUIT behind the last message, on 587 and on 465.
	for _, tls := range [][]string{nil, {"--implicit-tls"}} {
		out = n.MustCLI(alicePW+"\n", append([]string{"bench", "submit", "--pipelining", "--user", alice, "--password-stdin", "--to", bob,
			"--clients", "2", "--per-conn", "3", "--messages", "5", "--row", "pipelined"}, tls...)...)
		if !regexp.MustCompile(`^pipelined\t[0-9.]+\t[0-9.]+\t[0-9.]+\t5\t0\n$`).MatchString(out) {
			t.Fatalf("bench submit --pipelining %v printed %q", tls, out)
		}
	}
	n.WaitMaildir(bob, 22)
	out, err := n.CLI("wrong-password\n", "bench", "submit", "--pipelining", "--user", alice, "--password-stdin", "--messages", "2")
	if err == nil || !strings.Contains(out, "mailgate: no message was accepted: AUTH: 535 5.7.8 Authentication credentials invalid\n") {
		t.Fatalf("pipelined bench with a wrong password: %v %q", err, out)
	}
	// A wrong password: nothing accepted, exit status 1, the reason shown.
	out, err = n.CLI("wrong-password\n", "bench", "submit", "--user", alice, "--password-stdin", "--messages", "2")
	if err == nil || !strings.Contains(out, "mailgate: no message was accepted: AUTH: SMTP error 535: Authentication credentials invalid\n") {
		t.Fatalf("bench with a wrong password: %v %q", err, out)
	}
	for _, args := range [][]string{
		{"bench", "fsync", "--duration", "200ms", "--size", "1024"},
		{"bench", "tls", "--duration", "200ms", "--clients", "2"},
		{"bench", "auth", "--duration", "200ms", "--workers", "1"},
	} {
		out := n.MustCLI("", args...)
		if !regexp.MustCompile(`: [1-9]\d* in [0-9.]+s = [0-9.]+/s, p50 [0-9.]+ ms, p99 [0-9.]+ ms, 0 failed\n$`).MatchString(out) {
			t.Fatalf("mailgate %s printed %q", strings.Join(args, " "), out)
		}
	}
}
