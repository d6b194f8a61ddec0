package smtpd

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailgate/internal/abuse"
	"mailgate/internal/certs"
	"mailgate/internal/delivery"
	"mailgate/internal/dkim"
	"mailgate/internal/password"
	"mailgate/internal/spool"
	"mailgate/internal/store"
	"mailgate/internal/verdict"
)

// submitEnv is a submission server on a real store and spool, with
// alice@example.net (alias al@example.net) and a daily limit of 2
// messages.
type submitEnv struct {
	srv *Server
	st  *store.Store
	sp  *spool.Spool
	dir string
}

func newSubmitEnv(t *testing.T) *submitEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, err := password.Hash("secret-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []error{
		st.AddDomain(ctx, "test", "example.net"),
		st.AddAccount(ctx, "test", "alice@example.net", hash),
		st.AddAccount(ctx, "test", "bob@example.net", hash),
		st.AddAlias(ctx, "test", "al@example.net", "alice@example.net"),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	sp, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := &Server{
		Config: Config{Hostname: "mail.example.net", MaxMessageBytes: 1 << 20, MaxRecipients: 10, MaxLineLength: 2000,
			CommandTimeout: 10 * time.Second, DataTimeout: 10 * time.Second, MaxAuthFailures: 3, MaxErrors: 20},
		Dir: st, Spool: sp, Log: log,
		SendLimits: &abuse.SendLimiter{Usage: st, Log: log, Defaults: store.SendLimits{MessagesPerDay: 2, RecipientsPerDay: 100}},
	}
	return &submitEnv{srv: srv, st: st, sp: sp, dir: dir}
}

var webClient = netip.MustParseAddr("192.0.2.7")

func (e *submitEnv) submit(from string, rcpts []string, body string) (string, *smtp.SMTPError) {
	return e.srv.Submit(context.Background(), Submission{Account: "alice@example.net", Client: webClient,
		From: from, Rcpts: rcpts, Body: []byte(body), Via: "webmail", TLS: &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}})
}

