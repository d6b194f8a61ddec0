package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// webClient is a browser without JavaScript: a cookie jar, the node's
// self-signed certificate accepted, no redirects followed.
func webClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// webForm loads page, then posts fields with the page's CSRF token to
// action; it returns the post's status and body.
func webForm(t *testing.T, c *http.Client, page, action string, fields url.Values) (int, string) {
	t.Helper()
	_, body := webGet(t, c, page)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s has no CSRF token:\n%s", page, body)
	}
	fields.Set("csrf", m[1])
	resp, err := c.PostForm(action, fields)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func webGet(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWebFleetChartsAndProbeLimit (issue 12 §3, issue 16): two nodes on
// one PostgreSQL database. A message submitted through each shows as two
// on either node's console charts; the self-check probe's limit of two
// per client network per hour holds over the fleet: after two probes
// through node-a, node-b refuses the third with 429.
func TestWebFleetChartsAndProbeLimit(t *testing.T) {
	nodes := newFleet(t, 2, fleetRetry+"[web]\nchart_interval = \"1s\"\nprobe_per_hour = 2\noperators = [\"alice@example.net\"]\n")
	for _, n := range nodes {
		n.Start()
	}
	a, b := nodes[0], nodes[1]
	a.MustCLI("", "domain", "add", "example.net")
	a.MustCLI(alicePW+"\n", "user", "add", alice, "--password-stdin", "--home", "node-a")
	b.MustCLI(bobPW+"\n", "user", "add", bob, "--password-stdin", "--home", "node-b")

	// Probes: two through node-a, the third through node-b.
	var codes []int
	for _, n := range []*fleetNode{a, a, b} {
		base := "http://" + n.Addr("http")
		code, _ := webForm(t, webClient(), base+"/check", base+"/check/probe", url.Values{"host": {"10.0.0.1"}})
		codes = append(codes, code)
	}
	if fmt.Sprint(codes) != "[422 422 429]" {
		t.Errorf("probes through node-a, node-a, node-b: %v, want [422 422 429] (10.0.0.1 is refused as private; the third is over the fleet's limit)", codes)
	}

	// One submission through each node.
	fleetSend(t, []*fleetNode{a, b}, bob, "charted", 2)
	b.WaitMaildir(bob, 2)
	for _, n := range nodes {
		c := webClient()
		base := "https://" + n.Addr("https")
		if code, body := webForm(t, c, base+"/login", base+"/login", url.Values{"user": {alice}, "password": {alicePW}}); code != http.StatusSeeOther {
			t.Fatalf("login on %s: %d\n%s", n.Name, code, body)
		}
		want := `submission (587, 465): <strong class="total">2</strong>`
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, page := webGet(t, c, base+"/console/charts?lang=en")
			if code == 200 && strings.Contains(page, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's charts (%d) lack %q:\n%s", n.Name, code, want, page)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
}
