package delivery

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/mailbox"
	"mailgate/internal/sieve"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// scriptMap is a ScriptSource: account → active script.
type scriptMap map[string]string

func (s scriptMap) ActiveSieveScript(_ context.Context, acct string) (*store.SieveScript, error) {
	c, ok := s[acct]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &store.SieveScript{Name: "main", Content: c, Active: true}, nil
}

// sieveAgent delivers for ours.example with the given scripts.
func sieveAgent(t *testing.T, scripts scriptMap) (*Agent, *spool.Spool) {
	a, sp := nullMXAgent(t)
	a.Local.Dir = selfDir{}
	a.Local.Scripts = scripts
	return a, sp
}

// stored lists the messages in an account's Maildir as "folder:count".
func stored(t *testing.T, root, acct string) []string {
	t.Helper()
	box := boxDir(t, root, acct)
	counts := map[string]int{}
	filepath.Walk(box, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && filepath.Base(filepath.Dir(p)) == "new" {
			folder := filepath.Base(filepath.Dir(filepath.Dir(p)))
			if !strings.HasPrefix(folder, ".") {
				folder = "INBOX"
			}
			counts[strings.TrimPrefix(folder, ".")]++
		}
		return nil
	})
	var out []string
	for f, n := range counts {
		out = append(out, f+":"+itoa(n))
	}
	sort.Strings(out)
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func put(t *testing.T, sp *spool.Spool, to string, junk bool) *spool.Envelope {
	t.Helper()
	env := &spool.Envelope{From: "x@else.example", To: []string{to}, Received: time.Now(), Origin: "mx", Junk: junk}
	if err := sp.Put(env, []byte("From: x@else.example\r\nSubject: [acme] news\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	return env
}

func TestSieveAtLocalDelivery(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		prepare      func(dir string)
		want         []string
	}{
		{"no script", "", nil, []string{"INBOX:1"}},
		{"fileinto an existing folder", `require "fileinto"; fileinto "Lists";`,
			func(dir string) { mailbox.CreateFolder(dir, "Lists") }, []string{"Lists:1"}},
		{"fileinto a missing folder falls back to INBOX", `require "fileinto"; fileinto "Lists";`, nil, []string{"INBOX:1"}},
		{"fileinto :create makes the folder", `require ["fileinto","mailbox"]; fileinto :create "Lists.Acme";`, nil, []string{"Lists.Acme:1"}},
		{"fileinto :copy keeps a copy", `require ["fileinto","copy"]; if header :contains "subject" "[acme]" { fileinto :copy "Lists"; }`,
			func(dir string) { mailbox.CreateFolder(dir, "Lists") }, []string{"INBOX:1", "Lists:1"}},
		{"keep and fileinto INBOX store once", `require "fileinto"; keep; fileinto "INBOX";`, nil, []string{"INBOX:1"}},
		{"discard", `discard;`, nil, nil},
		{"a script that does not compile keeps", `fileinto "x";`, nil, []string{"INBOX:1"}},
		{"a failing script keeps", `require "fileinto"; fileinto "A"; redirect "a@b.example"; redirect "b@b.example"; redirect "c@b.example"; redirect "d@b.example"; redirect "e@b.example";`,
			nil, []string{"INBOX:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scripts := scriptMap{}
			if tc.script != "" {
				scripts["bob@ours.example"] = tc.script
			}
			a, sp := sieveAgent(t, scripts)
			if tc.prepare != nil {
				tc.prepare(boxDir(t, a.Local.MailRoot, "bob@ours.example"))
			}
			put(t, sp, "bob@ours.example", false)
			ids, _ := sp.IDs()
			a.process(context.Background(), ids[0])
			if got := stored(t, a.Local.MailRoot, "bob@ours.example"); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("stored %q, want %q", got, tc.want)
			}
			if ids, _ := sp.IDs(); len(ids) != 0 {
				t.Errorf("spool still holds %v", ids)
			}
		})
	}
}

