package web

// Webmail, the reading side: folders, the message list, a message, the
// actions on messages and folders. The model is internal/webmail; these
// handlers parse requests and print pages. The account is always the
// session's: no URL names an account, so one account's cookie can only
// ever reach its own mailbox.
//
// Folders and messages travel in the query string (?f=INBOX&uid=7): a
// folder name may hold any character Maildir++ allows, and html/template
// escapes query values correctly.

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"mailgate/internal/mailbox"
	"mailgate/internal/webmail"
)

func (s *Server) mailRoutes(m *http.ServeMux) {
	get := func(h http.HandlerFunc) http.HandlerFunc { return s.tlsOnly(s.loggedIn(s.mailAt(h))) }
	// The CSRF check runs where the mailbox is: on the home node for a
	// request proxied there (which gets the body untouched).
	post := func(h http.HandlerFunc) http.HandlerFunc { return s.tlsOnly(s.loggedIn(s.mailAt(s.csrf(h)))) }
	m.HandleFunc("GET /mail/{$}", get(s.mailList))
	m.HandleFunc("GET /mail/msg", get(s.mailRead))
	m.HandleFunc("GET /mail/body", get(s.mailBody))
	m.HandleFunc("GET /mail/part", get(s.mailPart))
	m.HandleFunc("GET /mail/raw", get(s.mailRaw))
	m.HandleFunc("GET /mail/folders", get(s.mailFolders))
	m.HandleFunc("POST /mail/act", post(s.mailAct))
	m.HandleFunc("POST /mail/folders", post(s.mailFolderAct))
	m.HandleFunc("POST /mail/empty", post(s.mailEmpty))
}

// mailAt serves a webmail request where the session's mailbox lives: here,
// or, in a fleet, on its home node through MailProxy (the Maildir is only
// ever opened on its home: a second copy here would diverge). A request
// proxied to us is never proxied on.
func (s *Server) mailAt(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.MailHome == nil {
			s.mailSlot(w, r, next)
			return
		}
		acct := s.session(r).Account
		away, err := s.MailHome(r.Context(), acct)
		switch {
		case err != nil:
			s.log.Warn("webmail: home node lookup failed", "account", acct, "err", err)
			s.fail(w, r, http.StatusServiceUnavailable, "mail.err.later")
		case away == "":
			s.mailSlot(w, r, next)
		case s.MailProxy != nil && r.Context().Value(proxiedKey{}) == nil:
			s.MailProxy(w, r, away)
		default:
			s.log.Warn("webmail: mailbox homed elsewhere", "account", acct, "node", away)
			s.fail(w, r, http.StatusServiceUnavailable, "mail.err.elsewhere")
		}
	}
}

// proxiedKey marks a request another node of the fleet proxied to us.
type proxiedKey struct{}

// ServeProxied serves webmail requests proxied from other nodes of a
// fleet (fleet.Access.ProxyHTTP) on connections the fleet listener has
// authenticated (mutual TLS, the client's address as RemoteAddr). The
// visitor reached the other node over HTTPS (tlsOnly there), so the
// request counts as one over TLS here: the session and CSRF cookies are
// the __Host- ones, checked against the shared store as for any request.
func (s *Server) ServeProxied(l net.Listener) error {
	h := s.Handler()
	srv := s.NewHTTPServer(nil)
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/mail/") {
			http.NotFound(w, r) // only the webmail is proxied
			return
		}
		if r.TLS == nil {
			r.TLS = &tls.ConnectionState{HandshakeComplete: true}
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), proxiedKey{}, true)))
	})
	return Serve(srv, l)
}

// mailbox opens the session account's mailbox, or answers the request
// itself (error page) and returns nil.
func (s *Server) mailbox(w http.ResponseWriter, r *http.Request) *webmail.Mailbox {
	acct := s.session(r).Account
	mb, err := webmail.Open(filepath.Join(s.cfg.DataDir, "mail"), acct, s.MailLearn)
	if err != nil {
		s.log.Error("webmail: open mailbox", "account", acct, "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return nil
	}
	return mb
}

// mailMessage is the mailbox and the UID of the message a request names,
// or nil when it answered the request itself (no such UID: 404).
func (s *Server) mailMessage(w http.ResponseWriter, r *http.Request) (*webmail.Mailbox, uint32) {
	uid, ok := uidParam(r)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "mail.err.nomessage")
		return nil, 0
	}
	return s.mailbox(w, r), uid
}

