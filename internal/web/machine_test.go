package web

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/store"
)

func TestThunderbirdAutoconfig(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(s.plain)
	for _, path := range []string{"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=Taro%40Example.JP", "/mail/config-v1.1.xml?emailaddress=taro@example.jp"} {
		resp, body := s.do(c, "GET", s.plain.URL+path, nil, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var cc clientConfig
		if err := xml.Unmarshal([]byte(body), &cc); err != nil {
			t.Fatal(err)
		}
		// The points of Mozilla's clientConfig 1.1 a client reads.
		p := cc.Provider
		if cc.Version != "1.1" || p.ID != "example.jp" || p.Domain != "example.jp" || len(p.Incoming) != 4 || len(p.Outgoing) != 2 {
			t.Fatalf("%s: %+v", path, cc)
		}
		in, out := p.Incoming[0], p.Outgoing[0]
		if in.Type != "imap" || in.Hostname != "gw.example.jp" || in.Port != 2993 || in.Socket != "SSL" || in.Username != "%EMAILADDRESS%" || in.Auth != "password-cleartext" {
			t.Errorf("first incoming: %+v", in)
		}
		if out.Type != "smtp" || out.Port != 2465 || out.Socket != "SSL" || p.Outgoing[1].Port != 2587 || p.Outgoing[1].Socket != "STARTTLS" {
			t.Errorf("outgoing: %+v", p.Outgoing)
		}
	}
	if resp, _ := s.do(c, "GET", s.plain.URL+"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a@other.example", nil, nil); resp.StatusCode != 404 {
		t.Errorf("foreign domain: %d, want 404", resp.StatusCode)
	}
	// autoconfig.<domain>: the domain comes from the Host.
	req, _ := http.NewRequest("GET", s.plain.URL+"/mail/config-v1.1.xml", nil)
	req.Host = "autoconfig.example.jp"
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Host autoconfig.example.jp: %v %v", resp, err)
	}
}