// overSMTP sends the same transaction over port 465 as alice and returns
// the first refusal.
func (e *submitEnv) overSMTP(t *testing.T, from string, rcpts []string, body string) *smtp.SMTPError {
	t.Helper()
	cert, err := certs.Load("", "", e.dir, "mail.example.net")
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.TLS = certs.ServerConfig(cert)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.ServeSubmissions(l)
	defer l.Close()
	c, err := smtp.DialTLS(l.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.net", "secret-pass-1")); err != nil {
		t.Fatal(err)
	}
	refusal := func(err error) *smtp.SMTPError {
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			t.Fatalf("not an SMTP reply: %v", err)
		}
		return se
	}
	if err := c.Mail(from, nil); err != nil {
		return refusal(err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			return refusal(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return refusal(err)
	}
	io.WriteString(w, body)
	if err := w.Close(); err != nil {
		return refusal(err)
	}
	return nil
}

func sameReply(t *testing.T, what string, got, want *smtp.SMTPError) {
	t.Helper()
	if got == nil || want == nil || got.Code != want.Code || got.EnhancedCode != want.EnhancedCode || got.Message != want.Message {
		t.Fatalf("%s: Submit answered %v, SMTP submission %v", what, got, want)
	}
}

// A sender the account does not own, in the envelope or in From:, is
// refused by Submit with the very reply port 465 gives.
func TestSubmitRefusesSpoofedSenderAsSMTPSubmission(t *testing.T) {
	e := newSubmitEnv(t)
	spoofed := "From: Bob <bob@example.net>\r\nTo: carol@example.org\r\nSubject: hi\r\n\r\nhello\r\n"

	_, gotEnvelope := e.submit("bob@example.net", []string{"carol@example.org"}, spoofed)
	_, gotHeader := e.submit("alice@example.net", []string{"carol@example.org"}, spoofed)
	if ids, _ := e.sp.IDs(); len(ids) != 0 {
		t.Fatalf("a refused message was spooled: %v", ids)
	}
	// Neither refusal counted toward the daily limit.
	if rcpts, msgs, err := e.st.SendUsage(context.Background(), "alice@example.net"); err != nil || rcpts != 0 || msgs != 0 {
		t.Fatalf("usage after refusals: %d recipients, %d messages, %v", rcpts, msgs, err)
	}

	want := e.overSMTP(t, "bob@example.net", []string{"carol@example.org"}, spoofed)
	sameReply(t, "envelope sender", gotEnvelope, want)
	if gotEnvelope.Code != 550 || gotEnvelope.Message != errSenderNotOwned.Message {
		t.Fatalf("envelope sender: %v", gotEnvelope)
	}
	want = e.overSMTP(t, "alice@example.net", []string{"carol@example.org"}, spoofed)
	sameReply(t, "From: header", gotHeader, want)
	if gotHeader.Code != 550 || gotHeader.Message != errFromNotOwned.Message {
		t.Fatalf("From: header: %v", gotHeader)
	}
}

// An accepted message is spooled with the account as Auth, a Received
// field saying it came over HTTPS from webmail, and its lines as given
// (no dot-unstuffing: it never was SMTP DATA).
func TestSubmitQueuesWithTrace(t *testing.T) {
	e := newSubmitEnv(t)
	body := "From: Al <al@example.net>\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\n..leading dots stay\r\n"
	id, refusal := e.submit("al@example.net", []string{"bob@example.net", "carol@example.org"}, body)
	if refusal != nil {
		t.Fatalf("refused: %v", refusal)
	}
	m, err := e.sp.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	env := m.Envelope
	if env.Origin != "webmail" || env.Auth != "alice@example.net" || env.From != "al@example.net" ||
		strings.Join(env.To, ",") != "bob@example.net,carol@example.org" || env.Client != "192.0.2.7" {
		t.Fatalf("envelope %+v", env)
	}
	got, _ := io.ReadAll(m.Body())
	for _, want := range []string{
		"Received: from webmail ([192.0.2.7])\r\n\tby mail.example.net (mailgate) with HTTPS id " + id,
		"(using TLS 1.3 with cipher TLS_AES_128_GCM_SHA256)",
		"(authenticated sender: alice@example.net)",
		"\r\nMessage-ID: <", "\r\nDate: ",
		"\r\n\r\n..leading dots stay\r\n",
	} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("spooled message lacks %q:\n%s", want, got)
		}
	}
}

// The daily message limit counts webmail submissions like any other: the
// third remote message of the day gets the limit's 550.
func TestSubmitCountsDailyLimit(t *testing.T) {
	e := newSubmitEnv(t)
	body := "From: alice@example.net\r\nTo: carol@example.org\r\nSubject: n\r\n\r\nx\r\n"
	for i := range 2 {
		if _, r := e.submit("alice@example.net", []string{"carol@example.org"}, body); r != nil {
			t.Fatalf("message %d refused: %v", i+1, r)
		}
	}
	_, r := e.submit("alice@example.net", []string{"carol@example.org"}, body)
	if r == nil || r.Code != 550 || r.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) || !strings.HasPrefix(r.Message, "<carol@example.org>: ") {
		t.Fatalf("third message: %v", r)
	}
	if _, msgs, err := e.st.SendUsage(context.Background(), "alice@example.net"); err != nil || msgs != 2 {
		t.Fatalf("messages counted %d, %v; want 2", msgs, err)
	}
	// The same account over SMTP is over the limit too: one count.
	want := e.overSMTP(t, "alice@example.net", []string{"carol@example.org"}, body)
	if want == nil || want.Code != 550 || "<carol@example.org>: "+want.Message != r.Message {
		t.Fatalf("SMTP after the webmail messages: %v, webmail said %v", want, r)
	}
}

