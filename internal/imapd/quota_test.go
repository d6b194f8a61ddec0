package imapd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/mailbox"
	"mailgate/internal/quotawarn"
)

type fixedQuota int64

func (q fixedQuota) MailboxQuota(context.Context, string) (int64, error) { return int64(q), nil }

// TestAppendCopyOverQuota: with 100 octets allowed, an APPEND that would
// go over is NO [OVERQUOTA] (RFC 9208 §4.3.1) and stores nothing, one
// that fits exactly is stored; a COPY over the quota is refused the same
// way, while a MOVE (no change in usage) goes through; after an EXPUNGE
// there is room again.
func TestAppendCopyOverQuota(t *testing.T) {
	addr, root := testServerWith(t, io.Discard, func(s *Server) { s.Quotas = fixedQuota(100) })
	c := dial(t, addr)
	c.do("CREATE Archive")
	msg := "Subject: a\r\n\r\n" + "0123456789012345678901234567890123456789\r\n" // 56 octets
	expect(t, "APPEND 56", tagged(c.send("A1 APPEND INBOX {56+}\r\n"+msg+"\r\n", "A1"))[:5], "A1 OK")
	expect(t, "APPEND 56 more", c.send("A2 APPEND INBOX {56+}\r\n"+msg+"\r\n", "A2"),
		"A2 NO [OVERQUOTA] Mailbox full: delete mail (and expunge it) to make room")
	fits := "Subject: b\r\n\r\n0123456789012345678901234567\r\n" // 44 octets: exactly 100
	expect(t, "APPEND to the limit", tagged(c.send("A3 APPEND INBOX {44+}\r\n"+fits+"\r\n", "A3"))[:5], "A3 OK")
	dir, _ := mailbox.Dir(root, testUser)
	if u, err := mailbox.AccountUsage(dir); err != nil || u != (mailbox.Usage{Bytes: 100, Messages: 2}) {
		t.Fatalf("usage %+v, %v; want 100 octets in 2 messages", u, err)
	}
	c.do("SELECT INBOX")
	expect(t, "COPY", c.send("A4 UID COPY 1 Archive\r\n", "A4"),
		"A4 NO [OVERQUOTA] Mailbox full: delete mail (and expunge it) to make room")
	if got := tagged(c.send("A5 UID MOVE 1 Archive\r\n", "A5")); !strings.HasPrefix(got, "A5 OK") {
		t.Fatalf("MOVE: %q", got)
	}
	if u, _ := mailbox.AccountUsage(dir); u != (mailbox.Usage{Bytes: 100, Messages: 2}) {
		t.Fatalf("usage after MOVE %+v, want unchanged", u)
	}
	c.do("UID STORE 2 +FLAGS (\\Deleted)")
	c.do("EXPUNGE")
	expect(t, "APPEND after EXPUNGE", tagged(c.send("A6 APPEND INBOX {44+}\r\n"+fits+"\r\n", "A6"))[:5], "A6 OK")
}

// tagged is the last line of send's answer: the tagged status.
func tagged(out string) string { return out[strings.LastIndexByte(out, '\n')+1:] }

