package e2e

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWebHostileClients: what one hostile client tries against a real
// node's web and ManageSieve listeners, with real clients: an HTTP/2
// connection (nghttp) is told it may carry 16 requests at once, not
// Go's 250; a login's next= that a browser reads as another site (a tab
// it drops) lands on My account; a ManageSieve command of endless
// literals, before login, is cut off with BYE.
func TestWebHostileClients(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	https := "https://" + n.Addr("https")

	out, err := exec.Command(NeedTool(t, "nghttp"), "-nv", https+"/check").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):16]") {
		t.Errorf("nghttp: %v, no SETTINGS_MAX_CONCURRENT_STREAMS 16 from the server in\n%s", err, out)
	}

	jar := filepath.Join(t.TempDir(), "cookies")
	_, page := curl(t, "-c", jar, "-b", jar, https+"/login")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	code, resp := curl(t, "-c", jar, "-b", jar, "--data", "csrf="+m[1]+"&user=taro%40example.jp&password=correct+horse&next=/%09/evil.example", https+"/login")
	if loc := header(resp, "Location"); code != 303 || loc != "/account" {
		t.Errorf("login with next=/%%09/evil.example: %d Location %q, want 303 to /account", code, loc)
	}
	os.Remove(jar)

	c, err := net.Dial("tcp", n.Addr("managesieve"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second)) // a guard against a hang, not a measure
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("greeting: %v", err)
		}
		if strings.HasPrefix(line, "OK") {
			break
		}
	}
	go func() {
		// 64 KiB literals, each within the limit, 64 MiB in all at most.
		lit := strings.Repeat("a", 64<<10)
		if _, err := c.Write([]byte("PUTSCRIPT {65536+}\r\n")); err != nil {
			return
		}
		for range 1024 {
			if _, err := c.Write([]byte(lit + " {65536+}\r\n")); err != nil {
				return
			}
		}
	}()
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "BYE (QUOTA/MAXSIZE)") {
		t.Fatalf("endless literals before login: %q %v, want BYE (QUOTA/MAXSIZE)", line, err)
	}
}

// TestWebLoginSharesTheThrottle: the web login counts in the failure
// tracker the mail services use ([abuse.login]): wrong passwords over
// IMAP block the source's web login too, with 429 and Retry-After, and
// wrong web passwords block IMAP.
func TestWebLoginSharesTheThrottle(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "[abuse.login]\ndelay = \"0s\"\nmax_delay = \"0s\"\nblock_after = 3\nblock_after_account = 0\nblock_after_network = 0\nblock_time = \"10m\"\n")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	https := "https://" + n.Addr("https")
	webLogin := func(pw string) (int, string) {
		jar := filepath.Join(t.TempDir(), "cookies")
		_, page := curl(t, "-c", jar, "-b", jar, https+"/login")
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token on the login page:\n%s", page)
		}
		return curl(t, "-c", jar, "-b", jar, "-H", "Accept-Language: en", "--data", "csrf="+m[1]+"&user=taro%40example.jp&password="+strings.ReplaceAll(pw, " ", "+"), https+"/login")
	}
	imap := func(pw string) string {
		out, _ := exec.Command("curl", "-sS", "-k", "--max-time", "20", "--url", "imaps://"+n.Addr("imaps")+"/", "--user", "taro@example.jp:"+pw).CombinedOutput()
		return string(out)
	}
	for i := range 3 {
		imap("wrong-" + strings.Repeat("x", i))
	}
	if code, resp := webLogin("correct horse"); code != 429 || header(resp, "Retry-After") == "" {
		t.Fatalf("web login after 3 IMAP failures: %d (Retry-After %q), want 429\n%s", code, header(resp, "Retry-After"), resp)
	}

	m := webNode(t, "[abuse.login]\ndelay = \"0s\"\nmax_delay = \"0s\"\nblock_after = 3\nblock_after_account = 0\nblock_after_network = 0\nblock_time = \"10m\"\n")
	m.AddUser("taro@example.jp", "correct horse")
	m.Start()
	https = "https://" + m.Addr("https")
	for i := range 3 {
		if code, _ := webLogin("wrong " + strings.Repeat("x", i)); code != 401 {
			t.Fatalf("wrong web password %d: %d, want 401", i, code)
		}
	}
	out, _ := exec.Command("curl", "-sS", "-k", "--max-time", "20", "--url", "imaps://"+m.Addr("imaps")+"/", "--user", "taro@example.jp:correct horse").CombinedOutput()
	if !strings.Contains(string(out), "Login denied") && !strings.Contains(string(out), "(67)") {
		t.Errorf("IMAP login after 3 web failures: %s, want refused", out)
	}
}

// TestWebConnectionCapsAndSlowHeaders: the web listeners are behind the
// connection caps ([limits], as every mail service): a client holding
// max_connections_per_ip connections with half-sent headers (slowloris)
// gets 503 for the next; the server's header timeout closes the slow ones
// (http.Server ReadHeaderTimeout), and the client is served again.
func TestWebConnectionCapsAndSlowHeaders(t *testing.T) {
	NeedTool(t, "curl")
	n := NewNode(t, "", "[limits]\nmax_connections_per_ip = 2\n")
	n.Start()
	addr := n.Addr("http")
	var slow []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET /check HTTP/1.1\r\nHost: x\r\nX-Slow: "))
		slow = append(slow, c)
	}
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	over.Write([]byte("GET /check HTTP/1.1\r\nHost: x\r\n\r\n"))
	over.SetReadDeadline(time.Now().Add(20 * time.Second)) // a guard against a hang
	if line, err := bufio.NewReader(over).ReadString('\n'); err != nil || line != "HTTP/1.1 503 Service Unavailable\r\n" {
		t.Fatalf("a third connection: %q %v, want 503", line, err)
	}
	for i, c := range slow {
		c.SetReadDeadline(time.Now().Add(60 * time.Second)) // a guard; the server closes at its header timeout
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("slow connection %d was not closed by the server: %v", i, err)
		}
	}
	if code, _ := curl(t, "http://"+addr+"/check"); code != 200 {
		t.Fatalf("after the slow connections closed: %d, want 200", code)
	}
}
