package scan_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"mailgate/internal/scan"
	"mailgate/internal/testpeer"
)

// TestRealClamd: Debian's clamd, started offline with our test signatures,
// finds EICAR inline, in a base64 attachment and in a zip, over TCP and the
// unix socket; a clean message is clean; PING answers.
func TestRealClamd(t *testing.T) {
	c, err := testpeer.StartClamd(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	for _, ep := range []scan.Endpoint{{Network: "tcp", Address: c.Addr}, {Network: "unix", Address: c.Socket}} {
		cl := &scan.Clamd{Endpoint: ep, Timeout: 10 * time.Second}
		if err := cl.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		for name, m := range testpeer.VirusMails("a@example.org", "b@example.net") {
			r, err := cl.Scan(context.Background(), &scan.Request{Body: m})
			if err != nil || r.Virus != "Eicar-Test-Signature.UNOFFICIAL" {
				t.Errorf("%s, %s: %+v, %v", ep, name, r, err)
			}
		}
		r, err := cl.Scan(context.Background(), &scan.Request{Body: testpeer.TestMail("a@example.org", "b@example.net", "lunch", "at noon?")})
		if err != nil || r.Virus != "" {
			t.Errorf("%s, clean: %+v, %v", ep, r, err)
		}
	}
	c.Stop()
	cl := &scan.Clamd{Endpoint: scan.Endpoint{Network: "tcp", Address: c.Addr}, Timeout: time.Second}
	if err := cl.Ping(context.Background()); err == nil {
		t.Fatal("PING answered after Stop")
	}
}

// TestRealRspamd: Debian's rspamd, offline: each GTUBE variant gives its
// action, a plain message "no action", over TCP and the unix socket.
func TestRealRspamd(t *testing.T) {
	r, err := testpeer.StartRspamd(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	for _, ep := range []scan.Endpoint{{Network: "tcp", Address: r.Addr}, {Network: "unix", Address: r.Socket}} {
		cl := scan.NewRspamd(ep, 10*time.Second)
		if err := cl.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		for body, want := range map[string]string{
			testpeer.GTUBE:                          scan.ActionReject,
			testpeer.GTUBEAddHeader:                 scan.ActionAddHeader,
			testpeer.GTUBERewriteSubject:            scan.ActionRewriteSubject,
			"shall we have lunch tomorrow at noon?": scan.ActionNoAction,
		} {
			m := testpeer.TestMail("Alice <alice@example.org>", "bob@example.net", "test", body)
			res, err := cl.Scan(context.Background(), &scan.Request{Body: m, From: "alice@example.org", Rcpts: []string{"bob@example.net"}, Helo: "mx.example.org"})
			if err != nil || res.Spam.Action != want {
				t.Errorf("%s, %.20s: %+v, %v; want %q", ep, body, res, err, want)
			}
		}
	}
}

// TestRealClamdStreamMaxLength: over StreamMaxLength the real clamd
// answers its size error and closes while we still send; the client reads
// that answer and says ErrTooLarge, not "scanner down".
func TestRealClamdStreamMaxLength(t *testing.T) {
	c, err := testpeer.StartClamd(t.TempDir(), map[string]string{"StreamMaxLength": "1M"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	for _, ep := range []scan.Endpoint{{Network: "tcp", Address: c.Addr}, {Network: "unix", Address: c.Socket}} {
		cl := &scan.Clamd{Endpoint: ep, Timeout: 10 * time.Second}
		if _, err := cl.Scan(context.Background(), &scan.Request{Body: big}); !errors.Is(err, scan.ErrTooLarge) {
			t.Fatalf("%s: 4 MiB over a 1 MiB StreamMaxLength: %v, want ErrTooLarge", ep, err)
		}
		if r, err := cl.Scan(context.Background(), &scan.Request{Body: big[:1<<19]}); err != nil || r.Virus != "" {
			t.Fatalf("%s: 512 KiB: %+v, %v", ep, r, err)
		}
	}
}