// mailErr answers a model error: a missing folder or message is a 404,
// a refused action a 400, anything else a 500 with a log line.
func (s *Server) mailErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, mailbox.ErrNoFolder), errors.Is(err, webmail.ErrNoMessage):
		s.fail(w, r, http.StatusNotFound, "mail.err.nomessage")
	case errors.Is(err, mailbox.ErrBadFolderName):
		s.fail(w, r, http.StatusBadRequest, "mail.err.badname")
	case errors.Is(err, mailbox.ErrFolderExists):
		s.fail(w, r, http.StatusConflict, "mail.err.exists")
	case errors.Is(err, webmail.ErrSpecialFolder):
		s.fail(w, r, http.StatusBadRequest, "mail.err.special")
	case errors.Is(err, webmail.ErrBadAction):
		s.fail(w, r, http.StatusBadRequest, "mail.err.action")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		s.fail(w, r, http.StatusServiceUnavailable, "mail.err.slow")
	case errors.Is(err, webmail.ErrTooLarge):
		s.fail(w, r, http.StatusRequestEntityTooLarge, "mail.err.toolarge")
	default:
		s.log.Error("webmail", "account", s.session(r).Account, "path", r.URL.Path, "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
	}
}

// mailView is what the mail pages get.
type mailView struct {
	Folders []webmail.FolderInfo
	Folder  string
	List    *webmail.Page
	Msg     *webmail.Message
	// Images: remote images are shown; Headers: all header fields.
	Images, Headers bool
	Back            string // the list this page came from
	Error           string
	Quota           *quotaInfo // the folder pane's usage; nil: none shown
}

// folderParam is the ?f= folder, INBOX when absent.
func folderParam(r *http.Request) string {
	f := r.FormValue("f")
	if f == "" || mailbox.IsInbox(f) {
		return webmail.Inbox
	}
	return f
}

func uidParam(r *http.Request) (uint32, bool) {
	n, err := strconv.ParseUint(r.FormValue("uid"), 10, 32)
	return uint32(n), err == nil && n > 0
}

// listQuery reads the list's sort, search and page from the query.
func listQuery(r *http.Request) webmail.Query {
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	sort := q.Get("sort")
	switch sort {
	case webmail.BySender, webmail.BySubject, webmail.BySize:
	default:
		sort = webmail.ByDate
	}
	in := q.Get("in")
	switch in {
	case webmail.InFrom, webmail.InTo, webmail.InSubject, webmail.InBody:
	default:
		in = webmail.InAll
	}
	return webmail.Query{Sort: sort, Asc: q.Get("asc") == "1", Search: strings.TrimSpace(q.Get("q")), In: in, Page: max(page-1, 0),
		Threads: q.Get("conv") == "1"}
}

// listURL is the list page for folder and query; page is 1-based.
func listURL(folder string, q webmail.Query, page int) string {
	v := url.Values{}
	if folder != webmail.Inbox {
		v.Set("f", folder)
	}
	if q.Sort != webmail.ByDate {
		v.Set("sort", q.Sort)
	}
	if q.Asc {
		v.Set("asc", "1")
	}
	if q.Search != "" {
		v.Set("q", q.Search)
		if q.In != "" {
			v.Set("in", q.In)
		}
	}
	if q.Threads {
		v.Set("conv", "1")
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/mail/"
	}
	return "/mail/?" + v.Encode()
}

// SortURL is the link of a column header: that order, or the reverse
// when the list is already in it.
func (v *mailView) SortURL(by string) string {
	q := v.List.Query
	if q.Sort == by {
		q.Asc = !q.Asc
	} else {
		q.Sort, q.Asc = by, by == webmail.BySender || by == webmail.BySubject
	}
	return listURL(v.Folder, q, 1)
}