// Envelope and size refusals happen before the spool, with SMTP's replies.
func TestSubmitRefusals(t *testing.T) {
	e := newSubmitEnv(t)
	ok := "From: alice@example.net\r\n\r\nx\r\n"
	for _, c := range []struct {
		name  string
		rcpts []string
		body  string
		want  *smtp.SMTPError
	}{
		{"no recipient", nil, ok, errNoRecipients},
		{"unknown local user", []string{"nobody@example.net"}, ok, errNoSuchUser},
		{"bad address", []string{"not an address"}, ok, errBadRecipient},
		{"too big", []string{"bob@example.net"}, ok + strings.Repeat("0123456789\r\n", 1<<17), smtp.ErrDataTooLarge},
		{"line too long", []string{"bob@example.net"}, ok + strings.Repeat("x", 1999) + "\r\n", errLineTooLong},
		{"no From", []string{"bob@example.net"}, "Subject: x\r\n\r\nx\r\n", errBadHeader},
	} {
		_, r := e.submit("alice@example.net", c.rcpts, c.body)
		if r == nil || r.Code != c.want.Code || !strings.HasSuffix(r.Message, c.want.Message) {
			t.Errorf("%s: %v, want %v", c.name, r, c.want)
		}
	}
	if ids, _ := e.sp.IDs(); len(ids) != 0 {
		t.Fatalf("refused messages were spooled: %v", ids)
	}
	// A line of exactly the limit with its CRLF passes, as on SMTP.
	if _, r := e.submit("alice@example.net", []string{"bob@example.net"}, ok+strings.Repeat("x", 1998)+"\r\n"); r != nil {
		t.Fatalf("a 2000-octet line: %v", r)
	}
}

// The delivery path signs what Submit queued with the From domain's DKIM
// key (the signing is delivery's, not a second copy here).
func TestSubmitIsDKIMSignedByDelivery(t *testing.T) {
	e := newSubmitEnv(t)
	keys := dkim.Keys{Dir: filepath.Join(e.dir, "dkim")}
	if _, err := keys.Generate("example.net", "mg1", "ed25519", true); err != nil {
		t.Fatal(err)
	}
	id, r := e.submit("alice@example.net", []string{"carol@example.org"}, "From: alice@example.net\r\nTo: carol@example.org\r\nSubject: s\r\n\r\nsigned\r\n")
	if r != nil {
		t.Fatal(r)
	}
	m, err := e.sp.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sig, err := (&delivery.Signer{Keys: keys, Dir: e.st}).Sign(context.Background(), m)
	if err != nil || !strings.HasPrefix(sig, "DKIM-Signature:") || !strings.Contains(sig, "d=example.net") || !strings.Contains(sig, "s=mg1") {
		t.Fatalf("signature %q, %v", sig, err)
	}
}

// refuseEICAR stands in for the virus stage: a message stage that refuses
// what carries the EICAR marker and records what it saw.
type refuseEICAR struct{ saw *verdict.Client }

func (refuseEICAR) Name() string { return "virus" }
func (r refuseEICAR) CheckMessage(_ context.Context, c *verdict.Client, m *verdict.Message, _ *verdict.Verdict) verdict.Result {
	*r.saw = *c
	if bytes.Contains(m.Body, []byte("EICAR-STANDARD-ANTIVIRUS-TEST-FILE")) {
		return verdict.Result{Reply: &verdict.Reply{Code: 554, Enhanced: [3]int{5, 7, 1}, Text: "Virus found: Eicar-Test-Signature"}}
	}
	return verdict.Result{}
}

// The submission verdict stages judge a webmail message as any other:
// their refusal is Submit's reply, with nothing queued and the send
// reservation given back; the stage sees the account and the service.
func TestSubmitRunsTheVerdictStages(t *testing.T) {
	e := newSubmitEnv(t)
	var saw verdict.Client
	e.srv.SubmissionChecks = &verdict.Pipeline{Message: []verdict.MessageStage{refuseEICAR{&saw}}}
	_, r := e.submit("alice@example.net", []string{"carol@example.org"},
		"From: alice@example.net\r\nSubject: v\r\n\r\nX5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\r\n")
	if r == nil || r.Code != 554 || r.Message != "Virus found: Eicar-Test-Signature" {
		t.Fatalf("virus: %v", r)
	}
	if saw.Account != "alice@example.net" || saw.Service != "webmail" || !saw.TLS || saw.IP != webClient {
		t.Fatalf("the stage saw %+v", saw)
	}
	if ids, _ := e.sp.IDs(); len(ids) != 0 {
		t.Fatalf("queued: %v", ids)
	}
	if _, msgs, _ := e.st.SendUsage(context.Background(), "alice@example.net"); msgs != 0 {
		t.Fatalf("a refused message counted: %d", msgs)
	}
}
