package web

// Webmail, the sending side: the compose page for a new message, a
// reply, a reply to all, a forward (inline or attached) and a reopened
// draft. The message is built by internal/compose and sent through
// smtpd.Server.Submit, the submission path itself: sender ownership,
// account status, daily limits, the verdict stages (virus, spam) and the
// queue, whose delivery signs with DKIM. Nothing here checks a sender or
// a limit: a refusal is Submit's SMTP reply, shown as it is.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"mailgate/internal/compose"
	"mailgate/internal/mailbox"
	"mailgate/internal/message"
	"mailgate/internal/quotawarn"
	"mailgate/internal/smtpd"
	"mailgate/internal/webmail"
)

// Submitter sends a message through the submission path
// (smtpd.Server.Submit).
type Submitter interface {
	Submit(ctx context.Context, sub smtpd.Submission) (string, *smtp.SMTPError)
}

func (s *Server) mailComposeRoutes(m *http.ServeMux) {
	// Served where the mailbox lives (mailAt: in a fleet, proxied to its
	// home node, which reads the form, sends and files the copies). The
	// session is checked before a large body is read.
	m.HandleFunc("GET /mail/compose", s.tlsOnly(s.loggedIn(s.mailAt(s.composePage))))
	m.HandleFunc("POST /mail/compose", s.tlsOnly(s.loggedIn(s.mailAt(s.composeForm(s.csrf(s.composePost))))))
}

// composeView is what mail_compose.html gets.
type composeView struct {
	Draft      *compose.Draft
	Froms      []string // the account's own addresses
	References string   // space-separated, as the hidden field holds them
	// Carry is "FOLDER/UID" of the message whose attachments the form
	// carries (a forwarded message, a reopened draft); CarryWhole carries
	// that message itself as message/rfc822.
	Carry      string
	CarryWhole bool
	Carried    []carriedFile
	DraftUID   uint32
	// Answers is "FOLDER/UID" of the message a reply answers, marked
	// \Answered once the reply is sent.
	Answers string
	MaxSize string
	// Error is a translation key; Reply an SMTP reply shown as it is.
	Error, ErrorArg, Reply string
	// Reattach: the files uploaded with a refused form must be added
	// again (a file field cannot be filled in by the server).
	Reattach       bool
	Saved          bool
	SentID         string
	SentCopyFailed bool
	// SentCopyFull: no Sent copy, the mailbox is at its quota.
	SentCopyFull bool
}

type carriedFile struct {
	N    int
	Name string
	Size int64
}

// composeLimit is the upload limit: the message size limit of submission
// ([limits] max_message_bytes), plus room for the form's other fields.
func (s *Server) composeLimit() int64 { return s.cfg.Limits.MaxMessageBytes + 256<<10 }

// composeForm reads the multipart form before csrf looks at it: csrf
// caps a body at 64 KiB, a message with attachments may be as large as
// submission takes. Anything larger is refused with the limit.
func (s *Server) composeForm(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The server's ReadTimeout (30 s) would cut off a 25 MB upload on
		// a slow line: this request may take longer, its size is bounded.
		if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(composeUploadTime)); err != nil {
			s.log.Debug("webmail: cannot extend the upload deadline", "err", err)
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.composeLimit())
		err := r.ParseMultipartForm(4 << 20)
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			// The form is lost with the cut body: an empty one, with why.
			acct := s.session(r).Account
			own, _ := s.ownAddresses(r.Context(), acct)
			s.showCompose(w, r, http.StatusRequestEntityTooLarge, &composeView{Froms: own, Draft: &compose.Draft{From: acct},
				Error: "compose.err.toolarge", ErrorArg: mbText(s.cfg.Limits.MaxMessageBytes)})
			return
		case err != nil && !errors.Is(err, http.ErrNotMultipart):
			s.fail(w, r, http.StatusBadRequest, "compose.err.form")
			return
		}
		if r.MultipartForm != nil {
			defer r.MultipartForm.RemoveAll()
		}
		next(w, r)
	}
}

// composeUploadTime bounds the reading of one compose form: 25 MB at
// 50 KB/s.
const composeUploadTime = 10 * time.Minute

