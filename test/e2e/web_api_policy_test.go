package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"mailgate/internal/testpeer"
)

// TestWebAPIEdgePolicyCurl: pools, exemptions and the plan through curl
// are the CLI's operations: a pool added over the API is in `pool list`,
// one added by the CLI is in the API's list, the store's rules (host
// bits, the exemption width limit) answer 400 with a JSON error, and the
// actor api:NAME is what `edge exempt list` shows.
func TestWebAPIEdgePolicyCurl(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "")
	n.Start()
	api := "https://" + n.Addr("https") + "/api/v1"
	ops := strings.TrimSpace(n.MustCLI("", "api", "token", "add", "noc", "--scope", "read,edge"))
	reader := strings.TrimSpace(n.MustCLI("", "api", "token", "add", "monitor", "--scope", "read"))
	bearer := func(tok string) []string { return []string{"-H", "Authorization: Bearer " + tok} }
	n.MustCLI("", "pool", "add", "cli-fixed", "--kind", "static", "198.51.100.0/24")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no token", []string{"-d", `{}`, api + "/pools"}, 401, `"code": "unauthorized"`},
		{"read token cannot add", append(bearer(reader), "-d", `{"name":"dyn","kind":"dynamic","prefixes":["203.0.113.0/24"]}`, api+"/pools"), 403, `"code": "forbidden"`},
		{"add pool v4+v6", append(bearer(ops), "-d", `{"name":"dyn","kind":"dynamic","prefixes":["203.0.113.0/24","2001:db8:1::/48"]}`, api+"/pools"), 201, `"added": 2`},
		{"host bits", append(bearer(ops), "-d", `{"name":"dyn","kind":"dynamic","prefixes":["10.1.2.3/8"]}`, api+"/pools"), 400, `host bits set; write the network 10.0.0.0/8`},
		{"bad json", append(bearer(ops), "-d", `{"name":"dyn",`, api+"/pools"), 400, `"code": "bad_json"`},
		{"cli pool seen", append(bearer(reader), api+"/pools/cli-fixed"), 200, `"prefix": "198.51.100.0/24"`},
		{"wide exemption", append(bearer(ops), "-d", `{"prefix":"203.0.112.0/23","reason":"office"}`, api+"/exemptions"), 400, `max_exempt_prefix_v4`},
		{"forced exemption", append(bearer(ops), "-d", `{"prefix":"203.0.112.0/23","reason":"office","force":true}`, api+"/exemptions"), 201, `"actor": "api:noc"`},
		{"exempt one", append(bearer(ops), "-d", `{"prefix":"2001:db8:1::9","reason":"ticket 9","until":"2099-01-01"}`, api+"/exemptions"), 201, `"prefix": "2001:db8:1::9/128"`},
		{"remove v6 prefix", append(bearer(ops), "-X", "DELETE", api+"/pools/dyn/prefixes/2001:db8:1::/48"), 204, ``},
		{"scope", append(bearer(ops), "-d", `{"scope":"carriers","from":"2099-04-01T00:00:00Z"}`, api+"/edge/scope"), 200, `"state": "upcoming"`},
		{"plan", append(bearer(reader), api+"/edge/plan"), 200, `"next_change": "2099-01-01T00:00:00Z"`},
		{"check", append(bearer(reader), api+"/edge/pool-check"), 200, `"idle_exemptions": [`},
		{"import csv", append(bearer(ops), "-H", "Content-Type: text/csv", "--data-binary", "pool,kind,prefix\nbiz,static,192.0.2.0/25\nbiz,static,2001:db8:2::/48\n", api+"/pools/import"), 200, `"added": 2`},
		{"import bad", append(bearer(ops), "-H", "Content-Type: text/csv", "--data-binary", "biz,static,192.0.2.1/25\n", api+"/pools/import"), 400, `host bits set`},
	}
	for _, tc := range cases {
		code, resp := curl(t, tc.args...)
		if code != tc.code || !strings.Contains(resp, tc.want) || (code != 204 && header(resp, "Content-Type") != "application/json") {
			t.Errorf("%s: %d, want %d with %s\n%s", tc.name, code, tc.code, tc.want, resp)
		}
	}
	if out := n.MustCLI("", "pool", "export", "biz"); out != "pool,kind,prefix\nbiz,static,192.0.2.0/25\nbiz,static,2001:db8:2::/48\n" {
		t.Errorf("pool export after the API's import:\n%s", out)
	}
	if out := n.MustCLI("", "pool", "list", "dyn"); !strings.Contains(out, "203.0.113.0/24") || strings.Contains(out, "2001:db8:1::/48") {
		t.Errorf("pool list after the API's add and remove:\n%s", out)
	}
	out := n.MustCLI("", "edge", "exempt", "list")
	if !strings.Contains(out, "203.0.112.0/23") || !strings.Contains(out, "api:noc") || !strings.Contains(out, "2099-01-01") {
		t.Errorf("exempt list after the API's:\n%s", out)
	}
	if out := n.MustCLI("", "edge", "plan"); !strings.Contains(out, "carriers") || !strings.Contains(out, "[upcoming]") {
		t.Errorf("edge plan after the API's scope change:\n%s", out)
	}
	// The CLI removes; the API sees it gone.
	n.MustCLI("", "pool", "remove", "cli-fixed")
	if code, resp := curl(t, append(bearer(reader), api+"/pools/cli-fixed")...); code != 404 || !strings.Contains(resp, `"code": "not_found"`) {
		t.Errorf("pool removed by the CLI: %d\n%s", code, resp)
	}
}

