package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailgate/internal/testpeer"
)

// TestMetricsLatencyQueueRefusalsEdge (issue 12 §3): after each event is
// caused for real, /metrics shows it: the upstream DNS latency and the
// resolver cache's miss then hit (nsd answers an SPF lookup, asked once
// for two messages), the scanners' latency (Debian's rspamd and clamd),
// a refusal by its enhanced status code, a queued message's size and age,
// the self-check's edge decision, a throttled login.
func TestMetricsLatencyQueueRefusalsEdge(t *testing.T) {
	NeedTool(t, "nsd")
	ns, err := testpeer.StartNSD(map[string]string{"pass.test": `@ IN TXT "v=spf1 ip4:127.0.0.1 -all"`})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Stop)
	clamd, rspamd := scanners(t)
	n := webNode(t, fmt.Sprintf("[dns]\nservers = [%q]\n[delivery]\nsmarthost = \"127.0.0.1:%d\"\n%s[abuse.login]\ndelay = \"0s\"\nmax_delay = \"0s\"\nblock_after = 3\nblock_after_account = 0\nblock_after_network = 0\nblock_time = \"10m\"\n",
		ns.Addr, FreePort(t), scanTOML(clamd, rspamd, "")))
	n.AddUser(alice, alicePW)
	n.AddUser(bob, bobPW)
	n.Start()

	// Two messages from pass.test: the SPF record is asked upstream once.
	for i := range 2 {
		if out := swaksMX(t, n, "someone@pass.test", bob, testpeer.TestMail("Someone <someone@pass.test>", bob, fmt.Sprint("lunch ", i), "shall we have lunch tomorrow at noon?")); !strings.Contains(out, "<-  250 2.0.0 OK queued as ") {
			t.Fatalf("MX message %d:\n%s\nlog:\n%s", i, out, n.Log())
		}
	}
	// A recipient nobody holds: 550 5.1.1.
	if out := swaksMX(t, n, "someone@pass.test", "nobody@example.net", []byte("Subject: x\r\n\r\nx\r\n")); !strings.Contains(out, "<** 550 5.1.1") {
		t.Fatalf("unknown recipient:\n%s", out)
	}
	// A submission to a smarthost that refuses stays queued.
	msg := filepath.Join(t.TempDir(), "msg.eml")
	os.WriteFile(msg, []byte("From: alice@example.net\r\nTo: carol@remote.example\r\nSubject: queued\r\n\r\nhello\r\n"), 0o600)
	if out, err := exec.Command("curl", "-sS", "-k", "--ssl-reqd", "smtp://"+n.Addr("submission")+"/client.test", "--mail-from", alice,
		"--mail-rcpt", "carol@remote.example", "--user", alice+":"+alicePW, "--upload-file", msg).CombinedOutput(); err != nil {
		t.Fatalf("curl submission: %v\n%s", err, out)
	}
	// The self-check evaluates the visitor (127.0.0.1, in no pool).
	if code, _ := curl(t, "http://"+n.Addr("http")+"/check"); code != 200 {
		t.Fatalf("/check: %d", code)
	}
	// Three wrong passwords, then the throttle refuses the fourth try.
	imap := func(pw string) {
		exec.Command("curl", "-sS", "-k", "--max-time", "20", "--url", "imaps://"+n.Addr("imaps")+"/", "--user", alice+":"+pw).Run()
	}
	imap("wrong-1")
	imap("wrong-2")
	imap("wrong-3")
	imap(alicePW)

	url := "http://" + n.Addr("http") + "/metrics"
	want := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^mailgate_dns_upstream_seconds_count\{result="ok"\} [1-9]`),
		regexp.MustCompile(`(?m)^mailgate_dns_cache_lookups_total\{result="hit"\} [1-9]`),
		regexp.MustCompile(`(?m)^mailgate_dns_cache_lookups_total\{result="miss"\} [1-9]`),
		regexp.MustCompile(`(?m)^mailgate_scanner_seconds_count\{scanner="clamd"\} [1-9]`),
		regexp.MustCompile(`(?m)^mailgate_scanner_seconds_count\{scanner="rspamd"\} [1-9]`),
		regexp.MustCompile(`(?m)^mailgate_scanner_seconds_bucket\{scanner="rspamd",le="30"\} [1-9]`),
		regexp.MustCompile(`(?m)^mailgate_smtp_rejections_total\{code="5\.1\.1",service="mx"\} 1$`),
		regexp.MustCompile(`(?m)^mailgate_messages_total\{result="accepted",service="mx"\} 2$`),
		regexp.MustCompile(`(?m)^mailgate_queue_messages 1$`),
		regexp.MustCompile(`(?m)^mailgate_queue_oldest_seconds [0-9.e+-]+$`),
		regexp.MustCompile(`(?m)^mailgate_edge_decisions_total\{step="no_pool"\} 1$`),
		regexp.MustCompile(`(?m)^mailgate_logins_total\{result="blocked"\} 1$`),
		regexp.MustCompile(`(?m)^mailgate_logins_total\{result="failed"\} 3$`),
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, resp := curl(t, url)
		var missing *regexp.Regexp
		for _, w := range want {
			if !w.MatchString(resp) {
				missing = w
				break
			}
		}
		if missing == nil {
			// Two lookups of one SPF record: fewer upstream queries than
			// lookups, and the queued message's age is positive.
			age, _ := strconv.ParseFloat(regexp.MustCompile(`(?m)^mailgate_queue_oldest_seconds (\S+)$`).FindStringSubmatch(resp)[1], 64)
			if age <= 0 {
				t.Errorf("queue age %v with a queued message", age)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %v:\n%s", missing, grepLines(resp, "mailgate_"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// grepLines keeps the lines holding s (a /metrics page without Go's).
func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) && !strings.Contains(l, "_bucket") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