// TestSieveRedirectOnce: a redirect to another local account delivers
// there in the same pass, and running the recipient's delivery again (a
// retry after a crash before the state was saved) adds no second copy.
func TestSieveRedirectOnce(t *testing.T) {
	a, sp := sieveAgent(t, scriptMap{"bob@ours.example": `redirect "carol@ours.example";`})
	env := put(t, sp, "bob@ours.example", false)
	m, err := sp.Open(env.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st, _ := sp.State(&m.Envelope)
	a.Local.Deliver(m, st, true)
	st.Rcpts[0].Status = spool.Pending // as if the state write was lost
	a.Local.Deliver(m, st, false)
	if len(st.Rcpts) != 2 || st.Rcpts[1].Addr != "carol@ours.example" || st.Rcpts[1].Status != spool.Delivered {
		t.Fatalf("recipients %+v, want bob then carol delivered", st.Rcpts)
	}
	if got := stored(t, a.Local.MailRoot, "carol@ours.example"); strings.Join(got, ",") != "INBOX:1" {
		t.Errorf("carol has %q, want one message in INBOX", got)
	}
	if got := stored(t, a.Local.MailRoot, "bob@ours.example"); len(got) != 0 {
		t.Errorf("bob has %q, want nothing (redirect cancels the implicit keep)", got)
	}
}

// TestSieveReject: after the 250 a reject is a bounce to the sender; for
// mail the verdict judged spam it is kept in Junk instead (no backscatter).
func TestSieveReject(t *testing.T) {
	a, sp := sieveAgent(t, scriptMap{"bob@ours.example": `require "reject"; reject "not wanted";`})
	put(t, sp, "bob@ours.example", false)
	ids, _ := sp.IDs()
	a.process(context.Background(), ids[0])
	ids, _ = sp.IDs()
	if len(ids) != 1 {
		t.Fatalf("spool holds %v, want only the DSN", ids)
	}
	dsn, err := sp.Open(ids[0])
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, dsn.Envelope.Size)
	dsn.Body().Read(b)
	dsn.Close()
	if dsn.Envelope.From != "" || dsn.Envelope.To[0] != "x@else.example" || !strings.Contains(string(b), "rejected by the recipient's filter: not wanted") {
		t.Errorf("DSN from %q to %v:\n%s", dsn.Envelope.From, dsn.Envelope.To, b)
	}
	if got := stored(t, a.Local.MailRoot, "bob@ours.example"); len(got) != 0 {
		t.Errorf("rejected message stored: %q", got)
	}

	a, sp = sieveAgent(t, scriptMap{"bob@ours.example": `require "reject"; reject "not wanted";`})
	put(t, sp, "bob@ours.example", true)
	ids, _ = sp.IDs()
	a.process(context.Background(), ids[0])
	if ids, _ := sp.IDs(); len(ids) != 0 {
		t.Errorf("spam rejection left %v in the spool (a DSN would be backscatter)", ids)
	}
	if got := stored(t, a.Local.MailRoot, "bob@ours.example"); strings.Join(got, ",") != "Junk:1" {
		t.Errorf("spam rejection stored %q, want Junk:1", got)
	}
}

// sentLog is a VacationLog in memory.
type sentLog map[string]bool

func (s sentLog) VacationDue(_ context.Context, acct, handle, sender string, _ time.Duration) (bool, error) {
	k := acct + "|" + handle + "|" + strings.ToLower(sender)
	if s[k] {
		return false, nil
	}
	s[k] = true
	return true, nil
}