// sortChoice is one link of the list's sort bar: a column's header link
// under the column's name, the current order marked with its direction.
type sortChoice struct {
	By, Label, URL string
	Current        bool
	Dir            string // the current order's direction, a catalog key
}

// SortChoices are the sort bar's links, the column headers' own URLs
// (SortURL). A phone's list hides the date and size columns, and their
// headers with them, so the bar is its way to sort by date.
func (v *mailView) SortChoices() []sortChoice {
	q := v.List.Query
	var out []sortChoice
	for _, by := range []string{webmail.ByDate, webmail.BySender, webmail.BySubject, webmail.BySize} {
		c := sortChoice{By: by, Label: "mail.col." + by, URL: v.SortURL(by), Current: q.Sort == by}
		if c.Current {
			c.Dir = "mail.sort.desc"
			if q.Asc {
				c.Dir = "mail.sort.asc"
			}
			if by == webmail.ByDate {
				c.Dir += ".date"
			}
		}
		out = append(out, c)
	}
	return out
}

// ConvURL switches between the conversation view and single messages,
// keeping the search and the order, from the first page (page numbers
// count different rows).
func (v *mailView) ConvURL() string {
	q := v.List.Query
	q.Threads = !q.Threads
	return listURL(v.Folder, q, 1)
}

// PageURL is page n (1-based) of the current list.
func (v *mailView) PageURL(n int) string { return listURL(v.Folder, v.List.Query, n) }

// PageNo is the current page, 1-based.
func (v *mailView) PageNo() int { return v.List.Query.Page + 1 }

// MsgURL opens message uid of the current folder.
func (v *mailView) MsgURL(uid uint32) string {
	return "/mail/msg?" + url.Values{"f": {v.Folder}, "uid": {strconv.FormatUint(uint64(uid), 10)}}.Encode()
}

// FolderURL is a folder's list.
func (v *mailView) FolderURL(name string) string {
	return listURL(name, webmail.Query{Sort: webmail.ByDate}, 1)
}

// Here is the current page's address, for forms to come back to.
func (v *mailView) Here() string {
	if v.Msg != nil {
		return v.MsgURL(v.Msg.UID)
	}
	return v.PageURL(v.PageNo())
}

// MsgLink is a URL about the message shown: path with its folder and UID
// and the extra query pairs (key, value, ...). Built here, not in the
// template: html/template would escape a query string spliced after '?'.
func (v *mailView) MsgLink(path string, kv ...string) string {
	q := url.Values{"f": {v.Folder}, "uid": {strconv.FormatUint(uint64(v.Msg.UID), 10)}}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return path + "?" + q.Encode()
}

// Movable are the folders a message of this folder can move to.
func (v *mailView) Movable() []string {
	var out []string
	for _, f := range v.Folders {
		if f.Name != v.Folder {
			out = append(out, f.Name)
		}
	}
	return out
}

// IsTrashOrJunk: the folder has an Empty button.
func (v *mailView) IsTrashOrJunk() bool { return v.Folder == webmail.Trash || v.Folder == webmail.Junk }

// IsJunk: messages here get "not spam" rather than "spam".
func (v *mailView) IsJunk() bool { return v.Folder == webmail.Junk }

func (s *Server) mailList(w http.ResponseWriter, r *http.Request) {
	mb := s.mailbox(w, r)
	if mb == nil {
		return
	}
	v := &mailView{Folder: folderParam(r)}
	// A body search reads the whole folder: it stops when the visitor
	// goes, and when the page could no longer be written anyway.
	ctx, cancel := context.WithTimeout(r.Context(), writeTimeout)
	defer cancel()
	var err error
	if v.List, err = mb.ListContext(ctx, v.Folder, listQuery(r)); err != nil {
		s.mailErr(w, r, err)
		return
	}
	if v.Folders, err = mb.Folders(); err != nil {
		s.mailErr(w, r, err)
		return
	}
	v.Quota = s.subscriberQuota(r)
	w.Header().Set("Content-Security-Policy", mailPageCSP)
	s.render(w, r, http.StatusOK, "mail_list", v)
}

