package delivery

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailgate/internal/address"
	"mailgate/internal/mailbox"
	"mailgate/internal/sieve"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// SendUsage counts what an account sends against its daily send limits
// (the store; abuse.Usage): Sieve redirects count for the account whose
// script made them.
type SendUsage interface {
	ReserveSend(ctx context.Context, account string, recipients, messages int, defaults store.SendLimits) (int64, error)
	ReleaseSend(ctx context.Context, ids ...int64) error
}

// ScriptSource gives an account's active Sieve script (the store).
type ScriptSource interface {
	ActiveSieveScript(ctx context.Context, account string) (*store.SieveScript, error)
}

// VacationLog remembers which vacation replies went (the store): once
// per sender per period (RFC 5230 §4.1), across nodes and retries.
type VacationLog interface {
	VacationDue(ctx context.Context, account, handle, sender string, period time.Duration) (bool, error)
}

// maxRedirectHops: a message with this many Received fields is not
// redirected again (RFC 5228 §10 loops; RFC 5321 §6.3 counts hops so).
const maxRedirectHops = 25

// maxFilteredSize: a larger message is not read into memory for its
// filter; it is kept in INBOX (never lost) and the skip is logged.
const maxFilteredSize = 64 << 20

// filterPlan is what local delivery does for one recipient after Sieve:
// the folders to store in, the addresses to redirect to, or a rejection.
type filterPlan struct {
	folders   []target // in order, once each
	redirects []redirect
	keep      target // where the implicit keep stores, for a refused redirect
	reject    string // the reason, when the script rejected
	vacation  *sieve.Action
	msg       sieve.Message // what the script read, for the vacation reply
}

// redirect is one redirect target; copy is :copy (RFC 3894), which
// leaves the implicit keep as it was.
type redirect struct {
	addr string
	copy bool
}

// target is one folder to store in ("" is INBOX) with the IMAP flags to
// set (RFC 5232 §5).
type target struct {
	folder string
	flags  []string
}

func keepPlan(junk bool) filterPlan {
	if junk {
		return filterPlan{folders: []target{{folder: mailbox.Junk}}}
	}
	return filterPlan{folders: []target{{}}}
}

// filter runs the account's active script on m and turns its result into
// a plan. Only a store failure is an error (the delivery is retried); a
// broken or failing script logs and keeps (issue 10 §1: filtering never
// loses a message).
func (l *Local) filter(ctx context.Context, m *spool.Message, rcpt, acct, dir string) (filterPlan, error) {
	env := &m.Envelope
	keep := keepPlan(env.Junk)
	if l.Scripts == nil {
		return keep, nil
	}
	sc, err := l.Scripts.ActiveSieveScript(ctx, acct)
	if errors.Is(err, store.ErrNotFound) {
		return keep, nil
	}
	if err != nil {
		return keep, err
	}
	log := l.Log.With("id", env.ID, "rcpt", rcpt, "script", sc.Name)
	script, err := compiled(sc.Content)
	if err != nil {
		log.Warn("sieve script does not compile; keeping", "err", err)
		return keep, nil
	}
	if env.Size > maxFilteredSize {
		log.Warn("message too large to filter; keeping", "size", env.Size)
		return keep, nil
	}
	raw, err := io.ReadAll(m.Body())
	if err != nil {
		return keep, fmt.Errorf("reading the message: %w", err)
	}
	msg := sieve.ParseMessage(raw)
	res, err := sieve.Run(ctx, script, msg, sieve.Env{
		Envelope:      sieve.Envelope{From: env.From, To: rcpt},
		MailboxExists: func(name string) bool { return mailbox.IsInbox(name) || mailbox.FolderExists(dir, name) },
		UserAddresses: []string{acct},
		Spam:          spamScore(msg, env.Junk),
		Virus:         virusScore(msg),
		Limits:        l.SieveLimits,
	})
	if err != nil {
		log.Warn("sieve script failed; keeping", "err", err)
	}
	for _, n := range res.Notes {
		log.Info("sieve: " + n)
	}
	p := l.plan(res, dir, env.Junk, len(msg.Header("Received")) >= maxRedirectHops, log)
	p.msg = msg
	return p, nil
}