// TestSieveVacation: one reply per sender (two messages from one sender
// get one), from the null sender, marked Auto-Submitted; none to list mail.
func TestSieveVacation(t *testing.T) {
	a, sp := sieveAgent(t, scriptMap{"bob@ours.example": `require "vacation"; vacation :days 3 "Away until Monday.";`})
	a.Local.Vacations, a.Local.Spool = sentLog{}, sp
	for _, hdr := range []string{"", "", "List-Id: <l.else.example>\r\n"} {
		env := &spool.Envelope{From: "x@else.example", To: []string{"bob@ours.example"}, Received: time.Now(), Origin: "mx"}
		if err := sp.Put(env, []byte(hdr+"From: x@else.example\r\nTo: bob@ours.example\r\nMessage-ID: <m1@else.example>\r\nSubject: hi\r\n\r\nbody\r\n")); err != nil {
			t.Fatal(err)
		}
		a.Local.Deliver(mustOpen(t, sp, env.ID), &spool.State{Rcpts: []spool.RcptState{{Addr: "bob@ours.example", Status: spool.Pending}}}, true)
		sp.Remove(env.ID)
	}
	ids, _ := sp.IDs()
	if len(ids) != 1 {
		t.Fatalf("spool holds %d messages, want one vacation reply", len(ids))
	}
	m := mustOpen(t, sp, ids[0])
	b := make([]byte, m.Envelope.Size)
	m.Body().Read(b)
	if m.Envelope.From != "" || strings.Join(m.Envelope.To, ",") != "x@else.example" || m.Envelope.Origin != "vacation" {
		t.Errorf("reply envelope %+v", m.Envelope)
	}
	for _, want := range []string{"From: bob@ours.example\r\n", "To: x@else.example\r\n", "Subject: Auto: hi\r\n",
		"In-Reply-To: <m1@else.example>\r\n", "Auto-Submitted: auto-replied (vacation)\r\n", "\r\n\r\nAway until Monday.\r\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("reply lacks %q:\n%s", want, b)
		}
	}
	if got := stored(t, a.Local.MailRoot, "bob@ours.example"); strings.Join(got, ",") != "INBOX:3" {
		t.Errorf("stored %q, want all three in INBOX (vacation keeps)", got)
	}
}

