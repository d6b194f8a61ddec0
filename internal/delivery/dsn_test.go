package delivery

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"

	"mailgate/internal/spool"
)

func spoolOne(t *testing.T, from string, to []string, body string) (*spool.Spool, *spool.Message) {
	t.Helper()
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	env := &spool.Envelope{From: from, To: to, Received: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Origin: "submission"}
	if err := sp.Put(env, []byte(body)); err != nil {
		t.Fatal(err)
	}
	m, err := sp.Open(env.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return sp, m
}

func TestDSNIsMultipartReportToSender(t *testing.T) {
	_, m := spoolOne(t, "alice@ours.example", []string{"bob@far.example"},
		"From: alice@ours.example\r\nSubject: hello\r\nMessage-ID: <x@y>\r\n\r\nsecret body\r\n")
	rc := []spool.RcptState{{Addr: "bob@far.example", Status: spool.Failed, Error: "550 5.1.1 <bob@far.example>: no such user", Remote: "mx.far.example[192.0.2.1]:25"}}
	env, body := BuildDSN("mail.ours.example", m, rc, ActionFailed, time.Now(), time.Time{})
	if env.From != "" || len(env.To) != 1 || env.To[0] != "alice@ours.example" || env.Origin != "bounce" {
		t.Fatalf("envelope %+v", env)
	}
	e, err := gomessage.Read(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ct, params, _ := e.Header.ContentType()
	if ct != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type %s %v", ct, params)
	}
	if got := e.Header.Get("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("Auto-Submitted %q", got)
	}
	mr := e.MultipartReader()
	var types []string
	var status, headers string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pt, _, _ := p.Header.ContentType()
		types = append(types, pt)
		b, _ := io.ReadAll(p.Body)
		switch pt {
		case "message/delivery-status":
			status = string(b)
		case "text/rfc822-headers":
			headers = string(b)
		}
	}
	if strings.Join(types, ",") != "text/plain,message/delivery-status,text/rfc822-headers" {
		t.Fatalf("parts %v", types)
	}
	for _, want := range []string{"Reporting-MTA: dns; mail.ours.example\r\n", "Final-Recipient: rfc822; bob@far.example\r\n",
		"Action: failed\r\n", "Status: 5.1.1\r\n", "Remote-MTA: dns; mx.far.example\r\n",
		"Diagnostic-Code: smtp; 550 5.1.1 <bob@far.example>: no such user\r\n"} {
		if !strings.Contains(status, want) {
			t.Errorf("delivery-status lacks %q:\n%s", want, status)
		}
	}
	if !strings.Contains(headers, "Subject: hello\r\n") || strings.Contains(headers, "secret body") {
		t.Errorf("returned headers %q", headers)
	}
}

func TestStatusOf(t *testing.T) {
	for text, want := range map[string]string{
		"550 5.7.1 go away":   "5.7.1",
		"550 rejected":        "5.0.0",
		"451 4.4.1 no answer": "4.4.1",
		"451 try later":       "4.0.0",
		"4.4.7 expired ...":   "4.4.7",
	} {
		if got := statusOf(text, ActionFailed); got != want {
			t.Errorf("statusOf(%q) = %s, want %s", text, got, want)
		}
	}
}