func mbText(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// ownAddresses are the account's address and its aliases, for the From
// menu (Submit still decides what may be sent as). A catch-all is no
// address to send as (store.Owns).
func (s *Server) ownAddresses(ctx context.Context, account string) ([]string, error) {
	out := []string{account}
	aliases, err := s.st.Aliases(ctx, account)
	if err != nil {
		return nil, err
	}
	for _, a := range aliases {
		if !a.CatchAll() {
			out = append(out, a.Address)
		}
	}
	return out, nil
}

// composer is what both compose handlers start from: the session's
// mailbox, its account and the From addresses it may use; a nil mailbox
// when the request was already answered.
func (s *Server) composer(w http.ResponseWriter, r *http.Request) (*webmail.Mailbox, string, []string) {
	mb := s.mailbox(w, r)
	if mb == nil {
		return nil, "", nil
	}
	acct := s.session(r).Account
	own, err := s.ownAddresses(r.Context(), acct)
	if err != nil {
		s.mailErr(w, r, err)
		return nil, "", nil
	}
	return mb, acct, own
}

// composePage opens the form: empty, or started from a message
// (?reply=, ?replyall=, ?forward=, ?forwardatt= FOLDER/UID) or a draft
// (?draft=UID).
func (s *Server) composePage(w http.ResponseWriter, r *http.Request) {
	mb, acct, own := s.composer(w, r)
	if mb == nil {
		return
	}
	v := &composeView{Froms: own, Draft: &compose.Draft{From: acct}}
	q := r.URL.Query()
	for _, mode := range []string{"reply", "replyall", "forward", "forwardatt", "draft"} {
		ref := q.Get(mode)
		if ref == "" {
			continue
		}
		folder, uid, ok := parseRef(ref, mode == "draft")
		if !ok {
			s.fail(w, r, http.StatusBadRequest, "mail.err.nomessage")
			return
		}
		raw, err := mb.Raw(folder, uid)
		if err != nil {
			s.mailErr(w, r, err)
			return
		}
		o, err := compose.Parse(raw)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, "compose.err.unreadable")
			return
		}
		isOwn := func(a string) bool {
			return slices.ContainsFunc(own, func(o string) bool { return strings.EqualFold(o, a) })
		}
		switch mode {
		case "reply", "replyall":
			wrote := pickLang(r).T("compose.wrote.nodate", o.Author())
			if when := o.When(); when != "" {
				wrote = pickLang(r).T("compose.wrote", when, o.Author())
			}
			v.Draft = o.Reply(mode == "replyall", isOwn, wrote)
			v.Draft.From = replyFrom(o, own)
			v.Answers = ref
		case "forward":
			v.Draft = o.Forward()
			v.Carry = ref
		case "forwardatt":
			v.Draft = o.ForwardAttached()
			v.Carry, v.CarryWhole = ref, true
		case "draft":
			v.Draft = o.AsDraft()
			v.Carry, v.DraftUID = webmail.Drafts+"/"+strconv.FormatUint(uint64(uid), 10), uid
		}
		if v.Draft.From == "" {
			v.Draft.From = acct
		}
		for i, a := range v.Draft.Attachments {
			v.Carried = append(v.Carried, carriedFile{N: i, Name: a.Name, Size: int64(len(a.Data))})
		}
		break
	}
	v.Saved = q.Get("saved") == "1"
	s.showCompose(w, r, http.StatusOK, v)
}

func (s *Server) showCompose(w http.ResponseWriter, r *http.Request, status int, v *composeView) {
	v.MaxSize = mbText(s.cfg.Limits.MaxMessageBytes)
	v.References = strings.Join(v.Draft.References, " ")
	s.render(w, r, status, "mail_compose", v)
}

// parseRef reads "FOLDER/UID" (Maildir++ names hold no '/'), or for a
// draft the UID alone.
func parseRef(ref string, draft bool) (string, uint32, bool) {
	folder, n := webmail.Drafts, ref
	if !draft {
		i := strings.LastIndexByte(ref, '/')
		if i <= 0 {
			return "", 0, false
		}
		folder, n = ref[:i], ref[i+1:]
	}
	uid, err := strconv.ParseUint(n, 10, 32)
	return folder, uint32(uid), err == nil && uid > 0
}

// replyFrom answers from the address of ours the original was sent to
// (an alias), else from the account's own.
func replyFrom(o *compose.Original, own []string) string {
	for _, l := range [][]*mail.Address{o.To, o.Cc} {
		for _, a := range l {
			for _, mine := range own {
				if strings.EqualFold(a.Address, mine) {
					return mine
				}
			}
		}
	}
	return own[0]
}

