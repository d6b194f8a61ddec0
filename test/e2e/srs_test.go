package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailgate/internal/srs"
)

// TestSRSForwardAndBounce: alice's Sieve script redirects her mail to
// dave at another site. That copy reaches dave's MX (smtp-sink) with the
// sender rewritten by SRS in the node's hostname (srs.domain's default),
// exactly the address internal/srs makes with the secret the node
// generated (0600, never logged). A bounce to that address (MAIL FROM:<>,
// swaks) is taken by our MX and reaches the original sender's MX with the
// null sender; mail with another forwarder's SRS0 sender leaves as SRS1,
// and its bounce goes back to that forwarder. A forged or expired SRS address gets 550 5.1.1, and a
// valid one with a real sender 550 5.7.1: no relay through SRS.
func TestSRSForwardAndBounce(t *testing.T) {
	const (
		alice, sender, dave = "alice@example.net", "carol@sender.test", "dave@fwd.test"
		srsDomain           = "mail.test.example" // NewNode's hostname
	)
	port := FreePort(t)
	fwdMX := startSink(t, "127.0.0.31", port, "")
	senderMX := startSink(t, "127.0.0.32", port, "")
	otherMX := startSink(t, "127.0.0.33", port, "")
	d := startDNS(t,
		"other.test. 60 IN MX 10 mx.other.test.", "mx.other.test. 60 IN A 127.0.0.33",
		"fwd.test. 60 IN MX 10 mx.fwd.test.", "mx.fwd.test. 60 IN A 127.0.0.31",
		"sender.test. 60 IN MX 10 mx.sender.test.", "mx.sender.test. 60 IN A 127.0.0.32")
	n := remoteNode(t, d, port, nil)
	n.AddUser(alice, "alice-secret-1")
	script := filepath.Join(n.Dir, "fwd.sieve")
	os.WriteFile(script, []byte(`redirect "`+dave+`";`+"\n"), 0o644)
	n.MustCLI("", "sieve", "put", alice, script, "--activate")
	n.Start()

	secretFile := filepath.Join(n.Dir, "srs.secret")
	fi, err := os.Stat(secretFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("srs.secret: %v, %v; want a 0600 file generated at start", fi, err)
	}
	secrets, err := srs.LoadSecrets(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := srs.New(srsDomain, secrets, srs.DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}

	out := swaksMX(t, n, sender, alice, []byte("From: "+sender+"\r\nTo: "+alice+"\r\nSubject: forward me\r\n\r\nhello\r\n"))
	wantReply(t, out, "250 2.0.0")
	before, _ := rw.Forward(sender)
	got := fwdMX.wait(t, 1, n)
	after, _ := rw.Forward(sender) // the same unless the day turned meanwhile
	mail := regexp.MustCompile(`X-Mail-Args: <([^>]*)>`).FindStringSubmatch(got[0])
	if mail == nil || (mail[1] != before && mail[1] != after) {
		t.Fatalf("forwarded copy's MAIL FROM %q, want <%s>\n%s", mail, before, got[0])
	}
	srsAddr := mail[1]
	if !strings.HasPrefix(srsAddr, "SRS0=") || !strings.HasSuffix(srsAddr, "=sender.test=carol@"+srsDomain) {
		t.Fatalf("SRS address %q", srsAddr)
	}
	mustContain(t, got[0], "X-Rcpt-Args: <"+dave+">", "Subject: forward me")
	waitSpoolEmpty(t, n)
	// The operator's view of the same address.
	if out := n.MustCLI("", "srs", "reverse", srsAddr); out != sender+"\n" {
		t.Errorf("srs reverse: %q, want %q", out, sender)
	}
	if out := n.MustCLI("", "srs", "forward", sender); out != before+"\n" && out != after+"\n" {
		t.Errorf("srs forward: %q, want %q", out, before)
	}

	// dave's site bounces it: to the SRS address, from <>.
	out = swaksMX(t, n, "<>", srsAddr, []byte("From: MAILER-DAEMON@mx.fwd.test\r\nTo: "+srsAddr+"\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\nno such user\r\n"))
	wantReply(t, out, "250 2.0.0")
	got = senderMX.wait(t, 1, n)
	mustContain(t, got[0], "X-Mail-Args: <>", "X-Rcpt-Args: <"+sender+">", "Subject: Undelivered Mail Returned to Sender")
	waitSpoolEmpty(t, n)

	// Mail another site already forwarded (its SRS0 sender) leaves as
	// SRS1 pointing at that site; the bounce goes back to its SRS0
	// address, at its MX, for it to check and reverse.
	const otherSRS0 = "SRS0=abcd=JV=sender.test=carol@other.test"
	out = swaksMX(t, n, otherSRS0, alice, []byte("From: "+sender+"\r\nSubject: forwarded twice\r\n\r\nhello\r\n"))
	wantReply(t, out, "250 2.0.0")
	got = fwdMX.wait(t, 2, n)
	want1, _ := rw.Forward(otherSRS0)
	if !strings.HasPrefix(want1, "SRS1=") || !strings.HasSuffix(want1, "=other.test==abcd=JV=sender.test=carol@"+srsDomain) {
		t.Fatalf("SRS1 address %q", want1)
	}
	found := false
	for _, m := range got {
		found = found || strings.Contains(m, "X-Mail-Args: <"+want1+">")
	}
	if !found {
		t.Fatalf("no forwarded copy from <%s>:\n%s", want1, strings.Join(got, "\n----\n"))
	}
	waitSpoolEmpty(t, n)
	out = swaksMX(t, n, "<>", want1, []byte("Subject: bounce of the twice forwarded\r\n\r\nx\r\n"))
	wantReply(t, out, "250 2.0.0")
	got = otherMX.wait(t, 1, n)
	mustContain(t, got[0], "X-Mail-Args: <>", "X-Rcpt-Args: <"+otherSRS0+">", "Subject: bounce of the twice forwarded")
	waitSpoolEmpty(t, n)

	// Refused: a tampered hash, another local part under a valid hash,
	// an address older than max_age (21 days), and any sender but <>.
	h := srsAddr[5:9]
	forged := strings.Replace(srsAddr, "="+h+"=", "="+strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, h)+"=", 1)
	expired, _ := rw.ForwardAt(sender, time.Now().Add(-30*24*time.Hour))
	for _, tc := range []struct{ from, to, reply string }{
		{"<>", forged, "550 5.1.1"},
		{"<>", strings.Replace(srsAddr, "=carol@", "=mallory@", 1), "550 5.1.1"},
		{"<>", expired, "550 5.1.1"},
		{"spammer@else.test", srsAddr, "550 5.7.1"},
	} {
		out := swaksMX(t, n, tc.from, tc.to, []byte("Subject: x\r\n\r\nx\r\n"))
		if !regexp.MustCompile(`-> RCPT TO:<` + regexp.QuoteMeta(tc.to) + `>\r?\n\s*<\*\* ` + regexp.QuoteMeta(tc.reply) + ` `).MatchString(out) {
			t.Errorf("MAIL FROM:%s RCPT TO:<%s>: want %s\n%s", tc.from, tc.to, tc.reply, out)
		}
	}
	if out, err := n.CLI("", "srs", "reverse", forged); err == nil || !strings.Contains(out, "SRS hash does not match (the MX answers 550 5.1.1)") {
		t.Errorf("srs reverse of a forged address: %v\n%s", err, out)
	}
	// Nothing more left: the sinks hold only the two messages above.
	if a, b, c := len(fwdMX.messages()), len(senderMX.messages()), len(otherMX.messages()); a != 2 || b != 1 || c != 1 {
		t.Errorf("sinks hold %d, %d and %d messages, want 2, 1 and 1", a, b, c)
	}
	for _, s := range secrets {
		if strings.Contains(n.Log(), string(s)) {
			t.Error("the SRS secret is in the log")
		}
	}
}