// plan maps actions to folders and redirects. RFC 5228 §2.10.3: a folder
// once only, whether named by keep, fileinto or the implicit keep.
func (l *Local) plan(res *sieve.Result, dir string, junk, looping bool, log interface{ Warn(string, ...any) }) filterPlan {
	var p filterPlan
	seen := map[string]bool{}
	store := func(folder string, flags []string) {
		if !seen[folder] {
			seen[folder] = true
			p.folders = append(p.folders, target{folder, flags})
		}
	}
	keepFolder := ""
	if junk {
		// The verdict's Junk folder is where "keep" puts spam.
		keepFolder = mailbox.Junk
	}
	p.keep = target{keepFolder, res.ImplicitKeepFlags}
	for _, a := range res.Actions {
		switch a.Kind {
		case sieve.ActKeep:
			store(keepFolder, a.Flags)
		case sieve.ActFileInto:
			store(l.fileinto(dir, a, log), a.Flags)
		case sieve.ActRedirect:
			if looping {
				// RFC 5228 §10: a redirected message that keeps coming
				// back is a loop; keep it rather than send it round again.
				log.Warn("sieve redirect skipped: the message has been through too many hops (mail loop?)", "to", a.Address)
				if !a.Copy {
					store(keepFolder, res.ImplicitKeepFlags)
				}
				continue
			}
			p.redirects = append(p.redirects, redirect{a.Address, a.Copy})
		case sieve.ActReject, sieve.ActEreject:
			p.reject = a.Reason
		case sieve.ActVacation:
			p.vacation = &a
		}
	}
	if res.ImplicitKeep {
		store(keepFolder, res.ImplicitKeepFlags)
	}
	return p
}

// fileinto resolves a fileinto target: the folder if it exists, created
// first with :create (RFC 5490 §3.2), otherwise INBOX ("") with a log line.
func (l *Local) fileinto(dir string, a sieve.Action, log interface{ Warn(string, ...any) }) string {
	name := a.Mailbox
	if mailbox.IsInbox(name) {
		return ""
	}
	if mailbox.FolderExists(dir, name) {
		return name
	}
	if a.Create {
		err := mailbox.CreateFolder(dir, name)
		if err == nil || errors.Is(err, mailbox.ErrFolderExists) {
			return name
		}
		log.Warn("sieve fileinto :create failed; delivering to INBOX", "folder", name, "err", err)
		return ""
	}
	log.Warn("sieve fileinto a missing folder; delivering to INBOX", "folder", name)
	return ""
}

// addRedirects adds the redirect targets to the message's recipients:
// they go out with this message from the same queue entry, recorded in
// the same state write as this recipient's delivery, so a retry after a
// crash finds them there and adds none twice. The queue keeps the
// original envelope sender (RFC 5228 §4.2); remote delivery rewrites it
// with SRS for these recipients, marked Forwarded (srs.go).
//
// Each new target counts against the daily send limits of acct, whose
// script made the redirect (issue 10: redirect counts against the
// account's sending limits): one recipient per target and one message
// for the first. A target past the limit is not added but returned in
// refused; the caller keeps the message instead. An error is the store
// failing: the reservations made here are given back and the delivery
// is retried.
func (l *Local) addRedirects(ctx context.Context, st *spool.State, acct string, targets []redirect, passedOn map[string]bool, log *slog.Logger) (added []string, refused []redirect, err error) {
	var ids []int64
	for _, t := range targets {
		if !t.copy && l.closesLoop(ctx, t.addr, acct, passedOn) {
			refused = append(refused, t)
			log.Warn("sieve redirect not made: it leads back to a mailbox this message was redirected from (a redirect loop); keeping the message",
				"account", acct, "to", t.addr)
			continue
		}
		if hasRcpt(st, t.addr) {
			continue
		}
		if l.Sends != nil {
			messages := 0
			if len(ids) == 0 {
				messages = 1
			}
			id, err := l.Sends.ReserveSend(ctx, acct, 1, messages, l.SendDefaults)
			var over *store.OverLimitError
			if errors.As(err, &over) {
				refused = append(refused, t)
				log.Warn("sieve redirect not made: daily send limit reached; keeping the message",
					"account", acct, "to", t.addr, "limit", over.Limit, "max", over.Max, "frees_at", over.FreesAt)
				continue
			}
			if err != nil {
				if len(ids) > 0 {
					l.Sends.ReleaseSend(ctx, ids...)
				}
				return nil, nil, fmt.Errorf("send limits: %w", err)
			}
			ids = append(ids, id)
		}
		added = append(added, t.addr)
	}
	for _, a := range added {
		st.Rcpts = append(st.Rcpts, spool.RcptState{Addr: a, Status: spool.Pending, Forwarded: true, Via: acct})
	}
	return added, refused, nil
}

