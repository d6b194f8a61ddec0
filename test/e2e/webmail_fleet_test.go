package e2e

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestWebmailFleetGoesHome: bob's mailbox lives on node-b. Logged in to
// the webmail of node-a, he reads it and flags a message: node-a proxies
// each request to node-b over the fleet's mutual TLS, node-b checks the
// session and the CSRF token itself, the flag lands in node-b's Maildir,
// and node-a never makes a Maildir for bob.
func TestWebmailFleetGoesHome(t *testing.T) {
	NeedTool(t, "curl")
	NeedTool(t, "python3")
	nodes := startFleet(t)
	fleetSend(t, []*fleetNode{nodes[0]}, bob, "webmail", 2)
	nodes[1].WaitMaildir(bob, 2)

	a := "https://" + nodes[0].Addr("https")
	s := curlLogin(t, a, bob, bobPW)
	code, page := curl(t, "-b", s.jar, a+"/mail/")
	if code != 200 || !strings.Contains(page, "webmail-0") || !strings.Contains(page, "webmail-1") {
		t.Fatalf("bob's list through node-a: %d\n%s\nnode-a log:\n%s", code, page, nodes[0].Log())
	}
	// Without the token the home node refuses (its CSRF check, not
	// node-a's); with it, the flag is set there.
	if code, _ := curl(t, "-b", s.jar, "-d", "uid=1&action=flag", a+"/mail/act"); code != 403 {
		t.Errorf("flag through node-a without token: %d, want 403", code)
	}
	if code, resp := curl(t, "-b", s.jar, "-d", "uid=1&action=flag&csrf="+url.QueryEscape(s.token), a+"/mail/act"); code != 303 {
		t.Errorf("flag through node-a: %d\n%s", code, resp)
	}
	flagged := 0
	for _, p := range nodes[1].Maildir(bob) {
		if strings.HasSuffix(p, ":2,F") || strings.HasSuffix(p, ":2,FS") {
			flagged++
		}
	}
	if flagged != 1 {
		t.Errorf("flagged messages in node-b's Maildir: %d, want 1: %v", flagged, nodes[1].Maildir(bob))
	}
	for _, i := range []int{0, 2} {
		if m, _ := filepath.Glob(filepath.Join(nodes[i].Dir, "mail", "example.net", "bob")); len(m) != 0 {
			t.Errorf("%s made a Maildir for bob: %v", nodes[i].Name, m)
		}
	}
	if !strings.Contains(nodes[0].Log(), `msg="web proxy" node=node-b path=/mail/act`) {
		t.Errorf("node-a did not log its proxying:\n%s", nodes[0].Log())
	}
}
