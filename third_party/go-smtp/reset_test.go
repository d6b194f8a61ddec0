package smtp

import (
	"strings"
	"testing"
)

// mailgate: RSET ends the transaction, not the session: RFC 5321
// §4.1.1.5 leaves the EHLO state as it was, so the next transaction on a
// reused connection (remote delivery, the fleet's LMTP pool) goes
// straight to MAIL. Upstream sent EHLO again, a round trip per reuse.
func TestResetKeepsHello(t *testing.T) {
	c, _, s := dialScript(t, false, []string{"PIPELINING"}, replies(map[string]string{
		"MAIL": "250 2.1.0 ok\r\n", "RCPT": "250 2.1.5 ok\r\n",
	}))
	if err := c.Mail("a@ours.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("b@ours.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("r@far.test", nil); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	<-s.done
	cmds, _ := s.seen()
	want := []string{"EHLO client.test", "MAIL FROM:<a@ours.test>", "RSET", "MAIL FROM:<b@ours.test>", "RCPT TO:<r@far.test>", "QUIT"}
	if !sameStrings(cmds, want) {
		t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(cmds, "\n"), strings.Join(want, "\n"))
	}
}

// TestHelloAfterReset: a caller may still say a new EHLO after RSET, as
// upstream allowed; it is sent once.
func TestHelloAfterReset(t *testing.T) {
	c, _, s := dialScript(t, false, nil, replies(map[string]string{"MAIL": "250 2.1.0 ok\r\n"}))
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Hello("other.test"); err != nil {
		t.Fatalf("Hello after Reset: %v", err)
	}
	if err := c.Mail("a@ours.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Hello("third.test"); err == nil {
		t.Fatal("Hello after MAIL was allowed")
	}
	c.Quit()
	<-s.done
	cmds, _ := s.seen()
	want := []string{"EHLO client.test", "RSET", "EHLO other.test", "MAIL FROM:<a@ours.test>", "QUIT"}
	if !sameStrings(cmds, want) {
		t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(cmds, "\n"), strings.Join(want, "\n"))
	}
}