// composePost sends the message or saves it as a draft.
func (s *Server) composePost(w http.ResponseWriter, r *http.Request) {
	mb, acct, own := s.composer(w, r)
	if mb == nil {
		return
	}
	v := &composeView{Froms: own, Carry: r.PostFormValue("carry"), CarryWhole: r.PostFormValue("carrywhole") == "1", Answers: r.PostFormValue("answers")}
	if n, err := strconv.ParseUint(r.PostFormValue("draft"), 10, 32); err == nil {
		v.DraftUID = uint32(n)
	}
	d := &compose.Draft{
		From: r.PostFormValue("from"), FromName: strings.TrimSpace(r.PostFormValue("fromname")),
		To: r.PostFormValue("to"), Cc: r.PostFormValue("cc"), Bcc: r.PostFormValue("bcc"),
		Subject: r.PostFormValue("subject"), Text: r.PostFormValue("body"),
		InReplyTo: strings.Trim(strings.TrimSpace(r.PostFormValue("inreplyto")), "<>"),
	}
	for _, id := range strings.Fields(r.PostFormValue("references")) {
		d.References = append(d.References, strings.Trim(id, "<>"))
	}
	v.Draft = d
	carried, err := s.carried(mb, v, r.PostForm["keep"])
	if err != nil {
		s.mailErr(w, r, err)
		return
	}
	d.Attachments = carried
	uploads, err := uploadedFiles(r)
	if err != nil {
		s.log.Error("webmail: reading an upload", "account", acct, "err", err)
		s.fail(w, r, http.StatusBadRequest, "compose.err.form")
		return
	}
	d.Attachments = append(d.Attachments, uploads...)

	folders := compose.Folders{MailDir: s.mailDir(acct), Quota: s.mailboxQuota(r.Context(), acct),
		Account: acct, Warner: quotawarn.FromConfig(s.cfg, s.log)}
	now := time.Now()
	opts := compose.Options{Hostname: s.cfg.Hostname, Now: now, MaxBytes: s.cfg.Limits.MaxMessageBytes, KeepBcc: true}
	if r.PostFormValue("action") == "save" {
		msg, ok := s.buildOrShow(w, r, v, opts, len(uploads) > 0)
		if !ok {
			return
		}
		uid, err := folders.SaveDraft(msg, v.DraftUID, now)
		if errors.Is(err, mailbox.ErrOverQuota) {
			s.showComposeError(w, r, v, err, len(uploads) > 0)
			return
		}
		if err != nil {
			s.log.Error("webmail: saving a draft", "account", acct, "err", err)
			s.fail(w, r, http.StatusInternalServerError, "err.internal")
			return
		}
		http.Redirect(w, r, "/mail/compose?draft="+strconv.FormatUint(uint64(uid), 10)+"&saved=1", http.StatusSeeOther)
		return
	}

	rcpts, err := d.Recipients()
	if err != nil {
		s.showComposeError(w, r, v, err, len(uploads) > 0)
		return
	}
	from, err := compose.Addresses("From", d.From)
	if err != nil || len(from) != 1 {
		s.showComposeError(w, r, v, &compose.FieldError{Field: "From", Value: d.From}, len(uploads) > 0)
		return
	}
	// One Message-ID and Date for what is sent and its Sent copy.
	opts.MessageID = message.NewMessageID(s.cfg.Hostname, now)
	sentCopy, ok := s.buildOrShow(w, r, v, opts, len(uploads) > 0)
	if !ok {
		return
	}
	opts.KeepBcc = false
	msg, ok := s.buildOrShow(w, r, v, opts, len(uploads) > 0)
	if !ok {
		return
	}
	if s.Submitter == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "compose.err.nosend")
		return
	}
	id, reply := s.Submitter.Submit(r.Context(), smtpd.Submission{
		Account: acct, Client: clientAddr(r), From: from[0].Address, Rcpts: rcpts, Body: msg, Via: "webmail", TLS: r.TLS,
	})
	if reply != nil {
		s.log.Info("webmail: submission refused", "account", acct, "code", reply.Code, "reply", reply.Message)
		v.Reply, v.Reattach = smtpReplyText(reply), len(uploads) > 0
		s.showCompose(w, r, replyStatus(reply), v)
		return
	}
	s.log.Info("webmail: sent", "account", acct, "id", id, "rcpts", len(rcpts), "size", len(msg))
	done := &composeView{Draft: &compose.Draft{}, SentID: id}
	if _, err := folders.SaveSent(sentCopy, now); errors.Is(err, mailbox.ErrOverQuota) {
		s.log.Info("webmail: no Sent copy: mailbox full", "account", acct, "id", id, "err", err)
		done.SentCopyFull = true
	} else if err != nil {
		s.log.Error("webmail: filing the Sent copy", "account", acct, "id", id, "err", err)
		done.SentCopyFailed = true
	}
	if folder, uid, ok := parseRef(v.Answers, false); ok {
		if err := folders.MarkAnswered(folder, uid); err != nil {
			s.log.Warn("webmail: marking the original answered", "account", acct, "folder", folder, "uid", uid, "err", err)
		}
	}
	if v.DraftUID != 0 {
		if err := folders.DropDraft(v.DraftUID); err != nil {
			s.log.Warn("webmail: removing the sent draft", "account", acct, "uid", v.DraftUID, "err", err)
		}
	}
	s.showCompose(w, r, http.StatusOK, done)
}

