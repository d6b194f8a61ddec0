package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// Issue 11 §3: a scripted compromise. Carol's account sends a burst of
// mail to recipients a remote server refuses (Postfix's smtp-sink answering
// RCPT with 5xx); past abuse.compromise.refused_min refusals her sending
// is suspended, her queued mail (to a destination deferring it) is held,
// a notice lands in her mailbox and one in the operator's, and changing
// her password restores sending while the held mail stays held for the
// operator.
func TestCompromisedAccountIsSuspendedAndRestoredByPasswordChange(t *testing.T) {
	refusing, deferring := FreePort(t), 0
	startSink(t, "127.0.0.21", refusing, "", "-f", "RCPT")
	deferring = refusing // same port, another address: the deferring MX
	startSink(t, "127.0.0.22", deferring, "", "-r", "RCPT")
	d := startDNS(t, "far.test. 60 IN MX 10 mx.far.test.", "mx.far.test. 60 IN A 127.0.0.21",
		"slow.test. 60 IN MX 10 mx.slow.test.", "mx.slow.test. 60 IN A 127.0.0.22")
	n := NewNode(t, "", fmt.Sprintf(`
[delivery]
remote_port = %d
retry_initial = "1h"
retry_max = "1h"
scan_interval = "200ms"
delay_warning = "0s"
[dns]
servers = [%q]
timeout = "2s"
[abuse.compromise]
refused_share = 0.5
refused_min = 3
operator = "abuse@ours.test"
`, refusing, d.Addr))
	n.AddUser(rmSender, rmSenderPW)
	n.AddUser("abuse@ours.test", "abuse-desk-1")
	n.Start()

	body := func(to string, i int) []byte {
		return []byte(fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: offer %d\r\n\r\nbuy now\r\n", rmSender, to, i))
	}
	submit(t, n, []string{"friend@slow.test"}, body("friend@slow.test", 0))
	waitQueue(t, n, `friend@slow.test\s+1\s`) // tried once, deferred
	for i := 1; i <= 3; i++ {
		submit(t, n, []string{fmt.Sprintf("victim%d@far.test", i)}, body("victim@far.test", i))
	}

	// Suspended: submission refused at MAIL, with the reason.
	waitFor(t, "carol's sending to be suspended", func() bool {
		return strings.Contains(n.MustCLI("", "user", "list"), "sending-disabled")
	})
	c := login(t, n, rmSender, rmSenderPW)
	c.cmd("MAIL FROM:<"+rmSender+">", "550 5.7.1 Sending is disabled for this account; contact support")
	// Her queued mail is held.
	waitQueue(t, n, `friend@slow.test\s+1\s+held`)
	// The notices: hers (besides the three DSNs), and the operator's.
	notice := func(account, want string) {
		t.Helper()
		defer func() {
			if t.Failed() {
				t.Logf("%s holds %s\nlog:\n%s", account, n.Maildir(account), n.Log())
			}
		}()
		waitFor(t, "the notice to "+account, func() bool {
			for _, f := range n.Maildir(account) {
				if strings.Contains(readFile(t, f), want) {
					return true
				}
			}
			return false
		})
	}
	notice(rmSender, "What we saw: 3 of 3 remote recipients in 24 hours refused by the receiving servers")
	notice("abuse@ours.test", "Account: carol@ours.test\r\nSignal: refused\r\n")
	notice("abuse@ours.test", "1 queued messages were held: ")

	// A password change restores sending; the held mail stays held.
	n.MustCLI("carol-new-secret-10\n", "user", "passwd", rmSender, "--password-stdin")
	if list := n.MustCLI("", "user", "list"); strings.Contains(list, "sending-disabled") {
		t.Fatalf("still sending-disabled after the password change:\n%s", list)
	}
	c = login(t, n, rmSender, "carol-new-secret-10")
	c.cmd("MAIL FROM:<"+rmSender+">", "250 ")
	waitQueue(t, n, `friend@slow.test\s+1\s+held`)

	// An operator's suspension is not lifted by a password change.
	n.MustCLI("", "user", "suspend", rmSender, "--sending-only", "--reason", "operator")
	n.MustCLI("carol-newer-secret-11\n", "user", "passwd", rmSender, "--password-stdin")
	if list := n.MustCLI("", "user", "list"); !strings.Contains(list, "sending-disabled") {
		t.Fatalf("an operator's suspension was lifted by a password change:\n%s", list)
	}
}
