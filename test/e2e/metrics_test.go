package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMetricsCountMailServices (issue 12 §3): /metrics counts SMTP
// sessions, messages by service and result, delivery attempts and logins
// of the mail services, not only the web's own.
func TestMetricsCountMailServices(t *testing.T) {
	n := submissionNode(t, "")
	bad := dialRawTLS(t, n.Addr("submissions"))
	bad.cmd("EHLO client.test", "250 ")
	bad.cmd("AUTH PLAIN "+plainResp(alice, "wrong-password"), "535 ")
	c := login(t, n, alice, alicePW)
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.cmd("From: alice@example.net\r\nSubject: counted\r\n\r\nhi\r\n.", "250 ")
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.cmd("From: mallory@example.net\r\nSubject: not hers\r\n\r\nhi\r\n.", "550 5.7.1 ")
	n.WaitMaildir(bob, 1)
	want := []string{
		`mailgate_messages_total{result="accepted",service="submission"} 1`,
		`mailgate_messages_total{result="refused",service="submission"} 1`,
		`mailgate_delivery_attempts_total{result="delivered"} 1`,
		`mailgate_logins_total{result="failed"} 1`,
		`mailgate_smtp_sessions_total{service="submissions"} 1`,
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", n.Ports["http"])
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, resp := curl(t, url)
		missing := ""
		for _, w := range want {
			if !strings.Contains(resp, w+"\n") {
				missing = w
				break
			}
		}
		if missing == "" {
			if !strings.Contains(resp, `mailgate_logins_total{result="ok"} `) {
				t.Fatalf("no successful login counted:\n%s", resp)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q:\n%s", missing, resp)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
