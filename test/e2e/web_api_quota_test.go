package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// putMaildirMessage puts a message of size octets into an account's INBOX
// on node n as another delivery agent would (cur/, the size in the name):
// a Maildir of known size for the quota pages and API.
func putMaildirMessage(t *testing.T, n *Node, account, name string, size int) {
	t.Helper()
	at := strings.LastIndexByte(account, '@')
	cur := filepath.Join(n.Dir, "mail", account[at+1:], account[:at], "cur")
	if err := os.MkdirAll(cur, 0o700); err != nil {
		t.Fatal(err)
	}
	body := "Subject: filler\r\n\r\n" + strings.Repeat("x", size-len("Subject: filler\r\n\r\n"))
	if err := os.WriteFile(filepath.Join(cur, name+",S="+strconv.Itoa(size)+":2,S"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestWebAPIQuotaCurl: the account's quota and usage through the admin API
// with curl, set as the CLI sets it (the same parser: the same refusals),
// and each side seeing the other's changes.
func TestWebAPIQuotaCurl(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "[mailbox]\nquota = \"4000\"\n")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	putMaildirMessage(t, n, "taro@example.jp", "1000.a.host", 1000)
	api := "https://" + n.Addr("https") + "/api/v1"
	admin := strings.TrimSpace(n.MustCLI("", "api", "token", "add", "provisioning", "--scope", "read,directory"))
	auth := []string{"-H", "Authorization: Bearer " + admin}
	put := func(body string) (int, string) {
		return curl(t, append(auth, "-X", "PUT", "-d", body, api+"/accounts/taro@example.jp/quota")...)
	}
	body := func(resp string) string {
		_, b, _ := strings.Cut(resp, "\r\n\r\n")
		return strings.Join(strings.Fields(b), " ")
	}

	code, resp := curl(t, append(auth, api+"/accounts/taro@example.jp")...)
	if want := `"quota": { "bytes": 4000, "setting": "4000", "own": false, "usage": { "bytes": 1000, "messages": 1, "percent": 25 } }`; code != 200 || !strings.Contains(body(resp), want) {
		t.Fatalf("account: %d\n%s\nwant %s", code, body(resp), want)
	}
	code, resp = put(`{"quota": "2KiB"}`)
	if want := `{ "bytes": 2048, "setting": "2KiB", "own": true, "usage": { "bytes": 1000, "messages": 1, "percent": 48 } }`; code != 200 || body(resp) != want {
		t.Fatalf("PUT 2KiB: %d\n%s\nwant %s", code, body(resp), want)
	}
	if out := n.MustCLI("", "user", "quota", "taro@example.jp"); out != "taro@example.jp\tquota=2KiB (own) usage=1000 octets, 1 messages\n" {
		t.Errorf("the CLI after the API: %q", out)
	}
	// The same refusal, in the same words, from both.
	code, resp = put(`{"quota": "lots"}`)
	cliOut, err := n.CLI("", "user", "quota", "taro@example.jp", "lots")
	const words = `size \"lots\": want a whole number of octets`
	if code != 400 || !strings.Contains(resp, `"code": "invalid"`) || !strings.Contains(resp, words) || err == nil || !strings.Contains(cliOut, strings.ReplaceAll(words, `\"`, `"`)) {
		t.Errorf("bad size: API %d\n%s\nCLI: %v %s", code, resp, err, cliOut)
	}
	if code, resp := put(`{"quota": 1048576}`); code != 200 || !strings.Contains(body(resp), `"bytes": 1048576, "setting": "1MiB", "own": true`) {
		t.Errorf("PUT octets: %d\n%s", code, body(resp))
	}
	if code, resp := put(`{"quota": "unlimited"}`); code != 200 || !strings.Contains(body(resp), `"bytes": 0, "setting": "unlimited", "own": true, "usage": { "bytes": 1000, "messages": 1 } }`) {
		t.Errorf("PUT unlimited: %d\n%s", code, body(resp))
	}
	code, resp = curl(t, append(auth, "-X", "PATCH", "-d", `{"quota": "3KiB"}`, api+"/accounts/taro@example.jp")...)
	if code != 200 || !strings.Contains(body(resp), `"address": "taro@example.jp"`) || !strings.Contains(body(resp), `"quota": { "bytes": 3072, "setting": "3KiB", "own": true, "usage": { "bytes": 1000, "messages": 1, "percent": 32 } }`) {
		t.Errorf("PATCH the account: %d\n%s", code, body(resp))
	}
	n.MustCLI("", "user", "quota", "taro@example.jp", "default")
	if code, resp := curl(t, append(auth, api+"/accounts/taro@example.jp/quota")...); code != 200 || !strings.Contains(body(resp), `"bytes": 4000, "setting": "4000", "own": false`) {
		t.Errorf("the API after the CLI: %d\n%s", code, body(resp))
	}
	if code, resp := curl(t, append(auth, "-X", "PUT", "-d", `{"quota": "1G"}`, api+"/accounts/nobody@example.jp/quota")...); code != 404 || !strings.Contains(resp, `"code": "not_found"`) {
		t.Errorf("unknown account: %d\n%s", code, resp)
	}
}