// closesLoop says whether a redirect to addr would bring the message back
// to acct's own mailbox (the address, or an alias of it) or to one that
// redirected it on in this pass without keeping a copy (carol to bob, bob
// to carol). Such a target is already served, so the redirect would add
// nothing and every copy would be gone: a subscriber's script that
// redirects to its own address lost each message after its 250. RFC 5228
// §10 asks for loop control, and §2.10.6 that filtering never loses a
// message: the redirect is refused and the implicit keep stores it here.
// A lookup that fails is not a loop (the redirect goes on as before).
func (l *Local) closesLoop(ctx context.Context, addr, acct string, passedOn map[string]bool) bool {
	if ours, err := l.Dir.HasDomain(ctx, address.Domain(addr)); err != nil || !ours {
		return false
	}
	to, err := l.Dir.Resolve(ctx, addr)
	if err != nil {
		return false
	}
	return to == acct || passedOn[to]
}

// hasRcpt says whether addr is already one of the message's recipients.
func hasRcpt(st *spool.State, addr string) bool {
	for _, r := range st.Rcpts {
		if strings.EqualFold(r.Addr, addr) {
			return true
		}
	}
	return false
}

// keepRefused stores the message where the implicit keep would have, when
// a redirect that cancelled it (not :copy) could not be made: a message is
// never lost to a limit.
func (p *filterPlan) keepRefused(refused []redirect) {
	for _, r := range refused {
		if r.copy {
			continue
		}
		for _, f := range p.folders {
			if f.folder == p.keep.folder {
				return
			}
		}
		p.folders = append(p.folders, p.keep)
		return
	}
}

// sendVacation queues the vacation reply of a plan, unless one already
// went to this sender within :days. The reply leaves with a null
// reverse-path (RFC 3834 §3.3), so nothing bounces back to the user, and
// is marked Auto-Submitted so no other responder answers it. A failure
// is logged: the message itself is already delivered.
func (l *Local) sendVacation(ctx context.Context, m *spool.Message, rcpt, acct string, p filterPlan) {
	a := p.vacation
	if a == nil || l.Vacations == nil || l.Spool == nil {
		return
	}
	if m.Envelope.Unverified || m.Envelope.Junk {
		// RFC 5230 §4.6 / RFC 3834 §2: no reply to a sender we have
		// reason to think forged.
		l.Log.Info("sieve vacation: not answering an unverified sender", "id", m.Envelope.ID, "rcpt", rcpt)
		return
	}
	log := l.Log.With("id", m.Envelope.ID, "rcpt", rcpt, "to", a.Vacation.To)
	due, err := l.Vacations.VacationDue(ctx, acct, a.Vacation.Handle, a.Vacation.To, time.Duration(a.Vacation.Days)*24*time.Hour)
	if err != nil {
		log.Error("sieve vacation: cannot read what was sent; not sending", "err", err)
		return
	}
	if !due {
		log.Info("sieve vacation: already answered this sender within :days")
		return
	}
	id := spool.NewID()
	body := a.Vacation.Reply(p.msg, rcpt, a.Reason, id+"@"+l.Hostname, time.Now())
	env := &spool.Envelope{ID: id, From: "", To: []string{a.Vacation.To}, Received: time.Now(), Origin: "vacation"}
	if err := l.Spool.Put(env, body); err != nil {
		log.Error("sieve vacation: queueing the reply failed", "err", err)
		return
	}
	log.Info("sieve vacation reply queued", "reply", id)
}

