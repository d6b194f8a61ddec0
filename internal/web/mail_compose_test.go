package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailgate/internal/compose"
	"mailgate/internal/config"
	"mailgate/internal/mailbox"
	"mailgate/internal/password"
	"mailgate/internal/smtpd"
	"mailgate/internal/spool"
)

// composeSite is a site whose webmail sends through a real submission
// server (smtpd.Server.Submit) into a spool.
func composeSite(t *testing.T, mod func(*config.Config)) (*site, *spool.Spool, string) {
	t.Helper()
	dataDir := t.TempDir()
	s := newSite(t, func(c *config.Config) {
		c.DataDir = dataDir
		if mod != nil {
			mod(c)
		}
	})
	sp, err := spool.Open(filepath.Join(dataDir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	cfg := s.srv.cfg
	s.srv.Submitter = &smtpd.Server{
		Config: smtpd.Config{Hostname: cfg.Hostname, MaxMessageBytes: cfg.Limits.MaxMessageBytes, MaxRecipients: cfg.Limits.MaxRecipients,
			MaxLineLength: cfg.Limits.MaxLineLength, MaxErrors: cfg.Limits.MaxErrors},
		Dir: s.st, Spool: sp, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := s.st.AddAlias(context.Background(), "test", "t.yamada@example.jp", "taro@example.jp"); err != nil {
		t.Fatal(err)
	}
	h, _ := password.Hash("battery staple")
	if err := s.st.AddAccount(context.Background(), "test", "hanako@example.jp", h); err != nil {
		t.Fatal(err)
	}
	return s, sp, filepath.Join(dataDir, "mail")
}

// upload is one file of a multipart form: its form field, file name and
// content.
type upload struct{ field, name, data string }

// postCompose sends the compose form as a browser does: multipart/form-data.
func (s *site) postCompose(c *http.Client, fields map[string]string, files ...upload) (*http.Response, string) {
	s.t.Helper()
	for i := range files {
		files[i].field = "attach"
	}
	return s.postMultipart(c, "/mail/compose", fields, files...)
}

// postMultipart posts fields and files to path as multipart/form-data,
// in English.
func (s *site) postMultipart(c *http.Client, path string, fields map[string]string, files ...upload) (*http.Response, string) {
	s.t.Helper()
	body, ctype := multipartBody(fields, files...)
	req, _ := http.NewRequest("POST", s.secure.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept-Language", "en")
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(page)
}

// multipartBody is a multipart/form-data body of fields and files, and
// its content type.
func multipartBody(fields map[string]string, files ...upload) (string, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile(f.field, f.name)
		io.WriteString(w, f.data)
	}
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

func (s *site) composeToken(c *http.Client, query string) string {
	s.t.Helper()
	resp, page := s.do(c, "GET", s.secure.URL+"/mail/compose"+query, nil, nil)
	if resp.StatusCode != 200 {
		s.t.Fatalf("compose page %s: %d\n%s", query, resp.StatusCode, page)
	}
	return formToken(s.t, page)
}

func folderMessages(t *testing.T, root, account, folder string) []mailbox.Message {
	t.Helper()
	dir, _ := mailbox.Dir(root, account)
	fd, _ := mailbox.FolderDir(dir, folder)
	f, err := mailbox.OpenFolder(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Snapshot()
}

func readFolderMessage(t *testing.T, root, account, folder string, uid uint32) []byte {
	t.Helper()
	dir, _ := mailbox.Dir(root, account)
	fd, _ := mailbox.FolderDir(dir, folder)
	f, err := mailbox.OpenFolder(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fh, err := f.Open(uid)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	b, _ := io.ReadAll(fh)
	return b
}

// A message written in the form goes through Submit into the queue with
// its attachment, Bcc only in the envelope; the Sent copy keeps Bcc and
// is \Seen.
func TestComposeSendsThroughSubmission(t *testing.T) {
	s, sp, root := composeSite(t, nil)
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	token := s.composeToken(c, "")
	resp, page := s.postCompose(c, map[string]string{"csrf": token, "action": "send", "from": "t.yamada@example.jp", "fromname": "山田 太郎",
		"to": "hanako@example.jp", "bcc": "boss@example.org", "subject": "見積書", "body": "添付します。\r\n"},
		upload{name: "見積書.pdf", data: "%PDF-1.4 bytes\x00\x01"})
	if resp.StatusCode != 200 || !strings.Contains(page, `id="sent"`) {
		t.Fatalf("send: %d\n%s", resp.StatusCode, page)
	}
	id := regexp.MustCompile(`queue ID ([^)]+)\)`).FindStringSubmatch(page)
	if id == nil {
		t.Fatalf("no queue ID:\n%s", page)
	}
	m, err := sp.Open(id[1])
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Envelope.Origin != "webmail" || m.Envelope.Auth != "taro@example.jp" || m.Envelope.From != "t.yamada@example.jp" ||
		strings.Join(m.Envelope.To, ",") != "hanako@example.jp,boss@example.org" {
		t.Fatalf("envelope %+v", m.Envelope)
	}
	body, _ := io.ReadAll(m.Body())
	if bytes.Contains(body, []byte("boss@example.org")) || !bytes.Contains(body, []byte("with HTTPS")) {
		t.Fatalf("queued message:\n%s", body)
	}
	o, err := compose.Parse(body)
	if err != nil || o.Subject != "見積書" || len(o.Attachments) != 1 || string(o.Attachments[0].Data) != "%PDF-1.4 bytes\x00\x01" || o.Attachments[0].Name != "見積書.pdf" {
		t.Fatalf("queued message parsed: %+v %v", o, err)
	}
	sent := folderMessages(t, root, "taro@example.jp", "Sent")
	if len(sent) != 1 || sent[0].Flags != "S" {
		t.Fatalf("Sent: %+v", sent)
	}
	copy, err := compose.Parse(readFolderMessage(t, root, "taro@example.jp", "Sent", sent[0].UID))
	if err != nil || len(copy.Bcc) != 1 || copy.MessageID != o.MessageID {
		t.Fatalf("Sent copy: %+v %v (sent %s)", copy, err, o.MessageID)
	}
}

// A From the account does not own gets the very reply SMTP submission
// gives, on the page, and nothing is queued or filed.
func TestComposeSpoofedFromShowsSubmissionReply(t *testing.T) {
	s, sp, root := composeSite(t, nil)
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	resp, page := s.postCompose(c, map[string]string{"csrf": s.composeToken(c, ""), "action": "send", "from": "hanako@example.jp",
		"to": "someone@example.org", "subject": "spoof", "body": "x"})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "550 5.7.1 Sender address not owned by the authenticated account") {
		t.Fatalf("spoofed From: %d\n%s", resp.StatusCode, page)
	}
	// The form comes back as it was typed.
	if !strings.Contains(page, `value="someone@example.org"`) || !strings.Contains(page, ">x</textarea>") {
		t.Fatalf("form not kept:\n%s", page)
	}
	if ids, _ := sp.IDs(); len(ids) != 0 {
		t.Fatalf("queued: %v", ids)
	}
	if sent := folderMessages(t, root, "taro@example.jp", "Sent"); len(sent) != 0 {
		t.Fatalf("Sent copy of a refused message: %+v", sent)
	}
}

func TestComposeCSRFRefused(t *testing.T) {
	s, sp, _ := composeSite(t, nil)
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	for name, fields := range map[string]map[string]string{
		"no token":    {"action": "send", "from": "taro@example.jp", "to": "hanako@example.jp", "body": "x"},
		"wrong token": {"csrf": strings.Repeat("A", 43), "action": "send", "from": "taro@example.jp", "to": "hanako@example.jp", "body": "x"},
	} {
		if resp, _ := s.postCompose(c, fields); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	if ids, _ := sp.IDs(); len(ids) != 0 {
		t.Fatalf("queued: %v", ids)
	}
}

// A file over the submission size limit is refused with the limit, before
// anything is built.
func TestComposeTooLarge(t *testing.T) {
	s, sp, _ := composeSite(t, func(c *config.Config) { c.Limits.MaxMessageBytes = 64 << 10 })
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	token := s.composeToken(c, "")
	// Past the upload limit: the body is cut off.
	resp, page := s.postCompose(c, map[string]string{"csrf": token, "action": "send", "from": "taro@example.jp", "to": "hanako@example.jp"},
		upload{name: "big.bin", data: strings.Repeat("x", 400<<10)})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "over the limit of 0.1 MB") ||
		!strings.Contains(page, `<option value="taro@example.jp" selected>`) {
		t.Fatalf("400 KB upload: %d\n%s", resp.StatusCode, page)
	}
	// Within the upload limit, over the message limit once encoded.
	resp, page = s.postCompose(c, map[string]string{"csrf": token, "action": "send", "from": "taro@example.jp", "to": "hanako@example.jp"},
		upload{name: "big.bin", data: strings.Repeat("x", 60<<10)})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "over the limit of 0.1 MB") || !strings.Contains(page, `id="reattach"`) {
		t.Fatalf("60 KB upload: %d\n%s", resp.StatusCode, page)
	}
	if ids, _ := sp.IDs(); len(ids) != 0 {
		t.Fatalf("queued: %v", ids)
	}
}

// Reply fills in To, Re:, In-Reply-To and References; reply all leaves
// out the account's own addresses.
func TestComposeReplyPrefill(t *testing.T) {
	s, _, root := composeSite(t, nil)
	deliver(t, root, "taro@example.jp", "Message-ID: <orig@example.org>\nReferences: <root@example.org>\nFrom: Bob <bob@example.org>\nTo: t.yamada@example.jp, carol@example.org\nSubject: plan\n\nline one\n")
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	_, page := s.do(c, "GET", s.secure.URL+"/mail/compose?replyall=INBOX/1", nil, nil)
	for _, want := range []string{`name="inreplyto" value="orig@example.org"`, `name="references" value="root@example.org orig@example.org"`,
		`id="to" value="Bob &lt;bob@example.org&gt;"`, `id="cc" value="carol@example.org"`, `value="Re: plan"`,
		`<option value="t.yamada@example.jp" selected>`, "&gt; line one"} {
		if !strings.Contains(page, want) {
			t.Errorf("reply page lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(page)
	}
	// The attribution line is in the page's language.
	if _, ja := s.do(c, "GET", s.secure.URL+"/mail/compose?reply=INBOX/1&lang=ja", nil, nil); !strings.Contains(ja, "Bob &lt;bob@example.org&gt; さんは書きました:") {
		t.Errorf("Japanese attribution missing:\n%s", ja)
	}
	// Once the reply is sent, the original is \Answered.
	resp, page := s.postCompose(c, map[string]string{"csrf": formToken(t, page), "action": "send", "from": "t.yamada@example.jp",
		"to": "bob@example.org", "subject": "Re: plan", "body": "ok", "answers": "INBOX/1", "inreplyto": "orig@example.org"})
	if resp.StatusCode != 200 {
		t.Fatalf("reply: %d\n%s", resp.StatusCode, page)
	}
	if in := folderMessages(t, root, "taro@example.jp", "INBOX"); len(in) != 1 || !mailbox.HasFlag(in[0].Flags, mailbox.FlagReplied) {
		t.Fatalf("original after the reply: %+v", in)
	}
}

// A saved draft lands in Drafts (\Draft), reopens with its fields and
// files, replaces its previous version when saved again, and is removed
// once sent.
func TestComposeDraftSaveReopenSend(t *testing.T) {
	s, _, root := composeSite(t, nil)
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	resp, _ := s.postCompose(c, map[string]string{"csrf": s.composeToken(c, ""), "action": "save", "from": "taro@example.jp",
		"to": "hanako@example.jp", "bcc": "b@example.org", "subject": "下書き", "body": "途中"}, upload{name: "a.txt", data: "file a"})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/mail/compose?draft=") {
		t.Fatalf("save: %d %s", resp.StatusCode, loc)
	}
	_, page := s.do(c, "GET", s.secure.URL+loc, nil, nil)
	for _, want := range []string{`id="saved"`, `value="下書き"`, `id="bcc" value="b@example.org"`, ">途中</textarea>", `name="keep" value="0" checked> a.txt`} {
		if !strings.Contains(page, want) {
			t.Fatalf("reopened draft lacks %s:\n%s", want, page)
		}
	}
	draftUID := strings.TrimSuffix(strings.TrimPrefix(loc, "/mail/compose?draft="), "&saved=1")
	fields := map[string]string{"csrf": formToken(t, page), "action": "save", "from": "taro@example.jp", "to": "hanako@example.jp",
		"subject": "下書き v2", "body": "途中 2", "draft": draftUID, "carry": "Drafts/" + draftUID, "keep": "0"}
	resp, _ = s.postCompose(c, fields)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second save: %d", resp.StatusCode)
	}
	drafts := folderMessages(t, root, "taro@example.jp", "Drafts")
	if len(drafts) != 1 || drafts[0].Flags != "DS" {
		t.Fatalf("Drafts after two saves: %+v", drafts)
	}
	o, _ := compose.Parse(readFolderMessage(t, root, "taro@example.jp", "Drafts", drafts[0].UID))
	if o.Subject != "下書き v2" || len(o.Attachments) != 1 || string(o.Attachments[0].Data) != "file a" {
		t.Fatalf("second version: %+v", o)
	}
	newLoc := resp.Header.Get("Location")
	_, page = s.do(c, "GET", s.secure.URL+newLoc, nil, nil)
	v2 := strings.TrimSuffix(strings.TrimPrefix(newLoc, "/mail/compose?draft="), "&saved=1")
	fields = map[string]string{"csrf": formToken(t, page), "action": "send", "from": "taro@example.jp", "to": "hanako@example.jp",
		"subject": "下書き v2", "body": "done", "draft": v2, "carry": "Drafts/" + v2, "keep": "0"}
	if resp, page := s.postCompose(c, fields); resp.StatusCode != 200 || !strings.Contains(page, `id="sent"`) {
		t.Fatalf("send draft: %d\n%s", resp.StatusCode, page)
	}
	if d := folderMessages(t, root, "taro@example.jp", "Drafts"); len(d) != 0 {
		t.Fatalf("sent draft still in Drafts: %+v", d)
	}
}

// Forward as attachment carries the original whole (message/rfc822);
// forward inline carries its files, and an unticked one is left out.
func TestComposeForwards(t *testing.T) {
	s, sp, root := composeSite(t, nil)
	orig := "Message-ID: <f@example.org>\nFrom: bob@example.org\nTo: taro@example.jp\nSubject: files\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee files\n" +
		"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=one.bin\nContent-Transfer-Encoding: base64\n\nAAEC\n" +
		"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=two.bin\nContent-Transfer-Encoding: base64\n\nAwQF\n--b--\n"
	deliver(t, root, "taro@example.jp", orig)
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	queued := func(page string) []byte {
		t.Helper()
		id := regexp.MustCompile(`queue ID ([^)]+)\)`).FindStringSubmatch(page)
		if id == nil {
			t.Fatalf("not sent:\n%s", page)
		}
		m, err := sp.Open(id[1])
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		b, _ := io.ReadAll(m.Body())
		return b
	}

	_, page := s.do(c, "GET", s.secure.URL+"/mail/compose?forwardatt=INBOX/1", nil, nil)
	if !strings.Contains(page, `value="Fwd: files"`) || !strings.Contains(page, `name="carrywhole" value="1"`) || !strings.Contains(page, "files.eml") {
		t.Fatalf("forward-as-attachment form:\n%s", page)
	}
	_, page = s.postCompose(c, map[string]string{"csrf": formToken(t, page), "action": "send", "from": "taro@example.jp", "to": "hanako@example.jp",
		"subject": "Fwd: files", "carry": "INBOX/1", "carrywhole": "1", "keep": "0"})
	o, err := compose.Parse(queued(page))
	if err != nil || len(o.Attachments) != 1 || o.Attachments[0].Type != "message/rfc822" {
		t.Fatalf("forwarded as attachment: %+v %v", o, err)
	}
	inner, err := compose.Parse(o.Attachments[0].Data)
	if err != nil || inner.MessageID != "f@example.org" || len(inner.Attachments) != 2 {
		t.Fatalf("the attached original: %+v %v", inner, err)
	}

	_, page = s.do(c, "GET", s.secure.URL+"/mail/compose?forward=INBOX/1", nil, nil)
	if !strings.Contains(page, "---------- Forwarded message ----------") || !strings.Contains(page, "one.bin") || !strings.Contains(page, "two.bin") {
		t.Fatalf("inline forward form:\n%s", page)
	}
	_, page = s.postCompose(c, map[string]string{"csrf": formToken(t, page), "action": "send", "from": "taro@example.jp", "to": "hanako@example.jp",
		"subject": "Fwd: files", "body": "fyi", "carry": "INBOX/1", "keep": "1"})
	o, err = compose.Parse(queued(page))
	if err != nil || len(o.Attachments) != 1 || o.Attachments[0].Name != "two.bin" || string(o.Attachments[0].Data) != "\x03\x04\x05" {
		t.Fatalf("inline forward with two.bin only: %+v %v", o, err)
	}
}

// A draft or Sent copy the account's quota has no room for is not stored,
// and the page says why (507 for the draft; the message is still sent).
func TestComposeMailboxFull(t *testing.T) {
	s, _, root := composeSite(t, nil)
	if err := s.st.SetAccountQuota(context.Background(), "test", "taro@example.jp", 100); err != nil {
		t.Fatal(err)
	}
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	body := strings.Repeat("long line of text ", 10)
	resp, page := s.postCompose(c, map[string]string{"csrf": s.composeToken(c, ""), "action": "save", "from": "taro@example.jp",
		"to": "hanako@example.jp", "subject": "draft", "body": body})
	if resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(page, "your mailbox is full") {
		t.Fatalf("save over quota: %d\n%s", resp.StatusCode, page)
	}
	if msgs := folderMessages(t, root, "taro@example.jp", "Drafts"); len(msgs) != 0 {
		t.Fatalf("Drafts: %+v, want nothing", msgs)
	}
	resp, page = s.postCompose(c, map[string]string{"csrf": formToken(t, page), "action": "send", "from": "taro@example.jp",
		"to": "hanako@example.jp", "subject": "sent", "body": body})
	if resp.StatusCode != 200 || !strings.Contains(page, "because your mailbox is full; the message itself was sent") {
		t.Fatalf("send over quota: %d\n%s", resp.StatusCode, page)
	}
	if msgs := folderMessages(t, root, "taro@example.jp", "Sent"); len(msgs) != 0 {
		t.Fatalf("Sent: %+v, want nothing", msgs)
	}
}

// The From menu offers the account and its aliases, never its domain's
// catch-all: that is no address to send as (store.Owns, RFC 6409 §6.1).
func TestComposeFromMenuLeavesOutCatchAll(t *testing.T) {
	s, _, _ := composeSite(t, nil)
	ctx := context.Background()
	if err := s.st.AddAlias(ctx, "test", "@example.jp", "taro@example.jp"); err != nil {
		t.Fatal(err)
	}
	got, err := s.srv.ownAddresses(ctx, "taro@example.jp")
	if err != nil || strings.Join(got, " ") != "taro@example.jp t.yamada@example.jp" {
		t.Fatalf("ownAddresses = %q, %v", got, err)
	}
}
