package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// webNode is a node whose self-check probe may reach loopback and whose
// probe ports are the node's own submission, submissions and MX ports;
// admin@example.jp is an operator. extra is more TOML (other tables).
func webNode(t *testing.T, extra string) *Node {
	t.Helper()
	n := NewNode(t, "", "[web]\nprobe_allow = [\"127.0.0.0/8\"]\nclient_host = \"gw.{domain}\"\noperators = [\"admin@example.jp\"]\n"+extra)
	f, err := os.OpenFile(n.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[web.probe_ports]\nsubmission = %d\nsubmissions = %d\nmx = %d\n", n.Ports["submission"], n.Ports["submissions"], n.Ports["mx"])
	f.Close()
	return n
}

// curl runs curl -sS -i (headers and body) with args and returns the
// status code and the whole response.
func curl(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-sS", "-i", "-k", "--max-time", "20"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	m := regexp.MustCompile(`(?m)^HTTP/[0-9.]+ (\d+)`).FindAllStringSubmatch(string(out), -1)
	if m == nil {
		t.Fatalf("curl %v: no status line\n%s", args, out)
	}
	var code int
	fmt.Sscan(m[len(m)-1][1], &code)
	return code, string(out)
}

func header(resp, name string) string {
	m := regexp.MustCompile(`(?mi)^` + regexp.QuoteMeta(name) + `: (.*?)\r?$`).FindStringSubmatch(resp)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestWebCurl(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	http, https := "http://"+n.Addr("http"), "https://"+n.Addr("https")

	code, resp := curl(t, "-H", "Accept-Language: en", http+"/check")
	if code != 200 || !strings.Contains(resp, "not one of our subscriber lines") {
		t.Fatalf("self-check: %d\n%s", code, resp)
	}
	for name, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
		if got := header(resp, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if csp := header(resp, "Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	// Password pages are HTTPS only.
	if code, resp = curl(t, http+"/login"); code != 303 || !strings.HasPrefix(header(resp, "Location"), "https://127.0.0.1:"+fmt.Sprint(n.Ports["https"])+"/login") {
		t.Errorf("http /login: %d %q", code, header(resp, "Location"))
	}
	if code, resp = curl(t, https+"/login"); code != 200 || header(resp, "Strict-Transport-Security") == "" {
		t.Errorf("https /login: %d\n%s", code, resp)
	}
	// A login post without the CSRF token is refused, and sets no session.
	if code, resp = curl(t, "-d", "user=taro@example.jp&password=correct+horse", https+"/login"); code != 403 || strings.Contains(resp, "mg_session") {
		t.Errorf("login without CSRF token: %d\n%s", code, resp)
	}
	if code, _ = curl(t, https+"/account"); code != 303 {
		t.Errorf("account without login: %d, want 303", code)
	}

	// Autoconfig, Autodiscover, MTA-STS.
	code, resp = curl(t, http+"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=taro@example.jp")
	if code != 200 || !strings.Contains(resp, "<hostname>gw.example.jp</hostname>") || !strings.Contains(resp, fmt.Sprintf("<port>%d</port>", n.Ports["submission"])) {
		t.Errorf("autoconfig: %d\n%s", code, resp)
	}
	code, resp = curl(t, "-H", "Content-Type: text/xml", "--data-binary",
		`<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>taro@example.jp</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`,
		https+"/autodiscover/autodiscover.xml")
	if code != 200 || !strings.Contains(resp, "<Type>SMTP</Type>") || !strings.Contains(resp, "<LoginName>taro@example.jp</LoginName>") {
		t.Errorf("autodiscover: %d\n%s", code, resp)
	}
	if code, _ = curl(t, "--data-binary", "<x/>", https+"/autodiscover/autodiscover.xml"); code != 400 {
		t.Errorf("bad autodiscover: %d, want 400", code)
	}
	code, resp = curl(t, "-H", "Host: mta-sts.example.jp", https+"/.well-known/mta-sts.txt")
	if code != 200 || !strings.Contains(resp, "version: STSv1\r\nmode: testing\r\nmx: mail.test.example\r\n") {
		t.Errorf("mta-sts: %d\n%s", code, resp)
	}

	// The carrier feed: a token from the CLI, then ETag / If-None-Match.
	n.MustCLI("", "pool", "add", "dyn", "--kind", "dynamic", "203.0.113.0/24")
	token := strings.TrimSpace(n.MustCLI("", "web", "feed-token", "add", "carrier-a"))
	if code, _ = curl(t, https+"/feed/dynamic.txt"); code != 401 {
		t.Errorf("feed without token: %d, want 401", code)
	}
	code, resp = curl(t, "-H", "Authorization: Bearer "+token, https+"/feed/dynamic.csv")
	etag := header(resp, "ETag")
	if code != 200 || !strings.Contains(resp, "203.0.113.0/24,dyn,ipv4,") || etag == "" {
		t.Fatalf("feed: %d\n%s", code, resp)
	}
	if code, _ = curl(t, "-H", "Authorization: Bearer "+token, "-H", "If-None-Match: "+etag, https+"/feed/dynamic.csv"); code != 304 {
		t.Errorf("feed If-None-Match: %d, want 304", code)
	}
	if out := n.MustCLI("", "web", "feed-token", "list"); !strings.Contains(out, "carrier-a") || strings.Contains(out, token) {
		t.Errorf("feed-token list:\n%s", out)
	}

	// Metrics, from loopback (metrics_allow's default).
	if code, resp = curl(t, http+"/metrics"); code != 200 || !strings.Contains(resp, "mailgate_queue_messages 0") || !strings.Contains(resp, "mailgate_feed_fetches_total{carrier=\"carrier-a\"} 2") {
		t.Errorf("metrics: %d\n%s", code, resp)
	}
}