// spamScore feeds spamtest (RFC 5235) from the MX's scan: X-Spam-Score
// (a non-negative integer) against the threshold in X-Spam-Status's
// required=, both added by internal/scan, which drops any copy a message
// arrives with. The scale is relative to the threshold, so that spamtest
// and the verdict agree: at or past it is 10 (RFC 5235 §3.2 "definitely
// spam", :percent 100, §3.3); below it, score/threshold spreads over 1
// ("tested, not spam") .. 9 and :percent 0 .. 99. Mail the verdict judged
// spam (Junk) is 10 whatever its score; mail without both fields (not
// scanned, scanner down) is "not tested" (nil, spamtest 0).
func spamScore(msg sieve.Message, junk bool) *sieve.SpamScore {
	if junk {
		return &sieve.SpamScore{Value: 10, Percent: 100}
	}
	score, ok := firstField(msg, "X-Spam-Score")
	if !ok {
		return nil
	}
	s, err := strconv.ParseUint(score, 10, 31)
	required, ok := spamRequired(msg)
	if err != nil || !ok {
		return nil
	}
	if float64(s) >= required {
		return &sieve.SpamScore{Value: 10, Percent: 100}
	}
	// Multiplied first so that whole ratios stay exact (2 of 5 is 40%).
	return &sieve.SpamScore{Value: 1 + int(9*float64(s)/required), Percent: int(100 * float64(s) / required)}
}

// spamRequired reads the threshold from "X-Spam-Status: No, score=2.0
// required=5.0 tests=..."; it must be a positive number.
func spamRequired(msg sieve.Message) (float64, bool) {
	status, ok := firstField(msg, "X-Spam-Status")
	if !ok {
		return 0, false
	}
	for _, tok := range strings.FieldsFunc(status, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n' }) {
		if v, found := strings.CutPrefix(tok, "required="); found {
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || !(r > 0) || math.IsInf(r, 0) {
				return 0, false
			}
			return r, true
		}
	}
	return 0, false
}

// virusScore feeds virustest (RFC 5235 §3.3): "X-Virus-Scan: clean" from
// the MX's scan is 1 (tested, no virus); without it the message was not
// tested (nil, 0). An infected message never reaches delivery: the MX
// refuses it.
func virusScore(msg sieve.Message) *int {
	v, ok := firstField(msg, "X-Virus-Scan")
	if !ok || !strings.HasPrefix(strings.ToLower(v), "clean") {
		return nil
	}
	clean := 1
	return &clean
}

// firstField is the trimmed value of the first field named name: the
// scan adds its fields at the top.
func firstField(msg sieve.Message, name string) (string, bool) {
	vs := msg.Header(name)
	if len(vs) == 0 {
		return "", false
	}
	return strings.TrimSpace(vs[0]), true
}

// A compiled script is immutable, so one compile serves every delivery
// of the same text (a 200-rule script compiles in about 1 ms, runs in
// about 0.1 ms). The cache is keyed by the text's hash and emptied when full.
var scriptCache = struct {
	sync.Mutex
	m     map[[32]byte]*sieve.Script
	bytes int // of the scripts' texts
}{m: map[[32]byte]*sieve.Script{}}

// scriptCacheMax and scriptCacheMaxBytes bound the cache by count and by
// the size of the texts: a compiled script takes about 32 times its text
// (a 64 KiB one 2 MB, up to 1 MB more for its regular expressions), and
// subscribers choose their scripts' texts, so 1,024 of the largest, each
// put and made active in turn by one account, could hold 3 GB. 2 MiB of text
// is at most about 100 MB compiled; hundreds of everyday scripts of a few
// KiB.
const (
	scriptCacheMax      = 1024
	scriptCacheMaxBytes = 2 << 20
)

func compiled(content string) (*sieve.Script, error) {
	key := sha256.Sum256([]byte(content))
	scriptCache.Lock()
	s, ok := scriptCache.m[key]
	scriptCache.Unlock()
	if ok {
		return s, nil
	}
	s, err := sieve.Compile(content)
	if err != nil {
		return nil, err
	}
	scriptCache.Lock()
	if len(scriptCache.m) >= scriptCacheMax || scriptCache.bytes+len(content) > scriptCacheMaxBytes {
		scriptCache.m = map[[32]byte]*sieve.Script{}
		scriptCache.bytes = 0
	}
	if _, ok := scriptCache.m[key]; !ok {
		scriptCache.m[key] = s
		scriptCache.bytes += len(content)
	}
	scriptCache.Unlock()
	return s, nil
}