// TestSRSBounceRateLimit: with [srs] bounce_rate = "2/hour" (per domain
// the bounces go on to) and bounce_rate_per_ip = "4/hour", swaks's third
// bounce to SRS addresses of sender.test senders gets 450 4.7.1 saying it
// is rate-limited, while one to an other.test sender's still gets 250;
// the client's fifth bounce, to a third domain, gets 450 4.7.1 for the
// client's limit. Both are logged and counted in
// mailgate_srs_bounces_limited_total.
func TestSRSBounceRateLimit(t *testing.T) {
	n := NewNode(t, "", "[srs]\nbounce_rate = \"2/hour\"\nbounce_rate_per_ip = \"4/hour\"\n")
	n.Start()
	secrets, err := srs.LoadSecrets(filepath.Join(n.Dir, "srs.secret"))
	if err != nil {
		t.Fatal(err)
	}
	rw, err := srs.New("mail.test.example", secrets, srs.DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	bounce := func(orig, reply string) {
		t.Helper()
		to, err := rw.Forward(orig)
		if err != nil {
			t.Fatal(err)
		}
		out := swaksMX(t, n, "<>", to, []byte("Subject: Undelivered Mail Returned to Sender\r\n\r\nno such user\r\n"))
		if !regexp.MustCompile(`-> RCPT TO:<` + regexp.QuoteMeta(to) + `>\r?\n\s*<(-|\*\*)  ?` + regexp.QuoteMeta(reply)).MatchString(out) {
			t.Fatalf("bounce to <%s> (for %s): want %q\n%s", to, orig, reply, out)
		}
	}
	bounce("carol@sender.test", "250 ")
	bounce("dave@sender.test", "250 ")
	bounce("erin@sender.test", "450 4.7.1 Rate limited: too many bounces to sender.test through our forwarding addresses (at most 2/hour), try again later")
	bounce("frank@other.test", "250 ")
	bounce("grace@third.test", "450 4.7.1 Rate limited: too many bounces from your address through our forwarding addresses (at most 4/hour), try again later")
	for _, want := range []string{
		`msg="SRS bounce rate-limited" limit=domain rate=2/hour client=127.0.0.1 to=erin@sender.test`,
		`msg="SRS bounce rate-limited" limit=client rate=4/hour client=127.0.0.1 to=grace@third.test`,
	} {
		if !strings.Contains(n.Log(), want) {
			t.Errorf("log lacks %s:\n%s", want, n.Log())
		}
	}
	_, metrics := curl(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", n.Ports["http"]))
	for _, want := range []string{`mailgate_srs_bounces_limited_total{limit="domain"} 1`, `mailgate_srs_bounces_limited_total{limit="client"} 1`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