func mustOpen(t *testing.T, sp *spool.Spool, id string) *spool.Message {
	t.Helper()
	m, err := sp.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestSieveRedirectLoopKeeps: a message that has been through many hops
// is kept instead of redirected once more (RFC 5228 §10).
func TestSieveRedirectLoopKeeps(t *testing.T) {
	a, sp := sieveAgent(t, scriptMap{"bob@ours.example": `redirect "carol@ours.example";`})
	env := &spool.Envelope{From: "x@else.example", To: []string{"bob@ours.example"}, Received: time.Now(), Origin: "mx"}
	body := strings.Repeat("Received: from a by b; Tue, 1 Dec 2026 10:00:00 +0000\r\n", maxRedirectHops) + "Subject: loop\r\n\r\nx\r\n"
	if err := sp.Put(env, []byte(body)); err != nil {
		t.Fatal(err)
	}
	a.process(context.Background(), env.ID)
	if got := stored(t, a.Local.MailRoot, "bob@ours.example"); strings.Join(got, ",") != "INBOX:1" {
		t.Errorf("bob has %q, want the message kept", got)
	}
	if got := stored(t, a.Local.MailRoot, "carol@ours.example"); len(got) != 0 {
		t.Errorf("carol has %q, want nothing", got)
	}
}

// TestSieveSpamtestSeesTheVerdict: spamtest reads the verdict's Junk
// judgement, so a script can file spam itself.
func TestSieveSpamtestSeesTheVerdict(t *testing.T) {
	src := `require ["spamtest","fileinto","relational","comparator-i;ascii-numeric"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "5" { fileinto "Spam"; }`
	for _, junk := range []bool{true, false} {
		a, sp := sieveAgent(t, scriptMap{"bob@ours.example": src})
		mailbox.CreateFolder(boxDir(t, a.Local.MailRoot, "bob@ours.example"), "Spam")
		put(t, sp, "bob@ours.example", junk)
		ids, _ := sp.IDs()
		a.process(context.Background(), ids[0])
		want := "INBOX:1"
		if junk {
			want = "Spam:1"
		}
		if got := stored(t, a.Local.MailRoot, "bob@ours.example"); strings.Join(got, ",") != want {
			t.Errorf("junk=%v: stored %q, want %s", junk, got, want)
		}
	}
}

// TestSieveFlagsStored: imap4flags' flags arrive with the message (cur/
// with the :2, letters), on fileinto and on the implicit keep.
func TestSieveFlagsStored(t *testing.T) {
	a, sp := sieveAgent(t, scriptMap{"bob@ours.example": `require ["imap4flags","fileinto","copy"];
addflag "\\Seen";
fileinto :copy :flags ["\\Flagged", "$Work"] "Work";`})
	mailbox.CreateFolder(boxDir(t, a.Local.MailRoot, "bob@ours.example"), "Work")
	put(t, sp, "bob@ours.example", false)
	ids, _ := sp.IDs()
	a.process(context.Background(), ids[0])
	box := boxDir(t, a.Local.MailRoot, "bob@ours.example")
	inbox, _ := filepath.Glob(filepath.Join(box, "cur", "*:2,S"))
	work, _ := filepath.Glob(filepath.Join(box, ".Work", "cur", "*:2,F"))
	if len(inbox) != 1 || len(work) != 1 {
		t.Errorf("INBOX/cur :2,S %v, Work/cur :2,F %v: want one each", inbox, work)
	}
}

// boxDir is the account's Maildir, failing the test when it has none.
func boxDir(t *testing.T, root, acct string) string {
	t.Helper()
	dir, err := mailbox.Dir(root, acct)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// sendQuota is a SendUsage that allows max recipients in all and records
// what was reserved.
type sendQuota struct {
	max, used, messages int
	accounts            []string
}

func (q *sendQuota) ReserveSend(_ context.Context, acct string, recipients, messages int, _ store.SendLimits) (int64, error) {
	if q.used+recipients > q.max {
		return 0, &store.OverLimitError{Limit: "recipients", Max: q.max, FreesAt: time.Now().Add(time.Hour)}
	}
	q.used += recipients
	q.messages += messages
	q.accounts = append(q.accounts, acct)
	return int64(q.used), nil
}

func (q *sendQuota) ReleaseSend(context.Context, ...int64) error { return nil }

// TestSieveRedirectSendLimit: a redirect counts against the daily send
// limits of the account whose script made it; past the limit it is not
// made and the message is kept where the implicit keep would have put it.
func TestSieveRedirectSendLimit(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		max          int
		wantRcpts    []string
		wantBob      string
		wantUsed     int
	}{
		{"within the limit", `redirect "carol@ours.example"; redirect "dave@ours.example";`, 2,
			[]string{"bob@ours.example", "carol@ours.example", "dave@ours.example"}, "", 2},
		{"the second is past the limit and kept", `redirect "carol@ours.example"; redirect "dave@ours.example";`, 1,
			[]string{"bob@ours.example", "carol@ours.example"}, "INBOX:1", 1},
		{"a refused :copy redirect keeps nothing more", `require "copy"; redirect :copy "carol@ours.example"; discard;`, 0,
			[]string{"bob@ours.example"}, "", 0},
		{"kept once although fileinto INBOX already stores", `require "fileinto"; fileinto "INBOX"; redirect "carol@ours.example";`, 0,
			[]string{"bob@ours.example"}, "INBOX:1", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, sp := sieveAgent(t, scriptMap{"bob@ours.example": tc.script})
			q := &sendQuota{max: tc.max}
			a.Local.Sends = q
			env := put(t, sp, "bob@ours.example", false)
			m := mustOpen(t, sp, env.ID)
			st, _ := sp.State(&m.Envelope)
			a.Local.Deliver(m, st, true)
			var rcpts []string
			for _, r := range st.Rcpts {
				rcpts = append(rcpts, r.Addr)
				if r.Status != spool.Delivered {
					t.Errorf("%s is %s (%s), want delivered", r.Addr, r.Status, r.Error)
				}
			}
			if strings.Join(rcpts, ",") != strings.Join(tc.wantRcpts, ",") {
				t.Errorf("recipients %q, want %q", rcpts, tc.wantRcpts)
			}
			if got := strings.Join(stored(t, a.Local.MailRoot, "bob@ours.example"), ","); got != tc.wantBob {
				t.Errorf("bob has %q, want %q", got, tc.wantBob)
			}
			if q.used != tc.wantUsed {
				t.Errorf("reserved %d recipients, want %d", q.used, tc.wantUsed)
			}
			if tc.wantUsed > 0 && (q.messages != 1 || q.accounts[0] != "bob@ours.example") {
				t.Errorf("reserved %d messages for %q, want 1 for bob", q.messages, q.accounts)
			}
		})
	}
}