// TestWebAPIDKIMAndDNSCurl: a key made and rotated over the API signs for
// the CLI too (dkim list); its record is in the API's DNS records; the
// live check against a real nsd reports missing and different records as
// JSON, as `dns check` does.
func TestWebAPIDKIMAndDNSCurl(t *testing.T) {
	NeedTool(t, "curl")
	NeedTool(t, "nsd")
	n := webNode(t, "[publish]\noutbound_ips = [\"192.0.2.25\"]\n")
	n.MustCLI("", "domain", "add", "broken.test", "example.jp")
	n.MustCLI("", "dkim", "keygen", "broken.test", "--selector", "s1")
	var kept []string
	for _, l := range strings.Split(zoneBody(n.MustCLI("", "dns", "records", "broken.test")), "\n") {
		switch {
		case strings.HasPrefix(l, "_dmarc."):
		case strings.Contains(l, "v=spf1"):
			kept = append(kept, "broken.test. 3600 IN TXT \"v=spf1 ip4:192.0.2.25 ~all\"")
		default:
			kept = append(kept, l)
		}
	}
	ns, err := testpeer.StartNSD(map[string]string{"broken.test": strings.Join(kept, "\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Stop()
	f, err := os.OpenFile(n.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n[dns]\nservers = [\"" + ns.Addr + "\"]\n")
	f.Close()
	n.Start()
	api := "https://" + n.Addr("https") + "/api/v1"
	keys := strings.TrimSpace(n.MustCLI("", "api", "token", "add", "keys", "--scope", "read,dkim"))
	reader := strings.TrimSpace(n.MustCLI("", "api", "token", "add", "monitor", "--scope", "read"))
	bearer := func(tok string) []string { return []string{"-H", "Authorization: Bearer " + tok} }
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"read token cannot keygen", append(bearer(reader), "-d", `{"selector":"a1"}`, api+"/domains/example.jp/dkim"), 403, `"code": "forbidden"`},
		{"keygen", append(bearer(keys), "-d", `{"selector":"a1","algorithm":"ed25519"}`, api+"/domains/example.jp/dkim"), 201, `"active": true`},
		{"domain we do not host", append(bearer(keys), "-d", `{"selector":"a1"}`, api+"/domains/nope.test/dkim"), 404, "add it first with `mailgate domain add nope.test`"},
		{"rotate", append(bearer(keys), "-d", `{"selector":"a2"}`, api+"/domains/example.jp/dkim"), 201, `"name": "a2._domainkey.example.jp."`},
		{"same selector", append(bearer(keys), "-d", `{"selector":"a2"}`, api+"/domains/example.jp/dkim"), 409, `"code": "exists"`},
		{"bad algorithm", append(bearer(keys), "-d", `{"selector":"a3","algorithm":"dsa"}`, api+"/domains/example.jp/dkim"), 400, `"code": "invalid"`},
		{"retire active", append(bearer(keys), "-X", "DELETE", api+"/domains/example.jp/dkim/a1"), 409, `"code": "in_use"`},
		{"activate", append(bearer(keys), "-X", "POST", api+"/domains/example.jp/dkim/a2/activate"), 200, `"active": true`},
		{"retire old", append(bearer(keys), "-X", "DELETE", api+"/domains/example.jp/dkim/a1"), 204, ``},
		{"records", append(bearer(reader), api+"/domains/example.jp/dns"), 200, `"name": "a2._domainkey.example.jp."`},
		{"check", append(bearer(reader), api+"/domains/broken.test/dns/check"), 200, `"ok": false`},
	}
	for _, tc := range cases {
		code, resp := curl(t, tc.args...)
		if code != tc.code || !strings.Contains(resp, tc.want) || (code != 204 && header(resp, "Content-Type") != "application/json") {
			t.Errorf("%s: %d, want %d with %s\n%s", tc.name, code, tc.code, tc.want, resp)
		}
		if strings.Contains(resp, "PRIVATE KEY") {
			t.Errorf("%s: a private key in the answer", tc.name)
		}
	}
	if out := n.MustCLI("", "dkim", "list", "example.jp"); !strings.Contains(out, "a2") || !strings.Contains(out, "yes") || strings.Contains(out, "a1") {
		t.Errorf("dkim list after the API's rotation:\n%s", out)
	}
	_, resp := curl(t, append(bearer(reader), api+"/domains/broken.test/dns/check")...)
	var check struct {
		OK      bool
		Records []struct{ Name, Type, Status string }
	}
	if err := json.Unmarshal([]byte(resp[strings.Index(resp, "\r\n\r\n")+4:]), &check); err != nil {
		t.Fatalf("check: %v\n%s", err, resp)
	}
	status := map[string]string{}
	for _, r := range check.Records {
		status[r.Name+" "+r.Type] = r.Status
	}
	if status["_dmarc.broken.test. TXT"] != "missing" || status["broken.test. TXT"] != "different" || status["s1._domainkey.broken.test. TXT"] != "ok" {
		t.Errorf("check statuses %v", status)
	}
}
