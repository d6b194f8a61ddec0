package abuse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/netip"
	"sort"
	"strings"
	"text/template"
	"time"

	"mailgate/internal/message"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// Notices for subscribers whose lines keep hitting the port-25 block: the
// infected PCs OP25B stops. Each subscriber (found through RADIUS
// accounting, linked to a mail account) gets a graded notice in their
// mailbox: a first notice, then reminders while the attempts go on.

// NoticeStore is what notices read and record (store.Store).
type NoticeStore interface {
	AttemptsReport(ctx context.Context, limit int) ([]store.AttemptRecord, error)
	SubscriberAt(ctx context.Context, ip netip.Addr, at time.Time) (*store.SubscriberSession, error)
	LastNotice(ctx context.Context, username string) (*store.Notice, error)
	RecordNotice(ctx context.Context, actor string, n store.Notice) error
}

// NoticePolicy is the operator's choice of who gets a notice, when, and
// what it says.
type NoticePolicy struct {
	// Threshold is how many blocked attempts earn a notice.
	Threshold uint64
	// ReminderAfter is the least time between two notices to one line.
	ReminderAfter time.Duration
	// From is the notices' sender; Hostname names our node.
	From, Hostname string
	// Text is the body template (fields of NoticeCase); nil: DefaultText.
	Text *template.Template
}

// NoticeCase is one subscriber's standing, and what a run does about it.
type NoticeCase struct {
	Subscriber, Account string
	Sources             []netip.Addr
	Attempts            uint64
	FirstSeen, LastSeen time.Time
	Grade               int    // the grade this run sends (1 first notice, 2+ reminders)
	Skip                string // why no notice goes now; "" sends one
}

// PlanNotices groups the blocked sources by the subscriber who held each
// when it was last seen and decides, per subscriber, whether a notice is
// due and of which grade.
func PlanNotices(ctx context.Context, st NoticeStore, p NoticePolicy, now time.Time) ([]*NoticeCase, error) {
	recs, err := st.AttemptsReport(ctx, 0)
	if err != nil {
		return nil, err
	}
	by := map[string]*NoticeCase{}
	for _, r := range recs {
		ss, err := st.SubscriberAt(ctx, r.Source, r.LastSeen)
		if errors.Is(err, store.ErrNotFound) {
			continue // no accounting for it: nobody to tell
		}
		if err != nil {
			return nil, err
		}
		c := by[ss.Username]
		if c == nil {
			c = &NoticeCase{Subscriber: ss.Username, Account: ss.Account, FirstSeen: r.FirstSeen}
			by[ss.Username] = c
		}
		c.Sources = append(c.Sources, r.Source)
		c.Attempts += r.Attempts
		if r.FirstSeen.Before(c.FirstSeen) {
			c.FirstSeen = r.FirstSeen
		}
		if r.LastSeen.After(c.LastSeen) {
			c.LastSeen = r.LastSeen
		}
	}
	var out []*NoticeCase
	for _, c := range by {
		if c.Attempts < p.Threshold {
			continue
		}
		c.Grade = 1
		last, err := st.LastNotice(ctx, c.Subscriber)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, err
		case !c.LastSeen.After(last.SentAt):
			c.Skip = "no blocked attempt since the notice of " + last.SentAt.UTC().Format(time.DateOnly)
		case now.Sub(last.SentAt) < p.ReminderAfter:
			c.Skip = "next reminder due " + last.SentAt.Add(p.ReminderAfter).UTC().Format(time.DateOnly)
		default:
			c.Grade = last.Grade + 1
		}
		if c.Skip == "" && c.Account == "" {
			c.Skip = "no mail account linked (mailgate subscriber link " + c.Subscriber + " ACCOUNT)"
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Attempts > out[j].Attempts })
	return out, nil
}

// SendNotices queues each due notice for the subscriber's linked account
// and records it, audited. Through the queue, as any local mail: in a
// fleet the account's home node delivers it, whichever node ran this.
// With dryRun nothing is queued or recorded.
func SendNotices(ctx context.Context, st NoticeStore, p NoticePolicy, sp *spool.Spool, actor string, cases []*NoticeCase, now time.Time, dryRun bool) error {
	for _, c := range cases {
		if c.Skip != "" || dryRun {
			continue
		}
		body, err := p.Compose(c, now)
		if err != nil {
			return err
		}
		if err := queueNotice(sp, c.Account, body, now); err != nil {
			return fmt.Errorf("notice to %s: %w", c.Account, err)
		}
		if err := st.RecordNotice(ctx, actor, store.Notice{Username: c.Subscriber, Account: c.Account, Grade: c.Grade, Attempts: c.Attempts, SentAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// Compose builds the notice message: UTF-8 text, a subject in RFC 2047
// form, and Auto-Submitted (RFC 3834 §5) so no vacation reply answers it.
func (p NoticePolicy) Compose(c *NoticeCase, now time.Time) ([]byte, error) {
	tmpl := p.Text
	if tmpl == nil {
		tmpl = DefaultText
	}
	var text bytes.Buffer
	if err := tmpl.Execute(&text, c); err != nil {
		return nil, fmt.Errorf("notice text: %w", err)
	}
	subject := "【重要】お使いの回線からの迷惑メール送信の疑い / Your line may be sending spam"
	if c.Grade > 1 {
		subject = fmt.Sprintf("【再通知 %d】", c.Grade-1) + subject
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", p.From)
	fmt.Fprintf(&b, "To: %s\r\n", c.Account)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.BEncoding.Encode("UTF-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	b.WriteString(message.MessageIDField(p.Hostname, now) + "\r\n")
	b.WriteString("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.Write(bytes.ReplaceAll(bytes.ReplaceAll(text.Bytes(), []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n")))
	return []byte(b.String()), nil
}

// TextFuncs are the functions a notice template may call: date formats a
// time for the reader.
var TextFuncs = template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
}

// DefaultText is the notice's body when the operator gives none: Japanese
// first, as the subscribers read it, then English.
var DefaultText = template.Must(template.New("notice").Funcs(TextFuncs).Parse(`{{.Subscriber}} 様

お客様の回線から、当社のメールサーバー以外への 25 番ポート接続（迷惑メール送信に
使われる通信）が {{.Attempts}} 回ありました。当社では Outbound Port 25 Blocking
(OP25B) によりこれらの通信を遮断しています。
期間: {{date .FirstSeen}} 〜 {{date .LastSeen}}

パソコンなどがウイルスに感染し、迷惑メールを送信している可能性があります。
ウイルス対策ソフトで全体をスキャンしてください。メールソフトの送信サーバーは
当社のサーバー、ポート 587、SMTP 認証ありに設定してください。

--
Dear {{.Subscriber}},

Your line tried {{.Attempts}} times to open port 25 to mail servers other than
ours, which is how spam is sent; our Outbound Port 25 Blocking stopped them.
Period: {{date .FirstSeen}} to {{date .LastSeen}}

A computer on your line may be infected and sending spam. Please scan it with
antivirus software. Set your mail program's outgoing server to ours, port 587,
with SMTP authentication.
`))

// queueNotice queues a notice of ours for one recipient. RFC 3834 §3.1.3 /
// RFC 5321 §4.5.5: an automatic notice has the null return path, so
// nothing answers it and nothing bounces back.
func queueNotice(sp *spool.Spool, to string, body []byte, now time.Time) error {
	if sp == nil {
		return errors.New("no queue to send it through")
	}
	return sp.Put(&spool.Envelope{ID: spool.NewID(), From: "", To: []string{to}, Received: now, Origin: "notice"}, body)
}