// TestSieveConfigDefaults: config [sieve]'s defaults are the built-in
// limits (config cannot import the packages that hold them).
func TestSieveConfigDefaults(t *testing.T) {
	got := config.Default().Sieve
	want := config.Sieve{MaxScriptBytes: store.MaxSieveScriptSize, MaxScripts: store.MaxSieveScripts, MaxRedirects: sieve.DefaultLimits.MaxRedirects}
	if got != want {
		t.Errorf("config [sieve] defaults %+v, want %+v", got, want)
	}
	// max_script_bytes may go up to what the compiler reads, no further.
	cfg := config.Default()
	cfg.Sieve.MaxScriptBytes = sieve.DefaultMaxScriptSize
	if err := cfg.Validate(); err != nil {
		t.Errorf("max_script_bytes = the compiler's limit: %v", err)
	}
	cfg.Sieve.MaxScriptBytes++
	if err := cfg.Validate(); err == nil {
		t.Error("max_script_bytes past the compiler's limit accepted")
	}
}

// TestSieveMaxRedirectsSetting: a run past the configured redirects
// fails and keeps the message (sieve.max_redirects).
func TestSieveMaxRedirectsSetting(t *testing.T) {
	a, sp := sieveAgent(t, scriptMap{"bob@ours.example": `redirect "carol@ours.example"; redirect "dave@ours.example";`})
	a.Local.SieveLimits = sieve.Limits{MaxRedirects: 1}
	env := put(t, sp, "bob@ours.example", false)
	m := mustOpen(t, sp, env.ID)
	st, _ := sp.State(&m.Envelope)
	a.Local.Deliver(m, st, true)
	if len(st.Rcpts) != 1 {
		t.Errorf("recipients %+v, want bob only (the script failed)", st.Rcpts)
	}
	if got := strings.Join(stored(t, a.Local.MailRoot, "bob@ours.example"), ","); got != "INBOX:1" {
		t.Errorf("bob has %q, want INBOX:1", got)
	}
}

