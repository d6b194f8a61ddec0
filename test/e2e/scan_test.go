package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mailgate/internal/testpeer"
)

// scanners starts Debian's clamd and rspamd offline for one test; they
// are stopped by PID when it ends.
func scanners(t *testing.T) (*testpeer.Clamd, *testpeer.Rspamd) {
	t.Helper()
	c, err := testpeer.StartClamd(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	r, err := testpeer.StartRspamd(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return c, r
}

// scanTOML is the [scan] section naming both scanners, plus more settings.
func scanTOML(c *testpeer.Clamd, r *testpeer.Rspamd, more string) string {
	return "[scan]\nclamd = \"" + c.Addr + "\"\nrspamd = \"" + r.Addr + "\"\n" + more
}

// scanNode starts a node with alice and bob in example.net.
func scanNode(t *testing.T, toml string) *Node {
	t.Helper()
	n := NewNode(t, "", toml)
	n.AddUser(alice, alicePW)
	n.AddUser(bob, bobPW)
	n.Start()
	return n
}

// swaksMX sends data to the node's MX as another ISP's server would and
// returns swaks's transcript (swaks exits non-zero on a refusal).
func swaksMX(t *testing.T, n *Node, from, to string, data []byte) string {
	t.Helper()
	cmd := exec.Command(NeedTool(t, "swaks"), "--server", n.Addr("mx"), "--ehlo", "mx.remote.example",
		"--from", from, "--to", to, "--data", "-")
	cmd.Stdin = strings.NewReader(string(data))
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// swaksSubmit sends data on 587 with STARTTLS and AUTH PLAIN as alice.
func swaksSubmit(t *testing.T, n *Node, to string, data []byte) string {
	t.Helper()
	cmd := exec.Command(NeedTool(t, "swaks"), "--server", "127.0.0.1", "--port", strconv.Itoa(n.Ports["submission"]),
		"--ehlo", "laptop.example", "--tls", "--auth", "PLAIN", "--auth-user", alice, "--auth-password", alicePW,
		"--from", alice, "--to", to, "--data", "-")
	cmd.Stdin = strings.NewReader(string(data))
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func wantReply(t *testing.T, transcript, reply string) {
	t.Helper()
	if !strings.Contains(transcript, reply) {
		t.Fatalf("swaks transcript lacks %q:\n%s", reply, transcript)
	}
}

// folder lists the messages in a Maildir++ folder of an account ("" is
// INBOX, else e.g. "Junk").
func folder(n *Node, account, name string) []string {
	at := strings.LastIndexByte(account, '@')
	dir := filepath.Join(n.Dir, "mail", account[at+1:], account[:at])
	if name != "" {
		dir = filepath.Join(dir, "."+name)
	}
	var out []string
	for _, sub := range []string{"new", "cur"} {
		m, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
		out = append(out, m...)
	}
	return out
}

const eicarReply = "554 5.7.0 message contains a virus (Eicar-Test-Signature.UNOFFICIAL), not accepted"

// TestScanVirusRefusedOnMXAndSubmission: EICAR inline, as a base64
// attachment and inside a zip is refused with 554 5.7.0 at the end of DATA
// on the MX and on submission; nothing is stored or queued, and the
// submitting account is named in the log for the abuse control (in report
// mode here, so that alice keeps sending: issue 11 §3 would suspend her
// at the first virus).
func TestScanVirusRefusedOnMXAndSubmission(t *testing.T) {
	c, r := scanners(t)
	n := scanNode(t, scanTOML(c, r, "[abuse.compromise]\nmode = \"report\"\n"))
	for _, m := range testpeer.VirusMails("Mallory <mallory@remote.example>", bob) {
		wantReply(t, swaksMX(t, n, "mallory@remote.example", bob, m), "<** "+eicarReply)
	}
	for _, m := range testpeer.VirusMails("Alice <"+alice+">", bob) {
		wantReply(t, swaksSubmit(t, n, bob, m), "<~* "+eicarReply)
	}
	if got := len(n.SettledMaildir(bob)) + len(folder(n, bob, "Junk")); got != 0 {
		t.Fatalf("%d messages stored for bob, want none", got)
	}
	// The node's log reaches the test through a pipe: the last line may
	// arrive a moment after the reply it goes with.
	const line = `msg="virus submitted" account=alice@example.net virus=Eicar-Test-Signature.UNOFFICIAL scanner=clamd`
	for deadline := time.Now().Add(10 * time.Second); strings.Count(n.Log(), line) < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("want three 'virus submitted' lines naming alice in the log:\n%s", n.Log())
		}
	}
	if got := strings.Count(n.Log(), line); got != 3 {
		t.Fatalf("%d 'virus submitted' lines, want 3:\n%s", got, n.Log())
	}
	waitLog(t, n, `msg="compromised account suspected (report only: would suspend sending, hold its queue and notify)" account=alice@example.net signal=virus`)
}

var (
	spamStatusRE = regexp.MustCompile(`(?m)^X-Spam-Status: (Yes|No), score=-?\d+\.\d required=\d+\.\d tests=`)
	// Sieve's i;ascii-numeric needs digits only: no sign, no point.
	spamScoreRE = regexp.MustCompile(`\r\nX-Spam-Score: \d+\r\nFrom: Carol`)
)

// storedHeader reads the one message in files and returns its header.
func storedHeader(t *testing.T, files []string) string {
	t.Helper()
	if len(files) != 1 {
		t.Fatalf("%d messages, want 1: %v", len(files), files)
	}
	h, _ := splitMessage(t, readFile(t, files[0]))
	return h
}

// TestScanSpamPerAccount: on the MX every scanned message gets our
// X-Spam-* fields and loses the ones it came with; ham goes to INBOX
// unmarked; GTUBE is tagged for an account on the default ("tag") and
// lands in Junk for one that chose "junk"; an operator who enables
// rspamd's reject refuses it with 550 5.7.1.
func TestScanSpamPerAccount(t *testing.T) {
	c, r := scanners(t)
	n := scanNode(t, scanTOML(c, r, ""))
	if out := n.MustCLI("", "user", "spam", bob, "--action", "junk"); out != "bob@example.net spam: service=on action=junk threshold=default tag=\"default\"\n" {
		t.Fatalf("user spam: %q", out)
	}

	// Ham, with a forged verdict of ours.
	ham := append([]byte("X-Spam-Flag: YES\r\nX-Spam-Score: 99\r\n"), testpeer.TestMail("Carol <carol@remote.example>", alice, "lunch", "shall we have lunch tomorrow at noon?")...)
	wantReply(t, swaksMX(t, n, "carol@remote.example", alice, ham), "<-  250 2.0.0 OK queued as ")
	h := storedHeader(t, n.WaitMaildir(alice, 1))
	for _, want := range []string{"\r\nX-Virus-Scan: clean (clamd)\r\nX-Spam-Flag: NO\r\nX-Spam-Status: No, score=", "\r\nSubject: lunch\r\n"} {
		if !strings.Contains(h, want) {
			t.Errorf("ham header lacks %q:\n%s", want, h)
		}
	}
	if headerCount(h, "X-Spam-Flag") != 1 || headerCount(h, "X-Spam-Score") != 1 || !spamStatusRE.MatchString(h) || !spamScoreRE.MatchString(h) {
		t.Errorf("ham: forged fields kept or ours malformed:\n%s", h)
	}

	// GTUBE to alice (operator default: tag) and to bob (junk).
	gtube := testpeer.TestMail("Spammer <spam@remote.example>", alice, "cheap pills", testpeer.GTUBE)
	wantReply(t, swaksMX(t, n, "spam@remote.example", alice, gtube), "<-  250 2.0.0 OK queued as ")
	wantReply(t, swaksMX(t, n, "spam@remote.example", bob, gtube), "<-  250 2.0.0 OK queued as ")
	waitSpoolEmpty(t, n)
	var tagged string
	for _, f := range n.Maildir(alice) {
		if s := readFile(t, f); strings.Contains(s, "GTUBE") {
			tagged = s
		}
	}
	for _, want := range []string{"\r\nX-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=15.0 required=15.0 tests=GTUBE", "\r\nX-Spam-Score: 15\r\n", "\r\nSubject: [SPAM] cheap pills\r\n"} {
		if !strings.Contains(tagged, want) {
			t.Errorf("alice's GTUBE lacks %q:\n%s", want, tagged)
		}
	}
	if len(n.Maildir(bob)) != 0 {
		t.Fatalf("bob's GTUBE is in his INBOX")
	}
	h = storedHeader(t, folder(n, bob, "Junk"))
	if !strings.Contains(h, "\r\nX-Spam-Flag: YES\r\n") || !strings.Contains(h, "\r\nSubject: cheap pills\r\n") {
		t.Errorf("bob's Junk message:\n%s", h)
	}

	// An account with the service off gets spam as it came, but marked;
	// one with a threshold above GTUBE's 15 does not call it spam.
	n.AddUser("carol@example.net", "carol-secret-3")
	n.AddUser("dave@example.net", "dave-secret-4")
	n.MustCLI("", "user", "spam", "carol@example.net", "--service", "off", "--action", "junk")
	n.MustCLI("", "user", "spam", "dave@example.net", "--threshold", "20")
	for _, rc := range []string{"carol@example.net", "dave@example.net"} {
		wantReply(t, swaksMX(t, n, "spam@remote.example", rc, gtube), "<-  250 2.0.0 OK queued as ")
	}
	h = storedHeader(t, n.WaitMaildir("carol@example.net", 1))
	if !strings.Contains(h, "\r\nX-Spam-Flag: YES\r\n") || !strings.Contains(h, "\r\nSubject: cheap pills\r\n") {
		t.Errorf("carol (service off):\n%s", h)
	}
	h = storedHeader(t, n.WaitMaildir("dave@example.net", 1))
	if !strings.Contains(h, "\r\nX-Spam-Flag: NO\r\nX-Spam-Status: No, score=15.0 required=20.0 tests=GTUBE") || !strings.Contains(h, "\r\nSubject: cheap pills\r\n") {
		t.Errorf("dave (threshold 20):\n%s", h)
	}

	// The operator enables rspamd's reject.
	n2 := scanNode(t, scanTOML(c, r, "[scan.spam]\nreject = true\n"))
	wantReply(t, swaksMX(t, n2, "spam@remote.example", alice, gtube), "<** 550 5.7.1 message refused as spam (Gtube pattern)")
	if got := len(n2.SettledMaildir(alice)); got != 0 {
		t.Fatalf("refused GTUBE stored %d times", got)
	}
}

// TestScanScannerDown: with clamd gone the MX answers 451 4.7.0 (the
// default) and stores nothing; with on_error = "accept" the message is
// delivered marked unchecked by both scanners, and the log says which
// scanner was unavailable; spam on_error = "tempfail" answers 451 4.7.1.
func TestScanScannerDown(t *testing.T) {
	c, r := scanners(t)
	n := scanNode(t, scanTOML(c, r, ""))
	ham := testpeer.TestMail("Carol <carol@remote.example>", alice, "lunch", "shall we have lunch tomorrow at noon?")
	wantReply(t, swaksMX(t, n, "carol@remote.example", alice, ham), "<-  250 2.0.0 OK queued as ")
	n.WaitMaildir(alice, 1)

	c.Stop()
	wantReply(t, swaksMX(t, n, "carol@remote.example", alice, ham), "<** 451 4.7.0 virus scan unavailable, try again later")
	if got := len(n.SettledMaildir(alice)); got != 1 {
		t.Fatalf("%d messages after the refusal, want the first only", got)
	}
	if !strings.Contains(n.Log(), `msg="scanner unavailable" scanner=clamd`) {
		t.Fatalf("no log line for clamd down:\n%s", n.Log())
	}

	r.Stop()
	open := scanNode(t, scanTOML(c, r, "[scan.virus]\non_error = \"accept\"\n"))
	wantReply(t, swaksMX(t, open, "carol@remote.example", alice, ham), "<-  250 2.0.0 OK queued as ")
	h := storedHeader(t, open.WaitMaildir(alice, 1))
	if !strings.Contains(h, "\r\nX-Virus-Scan: unchecked, clamd unavailable\r\nX-Spam-Flag: UNCHECKED\r\nX-Spam-Status: Unchecked, rspamd unavailable\r\n") {
		t.Fatalf("accepted unscanned message lacks the unchecked fields:\n%s", h)
	}
	if !strings.Contains(open.Log(), `msg="scanner unavailable" scanner=rspamd`) {
		t.Fatalf("no log line for rspamd down:\n%s", open.Log())
	}
	// The start-up health check (PING) said so before any message came.
	waitLog(t, open, `msg="scanner unavailable at start" scanner=clamd`)
	waitLog(t, open, `msg="scanner unavailable at start" scanner=rspamd`)
	waitLog(t, n, `msg="scanner ready" scanner=clamd`)

	strict := scanNode(t, "[scan]\nrspamd = \""+r.Addr+"\"\n[scan.spam]\non_error = \"tempfail\"\n")
	wantReply(t, swaksMX(t, strict, "carol@remote.example", alice, ham), "<** 451 4.7.1 spam check unavailable, try again later")
	if got := len(strict.SettledMaildir(alice)); got != 0 {
		t.Fatalf("%d messages stored with rspamd down and tempfail", got)
	}
}

// TestScanNothingConfigured: without [scan] nothing is scanned: EICAR and
// GTUBE are delivered byte for byte, with no verdict fields of ours.
func TestScanNothingConfigured(t *testing.T) {
	n := scanNode(t, "")
	m := testpeer.VirusMails("Mallory <mallory@remote.example>", alice)["inline"]
	m = append(m, []byte(testpeer.GTUBE+"\r\n")...)
	wantReply(t, swaksMX(t, n, "mallory@remote.example", alice, m), "<-  250 2.0.0 OK queued as ")
	files := n.WaitMaildir(alice, 1)
	got := readFile(t, files[0])
	h, _ := splitMessage(t, got)
	// swaks ends the data with a CRLF of its own.
	if i := strings.Index(got, "From: Mallory"); i < 0 || got[i:] != string(m)+"\r\n" || !strings.HasPrefix(got, "Received: ") || headerCount(h, "Received") != 1 {
		t.Fatalf("message changed:\n%s", got)
	}
	if strings.Contains(h, "X-Spam") || strings.Contains(h, "X-Virus") {
		t.Fatalf("verdict fields without scanners:\n%s", h)
	}
	if _, err := os.Stat(filepath.Join(n.Dir, "mail", "example.net", "alice", ".Junk")); err == nil {
		t.Fatal("a Junk folder appeared")
	}
}

// rspamdLearned is the controller's count of messages learned.
func rspamdLearned(t *testing.T, controller string) int {
	t.Helper()
	resp, err := http.Get("http://" + controller + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Learned int `json:"learned"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Learned
}

// waitLearned waits up to 15 s for the learned count to pass from.
func waitLearned(t *testing.T, n *Node, controller string, from int) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if got := rspamdLearned(t, controller); got > from {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("rspamd's learned count stayed at %d\nnode log:\n%s", from, n.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestScanLearnsFromJunkMoves: a message alice moves into Junk over IMAP
// is learned by rspamd (Bayes, in Redis) as spam, and moved back to INBOX
// as ham: rspamd's learned count rises each time, and the IMAP command
// answered without waiting for it.
func TestScanLearnsFromJunkMoves(t *testing.T) {
	redis, err := testpeer.StartRedis(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(redis.Stop)
	r, err := testpeer.StartRspamd(t.TempDir(), redis.RspamdRedisFiles())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	n := scanNode(t, "[scan]\nrspamd = \""+r.Addr+"\"\nrspamd_controller = \""+r.ControllerAddr+"\"\n")
	offer := testpeer.TestMail("Deals <deals@remote.example>", alice, "your exclusive offer",
		"Dear customer, our exclusive discount offer on premium watches ends tonight.\r\n"+
			"Click the link below to claim your reward before midnight, limited stock available.")
	wantReply(t, swaksMX(t, n, "deals@remote.example", alice, offer), "<-  250 2.0.0 OK queued as ")
	n.WaitMaildir(alice, 1)

	before := rspamdLearned(t, r.ControllerAddr)
	got := imapPy(t, n, alice, alicePW, `
m = login()
m.select("INBOX")
print("move", m.uid("MOVE", "1", "Junk")[0])
`)
	if got != "move OK\n" {
		t.Fatalf("imap: %q", got)
	}
	spam := waitLearned(t, n, r.ControllerAddr, before)
	got = imapPy(t, n, alice, alicePW, `
m = login()
m.select("Junk")
print("move", m.uid("MOVE", "1", "INBOX")[0])
`)
	if got != "move OK\n" {
		t.Fatalf("imap: %q", got)
	}
	waitLearned(t, n, r.ControllerAddr, spam)
	log := n.Log()
	for _, want := range []string{`msg="rspamd learned" account=alice@example.net lesson=/learnspam`, `msg="rspamd learned" account=alice@example.net lesson=/learnham`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
}

// TestScanOversize: a message over clamd's StreamMaxLength is never
// called clean: 552 5.3.4 by default, or with oversize = "accept"
// delivered with a field saying it went unscanned.
func TestScanOversize(t *testing.T) {
	c, err := testpeer.StartClamd(t.TempDir(), map[string]string{"StreamMaxLength": "1M"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	big := testpeer.TestMail("Carol <carol@remote.example>", alice, "photos", strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 40000))
	n := scanNode(t, "[scan]\nclamd = \""+c.Socket+"\"\n")
	wantReply(t, swaksMX(t, n, "carol@remote.example", alice, big), "<** 552 5.3.4 message too big for the virus scan")
	if got := len(n.SettledMaildir(alice)); got != 0 {
		t.Fatalf("%d messages stored", got)
	}
	open := scanNode(t, "[scan]\nclamd = \""+c.Socket+"\"\n[scan.virus]\noversize = \"accept\"\n")
	wantReply(t, swaksMX(t, open, "carol@remote.example", alice, big), "<-  250 2.0.0 OK queued as ")
	h := storedHeader(t, open.WaitMaildir(alice, 1))
	if !strings.Contains(h, "\r\nX-Virus-Scan: unchecked, over clamd's size limit\r\n") {
		t.Fatalf("header:\n%s", h)
	}
}

// waitLog waits up to 10 s for the node's log to hold want.
func waitLog(t *testing.T, n *Node, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(n.Log(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %s:\n%s", want, n.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestScanUserSpamCLIErrors: a wrong value or an unknown account exits 1
// with a message saying what to do, and changes nothing.
func TestScanUserSpamCLIErrors(t *testing.T) {
	n := NewNode(t, "", "")
	n.AddUser(alice, alicePW)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--action", "delete"}, `spam action "delete": invalid (want header, tag, junk)`},
		{[]string{"--threshold", "-1"}, "spam threshold -1: invalid (want 0-1000; 0 is the operator's default)"},
		{[]string{"--service", "maybe"}, `--service "maybe": say on or off`},
	} {
		out, err := n.CLI("", append([]string{"user", "spam", alice}, tc.args...)...)
		if err == nil || out != "mailgate: "+tc.want+"\n" {
			t.Errorf("user spam %v: %v, %q; want exit 1 and %q", tc.args, err, out, tc.want)
		}
	}
	if out, err := n.CLI("", "user", "spam", "nobody@example.net", "--action", "junk"); err == nil || !strings.Contains(out, "nobody@example.net") {
		t.Errorf("unknown account: %v, %q", err, out)
	}
	if out := n.MustCLI("", "user", "spam", alice); out != "alice@example.net spam: service=on action=default threshold=default tag=\"default\"\n" {
		t.Errorf("settings changed by refused commands: %q", out)
	}
}

// TestScanScannerKilledMidRun: clamd stops while four clients are sending:
// every message answered 250 is delivered and was scanned, every other one
// was answered 451 4.7.0 (the client keeps it), none is lost or delivered
// unscanned.
func TestScanScannerKilledMidRun(t *testing.T) {
	c, r := scanners(t)
	n := scanNode(t, scanTOML(c, r, ""))
	const workers, each = 4, 10
	var mu sync.Mutex
	accepted, refused := 0, 0
	enough := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m := testpeer.TestMail("Carol <carol@remote.example>", alice, fmt.Sprintf("run %d-%d", w, i), "shall we have lunch tomorrow at noon?")
				out := swaksMX(t, n, "carol@remote.example", alice, m)
				mu.Lock()
				switch {
				case strings.Contains(out, "<-  250 2.0.0 OK queued as "):
					accepted++
					if accepted == 5 {
						close(enough)
					}
				case strings.Contains(out, "<** 451 4.7.0 virus scan unavailable, try again later"):
					refused++
				default:
					t.Errorf("neither 250 nor 451 4.7.0:\n%s", out)
				}
				mu.Unlock()
			}
		}()
	}
	<-enough
	c.Stop()
	wg.Wait()
	files := n.SettledMaildir(alice)
	if len(files) != accepted || refused == 0 || accepted+refused != workers*each {
		t.Fatalf("%d accepted, %d refused, %d delivered", accepted, refused, len(files))
	}
	for _, f := range files {
		if h, _ := splitMessage(t, readFile(t, f)); !strings.Contains(h, "\r\nX-Virus-Scan: clean (clamd)\r\n") {
			t.Fatalf("delivered without a clean scan:\n%s", h)
		}
	}
}
