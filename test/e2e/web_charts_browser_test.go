package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWebBrowserCharts (issue 12 §3): the console's charts in chromium
// show what was caused for real: port-25 attempts a real kernel blocked
// (`mailgate edge run` in a network namespace, recording to the store),
// two submissions (one delivered here, one queued for a smarthost that
// refuses), a recipient the MX refused with 550 5.1.1.
func TestWebBrowserCharts(t *testing.T) {
	lab := newNetnsLab(t)
	router, sub, foreign := lab.ns("cr"), lab.ns("cs"), lab.ns("cf")
	lab.run("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	lab.link(router, sub, "r0", "10.30.1", "fd00:30:1")
	lab.link(router, foreign, "r1", "10.40.2", "fd00:40:2")
	lab.settle()
	serveBanner(t, foreign, "10.40.2.2:25", "foreign")

	n := webNode(t, fmt.Sprintf("chart_interval = \"1s\"\n[delivery]\nsmarthost = \"127.0.0.1:%d\"\n", FreePort(t)))
	n.AddUser("taro@example.jp", "correct horse")
	n.AddUser("admin@example.jp", "operator password")
	n.Start()
	n.MustCLI("", "pool", "add", "lab-dyn", "--kind", "dynamic", "10.30.0.0/16")
	n.MustCLI("", "edge", "scope", "all", "--from", "2020-01-01T00:00:00Z")

	edgeRun := exec.Command("ip", "netns", "exec", router, binary, "-c", n.Config, "edge", "run", "--interval", "200ms", "--record-every", "200ms")
	var runLog bytes.Buffer
	var mu sync.Mutex
	edgeRun.Stdout = lockedWriter{&mu, &runLog}
	edgeRun.Stderr = edgeRun.Stdout
	if err := edgeRun.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { edgeRun.Process.Signal(syscall.SIGTERM); edgeRun.Wait() })
	// Three blocked connections once the rules are in.
	deadline := time.Now().Add(15 * time.Second)
	for blocked := 0; blocked < 3; {
		if got := probe(sub, "10.40.2.2:25", 2*time.Second); got == outRefused {
			blocked++
		} else if time.Now().After(deadline) {
			mu.Lock()
			t.Fatalf("10.30.1.2 -> foreign:25 = %q, want %q\nedge run:\n%s", got, outRefused, runLog.String())
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	// What the store holds for the source, once edge run recorded it.
	var attempts int
	deadline = time.Now().Add(15 * time.Second)
	for attempts < 3 {
		var rows []struct {
			Source   string
			Attempts int
		}
		out := n.MustCLI("", "edge", "report", "--store", "--format", "json")
		json.Unmarshal([]byte(out), &rows)
		for _, r := range rows {
			if r.Source == "10.30.1.2" {
				attempts = r.Attempts
			}
		}
		if attempts < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("edge report --store after three blocked attempts:\n%s", out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// Messages in: one for a local mailbox, one queued for the smarthost.
	msg := filepath.Join(t.TempDir(), "msg.eml")
	os.WriteFile(msg, []byte("From: taro@example.jp\r\nSubject: charted\r\n\r\nhello\r\n"), 0o600)
	for _, rcpt := range []string{"admin@example.jp", "carol@remote.example"} {
		if out, err := exec.Command("curl", "-sS", "-k", "--ssl-reqd", "smtp://"+n.Addr("submission")+"/client.test", "--mail-from", "taro@example.jp",
			"--mail-rcpt", rcpt, "--user", "taro@example.jp:correct horse", "--upload-file", msg).CombinedOutput(); err != nil {
			t.Fatalf("curl submission to %s: %v\n%s", rcpt, err, out)
		}
	}
	n.WaitMaildir("admin@example.jp", 1)
	// A refusal: no such mailbox.
	if out, _ := exec.Command(NeedTool(t, "swaks"), "--server", n.Addr("mx"), "--ehlo", "mx.remote.example", "--from", "", "--to", "nobody@example.jp", "--quit-after", "RCPT").CombinedOutput(); !strings.Contains(string(out), "<** 550 5.1.1") {
		t.Fatalf("unknown recipient:\n%s", out)
	}

	ctx := browser(t)
	https := "https://" + n.Addr("https")
	run(t, ctx, "log in as the operator",
		chromedp.Navigate(https+"/login?next=/console/charts&lang=en"),
		chromedp.SendKeys(`#user`, "admin@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "operator password", chromedp.ByQuery),
		chromedp.Click(`#login`, chromedp.ByQuery),
		chromedp.WaitVisible(`#chart-blocked`, chromedp.ByQuery))
	// The nodes write every chart_interval (1s): reload until they have.
	want := map[string]string{
		"#chart-blocked .total":            strconv.Itoa(attempts),
		"#chart-in li:nth-child(2) .total": "2", // submission (587, 465)
		"#chart-queue .total":              "1",
		"#chart-out .total":                "1", // delivered
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		got := map[string]string{}
		run(t, ctx, "read the charts", chromedp.Navigate(https+"/console/charts?lang=en"), chromedp.WaitVisible(`#chart-blocked`, chromedp.ByQuery))
		for sel := range want {
			var s string
			run(t, ctx, "read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
			got[sel] = strings.TrimSpace(s)
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("charts show %v, want %v", got, want)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var sources, refusals string
	run(t, ctx, "read the rankings", chromedp.Text(`#chart-sources table`, &sources, chromedp.ByQuery), chromedp.Text(`#chart-refusals table`, &refusals, chromedp.ByQuery))
	if !strings.Contains(sources, "10.30.1.2") || !strings.Contains(sources, "lab-dyn") || !strings.Contains(sources, strconv.Itoa(attempts)) {
		t.Errorf("top sources:\n%s", sources)
	}
	if !strings.Contains(refusals, "5.1.1") || !strings.Contains(refusals, "no such mailbox") {
		t.Errorf("refusals by reason:\n%s", refusals)
	}
	shot(t, ctx, "console-charts")
}