// TestSieveNoBackscatterToUnverifiedSenders: mail whose sender failed SPF
// or DMARC (spool.Envelope.Unverified) gets no rejection DSN (it is kept
// in INBOX instead) and no vacation reply.
func TestSieveNoBackscatterToUnverifiedSenders(t *testing.T) {
	a, sp := sieveAgent(t, scriptMap{"bob@ours.example": `require "reject"; reject "not wanted";`})
	env := &spool.Envelope{From: "x@else.example", To: []string{"bob@ours.example"}, Received: time.Now(), Origin: "mx", Unverified: true}
	if err := sp.Put(env, []byte("From: x@else.example\r\nSubject: s\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	a.process(context.Background(), env.ID)
	if ids, _ := sp.IDs(); len(ids) != 0 {
		t.Errorf("a rejection DSN to an unverified sender was queued: %v", ids)
	}
	if got := stored(t, a.Local.MailRoot, "bob@ours.example"); strings.Join(got, ",") != "INBOX:1" {
		t.Errorf("stored %q, want INBOX:1 (kept)", got)
	}

	a, sp = sieveAgent(t, scriptMap{"bob@ours.example": `require "vacation"; vacation :days 3 "Away.";`})
	a.Local.Vacations, a.Local.Spool = sentLog{}, sp
	env = &spool.Envelope{From: "x@else.example", To: []string{"bob@ours.example"}, Received: time.Now(), Origin: "mx", Unverified: true}
	if err := sp.Put(env, []byte("From: x@else.example\r\nMessage-ID: <m2@else.example>\r\nSubject: hi\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	a.Local.Deliver(mustOpen(t, sp, env.ID), &spool.State{Rcpts: []spool.RcptState{{Addr: "bob@ours.example", Status: spool.Pending}}}, true)
	sp.Remove(env.ID)
	if ids, _ := sp.IDs(); len(ids) != 0 {
		t.Errorf("a vacation reply to an unverified sender was queued: %v", ids)
	}
}

// TestSieveRedirectLoopWithinAMessageKeeps: a redirect that leads back to
// a mailbox the message was redirected from, in the same queue entry,
// found that recipient already served and added nothing, so no copy was
// stored anywhere after the 250: a script redirecting to its own address
// or its own alias, or two accounts redirecting to each other. The
// redirect that closes the loop is refused and the implicit keep stores
// the message there (RFC 5228 §10, §2.10.6).
func TestSieveRedirectLoopWithinAMessageKeeps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scripts scriptMap
		dir     Directory
		want    map[string]string // account → stored
	}{
		{"own address", scriptMap{"bob@ours.example": `redirect "bob@ours.example";`}, selfDir{},
			map[string]string{"bob@ours.example": "INBOX:1"}},
		{"own alias", scriptMap{"bob@ours.example": `redirect "info@ours.example";`}, bobAliases,
			map[string]string{"bob@ours.example": "INBOX:1"}},
		{"two accounts", scriptMap{"bob@ours.example": `redirect "carol@ours.example";`, "carol@ours.example": `redirect "bob@ours.example";`}, selfDir{},
			map[string]string{"bob@ours.example": "", "carol@ours.example": "INBOX:1"}},
		{"a copy kept: no loop", scriptMap{"bob@ours.example": `require "copy"; redirect :copy "carol@ours.example";`, "carol@ours.example": `redirect "bob@ours.example";`}, selfDir{},
			map[string]string{"bob@ours.example": "INBOX:1", "carol@ours.example": ""}},
	} {
		a, _ := sieveAgent(t, tc.scripts)
		a.Local.Dir = tc.dir
		deliverTo(a.Local, "bob@ours.example")
		for acct, want := range tc.want {
			if got := strings.Join(stored(t, a.Local.MailRoot, acct), ","); got != want {
				t.Errorf("%s: %s has %q, want %q", tc.name, acct, got, want)
			}
		}
	}
}

// TestScriptCacheBoundedBySize: the compiled-script cache is bounded by
// the size of the texts as well as their number: a subscriber who puts a
// new 64 KiB script before each delivery adds 2 MB or more of compiled
// script each time, and 1,024 of them were kept.
func TestScriptCacheBoundedBySize(t *testing.T) {
	for i := 0; i < 64; i++ {
		src := "# " + strconv.Itoa(i) + "\n" + strings.Repeat("if header :contains \"subject\" \"x\" { keep; }\n", 64<<10/45)
		if _, err := compiled(src); err != nil {
			t.Fatal(err)
		}
	}
	scriptCache.Lock()
	n := len(scriptCache.m)
	scriptCache.Unlock()
	if n*(64<<10) > scriptCacheMaxBytes {
		t.Errorf("the cache holds %d scripts of about 64 KiB, past %d bytes of text", n, scriptCacheMaxBytes)
	}
}

// failOnce is selfDir whose second lookup of one address fails (the
// first is the redirect's loop check, the second the delivery's), as a
// directory that is briefly unreachable: that recipient stays pending for
// the next attempt.
type failOnce struct {
	selfDir
	addr  string
	calls *int
}

func (d failOnce) Resolve(ctx context.Context, addr string) (string, error) {
	if addr == d.addr {
		if *d.calls++; *d.calls == 2 {
			return "", errors.New("directory unreachable")
		}
	}
	return d.selfDir.Resolve(ctx, addr)
}

// TestSieveRedirectLoopOverTwoAttemptsKeeps: bob's script redirects to
// carol, carol's back to bob, and carol's delivery is put off to a later
// attempt. That attempt must still see that bob passed the message on
// and keep it in carol's mailbox; it found bob already a recipient, added
// nothing, and the message, answered 250, was stored nowhere.
func TestSieveRedirectLoopOverTwoAttemptsKeeps(t *testing.T) {
	a, _ := sieveAgent(t, scriptMap{"bob@ours.example": `redirect "carol@ours.example";`, "carol@ours.example": `redirect "bob@ours.example";`})
	calls := 0
	a.Local.Dir = failOnce{addr: "carol@ours.example", calls: &calls}
	st := deliverTo(a.Local, "bob@ours.example")
	if len(st.Rcpts) != 2 || st.Rcpts[1].Status != spool.Pending {
		t.Fatalf("after the first attempt: %+v, want carol pending", st.Rcpts)
	}
	env := spool.Envelope{ID: "again", From: "x@else.example", To: []string{"bob@ours.example"}, Received: time.Now(), Origin: "mx"}
	a.Local.Deliver(spool.InMemory(env, body60), st, false)
	bob, carol := stored(t, a.Local.MailRoot, "bob@ours.example"), stored(t, a.Local.MailRoot, "carol@ours.example")
	if strings.Join(bob, ",") != "" || strings.Join(carol, ",") != "INBOX:1" {
		t.Fatalf("bob has %q, carol %q; want the message kept once, in carol's INBOX (states %+v)", bob, carol, st.Rcpts)
	}
}
