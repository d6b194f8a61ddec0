package e2e

import (
	"strings"
	"testing"
)

// TestWebAPICurl: the admin API against curl — a token from the CLI, the
// status codes, JSON errors for bad input, and a change the CLI then sees.
func TestWebAPICurl(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	api := "https://" + n.Addr("https") + "/api/v1"
	admin := strings.TrimSpace(n.MustCLI("", "api", "token", "add", "provisioning", "--scope", "read,directory"))
	reader := strings.TrimSpace(n.MustCLI("", "api", "token", "add", "monitor", "--scope", "read"))
	if out, err := n.CLI("", "api", "token", "add", "x", "--scope", "root"); err == nil || !strings.Contains(out, `scope "root"`) {
		t.Errorf("bad scope accepted:\n%s", out)
	}
	bearer := func(tok string) []string { return []string{"-H", "Authorization: Bearer " + tok} }
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no token", []string{api + "/domains"}, 401, `"code": "unauthorized"`},
		{"list domains", append(bearer(reader), api+"/domains"), 200, `"name": "example.jp"`},
		{"read token cannot write", append(bearer(reader), "-d", `{"name":"b.example"}`, api+"/domains"), 403, `"code": "forbidden"`},
		{"bad json", append(bearer(admin), "-d", `{"name":`, api+"/domains"), 400, `"code": "bad_json"`},
		{"bad domain", append(bearer(admin), "-d", `{"name":"not a domain"}`, api+"/domains"), 400, `"code": "invalid"`},
		{"add account", append(bearer(admin), "-d", `{"address":"hana@example.jp","password":"long enough"}`, api+"/accounts"), 201, `"status": "active"`},
		{"duplicate account", append(bearer(admin), "-d", `{"address":"hana@example.jp","password":"long enough"}`, api+"/accounts"), 409, `"code": "exists"`},
		{"suspend", append(bearer(admin), "-X", "PUT", "-d", `{"status":"suspended","reason":"ticket 7"}`, api+"/accounts/hana@example.jp/status"), 200, `"status": "suspended"`},
		{"unknown account", append(bearer(reader), api+"/accounts/nobody@example.jp"), 404, `"code": "not_found"`},
		{"queue list", append(bearer(reader), api+"/queue"), 200, `"total": 0`},
		{"queue action needs scope", append(bearer(admin), "-X", "POST", api+"/queue/x/hold"), 403, `"code": "forbidden"`},
		{"openapi", []string{api + "/openapi.json"}, 200, `"openapi": "3.1.0"`},
		{"over http", []string{"http://" + n.Addr("http") + "/api/v1/domains"}, 403, `"code": "https_required"`},
	}
	for _, tc := range cases {
		code, resp := curl(t, tc.args...)
		if code != tc.code || !strings.Contains(resp, tc.want) || header(resp, "Content-Type") != "application/json" {
			t.Errorf("%s: %d, want %d with %s\n%s", tc.name, code, tc.code, tc.want, resp)
		}
	}
	if out := n.MustCLI("", "user", "list"); !strings.Contains(out, "hana@example.jp") || !strings.Contains(out, "suspended") {
		t.Errorf("the CLI does not see the API's changes:\n%s", out)
	}
}