func TestOutlookAutodiscoverPOX(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(s.plain)
	reqBody := `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>taro@example.jp</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
	resp, err := c.Post(s.plain.URL+"/autodiscover/autodiscover.xml", "text/xml", strings.NewReader(reqBody))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("autodiscover: %v %v", resp, err)
	}
	var ad struct {
		Response struct {
			Account struct {
				AccountType string
				Action      string
				Protocol    []adProtocol
			}
		}
	}
	if err := xml.NewDecoder(resp.Body).Decode(&ad); err != nil {
		t.Fatal(err)
	}
	a := ad.Response.Account
	if a.AccountType != "email" || a.Action != "settings" || len(a.Protocol) != 3 {
		t.Fatalf("account: %+v", a)
	}
	want := map[string]int{"IMAP": 2993, "POP3": 2995, "SMTP": 2465}
	for _, p := range a.Protocol {
		if want[p.Type] != p.Port || p.Server != "gw.example.jp" || p.LoginName != "taro@example.jp" || p.SSL != "on" || p.Encryption != "SSL" {
			t.Errorf("protocol %+v", p)
		}
	}
	for _, bad := range []string{"", "<nope/>", "<Autodiscover><Request></Request></Autodiscover>"} {
		resp, _ := c.Post(s.plain.URL+"/autodiscover/autodiscover.xml", "text/xml", strings.NewReader(bad))
		if resp.StatusCode != 400 {
			t.Errorf("%q: %d, want 400", bad, resp.StatusCode)
		}
	}
}

func FuzzAutodiscoverRequest(f *testing.F) {
	f.Add(`<Autodiscover><Request><EMailAddress>a@b.example</EMailAddress></Request></Autodiscover>`)
	f.Add(`<Autodiscover><Request><EMailAddress>` + strings.Repeat("a", 400) + `</EMailAddress></Request></Autodiscover>`)
	f.Add(`<!DOCTYPE x [<!ENTITY a "aaaa">]><Autodiscover>&a;</Autodiscover>`)
	f.Fuzz(func(t *testing.T, body string) {
		a, err := parseAutodiscover(strings.NewReader(body))
		if err == nil && (a == "" || len(a) > 320) {
			t.Fatalf("accepted %q", a)
		}
	})
}

func TestMTASTSPolicy(t *testing.T) {
	s := newSite(t, func(c *config.Config) {
		c.Publish.MXHosts = []string{"mx1.isp.example"}
		c.Publish.MTASTSMode = "enforce"
	})
	req, _ := http.NewRequest("GET", s.secure.URL+"/.well-known/mta-sts.txt", nil)
	req.Host = "mta-sts.example.jp"
	resp, err := s.client(s.secure).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 1024)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain" ||
		b.String() != "version: STSv1\r\nmode: enforce\r\nmx: mx1.isp.example\r\nmax_age: 604800\r\n" {
		t.Fatalf("%d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b.String())
	}
	req.Host = "mta-sts.other.example"
	if resp, _ := s.client(s.secure).Do(req); resp.StatusCode != 404 {
		t.Errorf("foreign domain: %d", resp.StatusCode)
	}
}

func TestFeedNeedsTokenAndAnswersETag(t *testing.T) {
	s := newSite(t, nil)
	ctx := context.Background()
	s.st.AddPoolPrefixes(ctx, "test", "dyn", "dynamic", []string{"203.0.113.0/24"})
	s.st.AddPoolPrefixes(ctx, "test", "fix", "static", []string{"198.51.100.0/24"})
	tok, err := s.st.AddFeedToken(ctx, "test", "carrier-a")
	if err != nil {
		t.Fatal(err)
	}
	c := s.client(s.secure)
	if resp, _ := s.do(c, "GET", s.secure.URL+"/feed/dynamic.txt", nil, nil); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	if resp, _ := s.do(c, "GET", s.secure.URL+"/feed/dynamic.txt?token=wrong", nil, nil); resp.StatusCode != 401 {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	resp, body := s.do(c, "GET", s.secure.URL+"/feed/dynamic.txt", nil, map[string]string{"Authorization": "Bearer " + tok})
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || !strings.Contains(body, "\n203.0.113.0/24\n") || strings.Contains(body, "198.51.100.0") || etag == "" {
		t.Fatalf("feed: %d %q\n%s", resp.StatusCode, etag, body)
	}
	resp, body = s.do(c, "GET", s.secure.URL+"/feed/dynamic.txt?token="+tok, nil, map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("If-None-Match: %d, want 304", resp.StatusCode)
	}
	s.st.AddPoolPrefixes(ctx, "test", "dyn", "dynamic", []string{"2001:db8::/32"})
	if resp, _ = s.do(c, "GET", s.secure.URL+"/feed/dynamic.txt?token="+tok, nil, map[string]string{"If-None-Match": etag}); resp.StatusCode != 200 {
		t.Fatalf("after a change: %d, want 200", resp.StatusCode)
	}
	resp, body = s.do(c, "GET", s.secure.URL+"/feed/dynamic.json?token="+tok, nil, nil)
	if resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"prefix": "203.0.113.0/24"`) {
		t.Fatalf("json: %s\n%s", resp.Header.Get("Content-Type"), body)
	}
	if resp, _ = s.do(c, "GET", s.secure.URL+"/feed/dynamic.xml?token="+tok, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("unknown format: %d", resp.StatusCode)
	}
}

func TestMetricsOnlyForAllowedSources(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(s.plain)
	s.login(s.client(s.secure), "wrong")
	now := time.Now()
	if err := s.st.RecordAttempts(context.Background(), "bng1", []store.AttemptRecord{
		{Source: netip.MustParseAddr("203.0.113.5"), Pool: "ftth", Attempts: 40, Destinations: 3, FirstSeen: now, LastSeen: now},
		{Source: netip.MustParseAddr("203.0.113.6"), Pool: "ftth", Attempts: 2, Destinations: 1, FirstSeen: now, LastSeen: now},
	}); err != nil {
		t.Fatal(err)
	}
	resp, body := s.do(c, "GET", s.plain.URL+"/metrics", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `mailgate_web_logins_total{result="failed"} 1`) || !strings.Contains(body, "go_goroutines") ||
		!strings.Contains(body, `mailgate_edge_blocked_attempts{pool="ftth"} 42`) || !strings.Contains(body, `mailgate_edge_blocked_sources{pool="ftth"} 2`) {
		t.Fatalf("metrics from loopback: %d\n%s", resp.StatusCode, body)
	}
	s2 := newSite(t, func(c *config.Config) { c.Web.MetricsAllow = []string{"192.0.2.0/24"} })
	if resp, _ := s2.do(s2.client(s2.plain), "GET", s2.plain.URL+"/metrics", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("metrics from a source not allowed: %d, want 404", resp.StatusCode)
	}
}