// mailPageCSP is the mail pages' policy: the site's, plus our own
// keyboard-shortcut script and frames from our origin (the message body).
const mailPageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// mailRead shows a message and marks it read, as an IMAP client's
// BODY[] fetch does (RFC 9051 §6.4.5) — but only for a request from our
// own pages or typed in (Sec-Fetch-Site), so another site cannot mark
// messages read by linking to them.
func (s *Server) mailRead(w http.ResponseWriter, r *http.Request) {
	mb, uid := s.mailMessage(w, r)
	if mb == nil {
		return
	}
	v := &mailView{Folder: folderParam(r), Images: r.FormValue("images") == "1", Headers: r.FormValue("headers") == "1"}
	var err error
	if v.Msg, err = mb.Read(v.Folder, uid); err != nil {
		s.mailErr(w, r, err)
		return
	}
	if !v.Msg.Seen() && sameSiteRequest(r) {
		if err := mb.Mark(v.Folder, []uint32{uid}, webmail.MarkRead); err == nil {
			v.Msg.Flags += string(mailbox.FlagSeen)
		}
	}
	if v.Folders, err = mb.Folders(); err != nil {
		s.mailErr(w, r, err)
		return
	}
	v.Quota = s.subscriberQuota(r)
	v.Back = safeMailBack(r.FormValue("back"), listURL(v.Folder, webmail.Query{Sort: webmail.ByDate}, 1))
	w.Header().Set("Content-Security-Policy", mailPageCSP)
	s.render(w, r, http.StatusOK, "mail_read", v)
}

// sameSiteRequest: a navigation from our pages, or typed in or
// bookmarked (Sec-Fetch-Site none); a client that sends no
// Sec-Fetch-Site (curl, an old browser) counts as one.
func sameSiteRequest(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// safeMailBack keeps a "back" link on the mail pages.
func safeMailBack(b, def string) string {
	if strings.HasPrefix(b, "/mail/") && !strings.ContainsAny(b, "\\\r\n") {
		return b
	}
	return def
}

// mailBodyCSP is the message frame's policy: nothing loads but inline
// styles and data: images (and, once asked, images from anywhere), no
// script runs, forms go nowhere, and only our pages may frame it. The
// sandbox directive holds even if the frame's URL is opened on its own.
const mailBodyCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:%s; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"

// mailBody serves the sanitized HTML (or the text as HTML) of a message
// for the sandboxed frame of the read page.
func (s *Server) mailBody(w http.ResponseWriter, r *http.Request) {
	mb, uid := s.mailMessage(w, r)
	if mb == nil {
		return
	}
	images := r.FormValue("images") == "1"
	doc, _, err := mb.HTMLBody(folderParam(r), uid, images)
	if err != nil {
		s.mailErr(w, r, err)
		return
	}
	h := w.Header()
	extra := ""
	if images {
		extra = " https: http:"
	}
	h.Set("Content-Security-Policy", strings.Replace(mailBodyCSP, "%s", extra, 1))
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.Write(doc)
}

// mailPart serves an attachment as a download, never as a page: a
// Content-Disposition of attachment, a generic type, nosniff (set for
// every response) and a sandbox CSP, so an HTML or SVG attachment can
// neither run nor be rendered on our origin.
func (s *Server) mailPart(w http.ResponseWriter, r *http.Request) {
	mb, uid := s.mailMessage(w, r)
	if mb == nil {
		return
	}
	body, name, _, err := mb.Part(folderParam(r), uid, r.FormValue("part"))
	if err != nil {
		s.mailErr(w, r, err)
		return
	}
	download(w, name, body)
}

// mailRaw serves the message as stored, as a download.
func (s *Server) mailRaw(w http.ResponseWriter, r *http.Request) {
	mb, uid := s.mailMessage(w, r)
	if mb == nil {
		return
	}
	body, err := mb.Raw(folderParam(r), uid)
	if err != nil {
		s.mailErr(w, r, err)
		return
	}
	download(w, "message-"+strconv.FormatUint(uint64(uid), 10)+".eml", body)
}

func download(w http.ResponseWriter, name string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	// RFC 6266 §4.3 with RFC 8187 filename* for non-ASCII names.
	h.Set("Content-Disposition", contentDisposition(name))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}