// buildOrShow builds the message, or shows the form again with why not.
func (s *Server) buildOrShow(w http.ResponseWriter, r *http.Request, v *composeView, o compose.Options, uploads bool) ([]byte, bool) {
	msg, err := v.Draft.Build(o)
	if err != nil {
		s.showComposeError(w, r, v, err, uploads)
		return nil, false
	}
	return msg, true
}

// showComposeError shows the form again with the problem; uploaded files
// cannot be put back in a file field, so the user is told to add them
// again.
func (s *Server) showComposeError(w http.ResponseWriter, r *http.Request, v *composeView, err error, uploads bool) {
	var fe *compose.FieldError
	var tb *compose.TooBigError
	status := http.StatusBadRequest
	switch {
	case errors.As(err, &fe):
		v.Error, v.ErrorArg = "compose.err.address", fe.Field+": "+fe.Value
	case errors.As(err, &tb):
		v.Error, v.ErrorArg, status = "compose.err.toolarge", mbText(tb.Max), http.StatusRequestEntityTooLarge
	case errors.Is(err, compose.ErrNoRecipient):
		v.Error = "compose.err.norcpt"
	case errors.Is(err, mailbox.ErrOverQuota):
		v.Error, status = "compose.err.full", http.StatusInsufficientStorage
	default:
		s.log.Error("webmail: building a message", "account", s.session(r).Account, "err", err)
		v.Error = "err.internal"
		status = http.StatusInternalServerError
	}
	v.Reattach = uploads
	s.showCompose(w, r, status, v)
}

// carried are the attachments the form kept from the carried message:
// the files of a forwarded message or a draft, or the forwarded message
// itself; keep lists the ones still ticked.
func (s *Server) carried(mb *webmail.Mailbox, v *composeView, keep []string) ([]compose.Attachment, error) {
	if v.Carry == "" {
		return nil, nil
	}
	folder, uid, ok := parseRef(v.Carry, false)
	if !ok {
		return nil, webmail.ErrNoMessage
	}
	raw, err := mb.Raw(folder, uid)
	if err != nil {
		return nil, err
	}
	o, err := compose.Parse(raw)
	if err != nil {
		return nil, webmail.ErrNoMessage
	}
	all := o.Attachments
	if v.CarryWhole {
		all = []compose.Attachment{o.AsAttachment()}
	}
	var out []compose.Attachment
	for i, a := range all {
		if slices.Contains(keep, strconv.Itoa(i)) {
			out = append(out, a)
			v.Carried = append(v.Carried, carriedFile{N: i, Name: a.Name, Size: int64(len(a.Data))})
		}
	}
	return out, nil
}

// uploadedFiles reads the files of the "attach" field (the form's
// multipart parts, bounded by composeForm's limit).
func uploadedFiles(r *http.Request) ([]compose.Attachment, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	var out []compose.Attachment
	for _, fh := range r.MultipartForm.File["attach"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue // the empty file field
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, compose.Attachment{Name: fh.Filename, Type: fh.Header.Get("Content-Type"), Data: data})
	}
	return out, nil
}

// mailDir is the account's Maildir, where webmail.Open finds it.
// mailboxQuota is the account's mailbox quota in octets (0: unlimited).
// A failed lookup holds the save to none: the delivery and IMAP paths
// enforce the quota, and a draft is not lost over a store hiccup.
func (s *Server) mailboxQuota(ctx context.Context, account string) int64 {
	q, err := s.st.MailboxQuota(ctx, account)
	if err != nil {
		s.log.Warn("webmail: mailbox quota lookup failed", "account", account, "err", err)
		return 0
	}
	return q
}

func (s *Server) mailDir(account string) string {
	dir, _ := mailbox.Dir(filepath.Join(s.cfg.DataDir, "mail"), account)
	return dir
}

// smtpReplyText is the reply as an SMTP client shows it: "550 5.7.1 ...".
func smtpReplyText(r *smtp.SMTPError) string {
	if r.EnhancedCode == smtp.NoEnhancedCode || r.EnhancedCode == (smtp.EnhancedCode{}) {
		return fmt.Sprintf("%d %s", r.Code, r.Message)
	}
	return fmt.Sprintf("%d %d.%d.%d %s", r.Code, r.EnhancedCode[0], r.EnhancedCode[1], r.EnhancedCode[2], r.Message)
}

// replyStatus maps a refusal to HTTP: 4xx SMTP replies are temporary
// (503 Service Unavailable), 5xx are the request's (422: understood,
// refused).
func replyStatus(r *smtp.SMTPError) int {
	if r.Code >= 400 && r.Code < 500 {
		return http.StatusServiceUnavailable
	}
	return http.StatusUnprocessableEntity
}