// TestGetQuota: QUOTA and QUOTA=RES-STORAGE are advertised after login;
// GETQUOTAROOT names the account's one root "" for any folder, with its
// QUOTA response; STORAGE is in units of 1024 octets (RFC 9208 §5.1),
// usage rounded up; DELETED-STORAGE counts what an EXPUNGE would free;
// an unknown root or folder is NO.
func TestGetQuota(t *testing.T) {
	addr, _ := testServerWith(t, io.Discard, func(s *Server) { s.Quotas = fixedQuota(10 << 10) })
	c := dial(t, addr)
	if caps := c.do("CAPABILITY"); !strings.Contains(caps, " QUOTA QUOTA=RES-STORAGE") {
		t.Fatalf("capabilities: %s", caps)
	}
	expect(t, "GETQUOTAROOT empty", c.do("GETQUOTAROOT INBOX"), "* QUOTAROOT INBOX \"\"\n* QUOTA \"\" (STORAGE 0 10)")
	big := strings.Repeat("x", 1500)
	c.send("A1 APPEND INBOX {1500+}\r\n"+big+"\r\n", "A1")
	c.do("CREATE Archive")
	expect(t, "GETQUOTAROOT Archive", c.do("GETQUOTAROOT Archive"), "* QUOTAROOT \"Archive\" \"\"\n* QUOTA \"\" (STORAGE 2 10)")
	expect(t, "GETQUOTA", c.do(`GETQUOTA ""`), "* QUOTA \"\" (STORAGE 2 10)")
	expect(t, "GETQUOTA other", tagged(c.send("A2 GETQUOTA \"User quota\"\r\n", "A2")), "A2 NO [NONEXISTENT] No such quota root")
	expect(t, "GETQUOTAROOT missing", tagged(c.send("A3 GETQUOTAROOT Nope\r\n", "A3")), "A3 NO [TRYCREATE] No such mailbox")
	// Bad syntax is BAD, and the session goes on.
	for i, bad := range []string{"GETQUOTA", "GETQUOTA (x", "GETQUOTAROOT", "GETQUOTAROOT INBOX extra"} {
		tag := fmt.Sprintf("B%d", i)
		if got := tagged(c.send(tag+" "+bad+"\r\n", tag)); !strings.HasPrefix(got, tag+" BAD") {
			t.Fatalf("%s: %q, want BAD", bad, got)
		}
	}
	c.do("SELECT INBOX")
	c.do("STORE 1 +FLAGS (\\Deleted)")
	expect(t, "STATUS", c.do("STATUS INBOX (DELETED DELETED-STORAGE)"), "* STATUS INBOX (DELETED 1 DELETED-STORAGE 2)")
}

// TestNoQuotaNoCapability: a server without quotas does not advertise
// QUOTA, and an unlimited account has no quota root.
func TestNoQuotaNoCapability(t *testing.T) {
	addr, _ := testServer(t)
	c := dial(t, addr)
	if caps := c.do("CAPABILITY"); strings.Contains(caps, "QUOTA") {
		t.Fatalf("capabilities: %s", caps)
	}
	addr, _ = testServerWith(t, io.Discard, func(s *Server) { s.Quotas = fixedQuota(0) })
	c = dial(t, addr)
	expect(t, "GETQUOTAROOT unlimited", c.do("GETQUOTAROOT INBOX"), "* QUOTAROOT INBOX")
}

// TestAppendWarnsWithoutHoldingTheLiteral: with quota warnings on, an
// APPEND whose literal is still coming does not hold the account's
// warning lock (a delivery to the account meanwhile goes ahead); once
// stored, the APPEND that took the usage from 0 to 60 % stores the 50 %
// notice in INBOX.
func TestAppendWarnsWithoutHoldingTheLiteral(t *testing.T) {
	w := &quotawarn.Warner{Percents: []int{50}, Hostname: "mx.test", Log: slog.New(slog.DiscardHandler)}
	addr, root := testServerWith(t, io.Discard, func(s *Server) { s.Quotas, s.QuotaWarner = fixedQuota(1000), w })
	c := dial(t, addr)
	msg := "Subject: a\r\n\r\n" + strings.Repeat("x", 584) + "\r\n" // 600 octets
	fmt.Fprint(c.c, "A1 APPEND INBOX {600+}\r\n"+msg[:300])
	time.Sleep(200 * time.Millisecond) // the server is reading the literal
	dir, _ := mailbox.Dir(root, testUser)
	reserved := make(chan struct{})
	go func() {
		done, err := w.Reserve(testUser, dir, 1000, 10)
		if err != nil {
			t.Error(err)
		}
		done(mailbox.Usage{})
		close(reserved)
	}()
	select {
	case <-reserved:
	case <-time.After(5 * time.Second):
		t.Fatal("another writer waited on an APPEND's literal")
	}
	if got := tagged(c.send(msg[300:]+"\r\n", "A1")); !strings.HasPrefix(got, "A1 OK") {
		t.Fatalf("APPEND: %q", got)
	}
	notices, _ := filepath.Glob(filepath.Join(dir, "new", "*quota-50*"))
	if len(notices) != 1 {
		t.Fatalf("notices %q, want the 50 %% one", notices)
	}
}
