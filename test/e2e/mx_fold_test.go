package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A transaction naming an alias and its target (RCPT TO:<info@...>, an
// alias of alice, and RCPT TO:<alice@...>) puts one copy in alice's
// Maildir, on both paths (before the 250 and spool first), as Postfix's
// local(8) delivers once per mailbox after alias expansion. Both RCPTs get
// their 250 (RFC 5321 §3.3). alice's Sieve script runs once: it files a
// copy into "Copies" and keeps one in INBOX, so a second run would leave
// two in each. The stored copy is what the first recipient got before:
// the Received field names no recipient ("for" is only written for a sole
// one) and no Delivered-To is added.
func TestMXAliasAndTargetOneCopy(t *testing.T) {
	const info = "info@example.net"
	for _, tc := range []struct{ name, extra string }{
		{"before the 250", ""},
		{"spool first", "[delivery]\nlocal_before_ack = false\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNode(t, "", tc.extra)
			n.AddUser(alice, alicePW)
			n.MustCLI("", "alias", "add", info, alice)
			script := filepath.Join(n.Dir, "copies.sieve")
			os.WriteFile(script, []byte("require [\"fileinto\", \"mailbox\"];\nfileinto :create \"Copies\";\nkeep;\n"), 0o644)
			n.MustCLI("", "sieve", "put", alice, script, "--activate")
			n.Start()

			out := swaksMX(t, n, "sender@remote.example", info+","+alice, []byte("From: sender@remote.example\r\nSubject: alias and target\r\n\r\nonce\r\n"))
			for _, rcpt := range []string{info, alice} {
				if !regexp.MustCompile(`-> RCPT TO:<` + regexp.QuoteMeta(rcpt) + `>\r?\n\s*<-  250 `).MatchString(out) {
					t.Fatalf("RCPT TO:<%s> did not get 250:\n%s", rcpt, out)
				}
			}
			wantReply(t, out, "<-  250 2.0.0 OK queued as ")
			inbox := n.SettledMaildir(alice)
			copies, _ := filepath.Glob(filepath.Join(n.Dir, "mail", "example.net", "alice", ".Copies", "new", "*"))
			if len(inbox) != 1 || len(copies) != 1 {
				t.Fatalf("INBOX holds %d and Copies %d messages, want 1 each (one delivery, one Sieve run)\n%s", len(inbox), len(copies), n.Log())
			}
			got := readFile(t, inbox[0])
			if strings.Contains(got, "Delivered-To:") || regexp.MustCompile(`(?s)^Received:[^\r]*(\r\n[ \t][^\r]*)*for <`).MatchString(got) {
				t.Errorf("stored copy names a recipient:\n%s", got)
			}
			if !strings.Contains(n.Log(), `msg="same mailbox as an earlier recipient: delivered once"`) {
				t.Errorf("the fold is not logged:\n%s", n.Log())
			}
		})
	}
}
