package sieve

import (
	"reflect"
	"strings"
	"testing"
)

func TestRulesRoundTrip(t *testing.T) {
	user := "require \"envelope\";\nif envelope :is \"from\" \"x@y.example\" { discard; }\n"
	rules := []Rule{
		{Header: "Subject", Regex: `^\[acme(-[a-z]+)?\] "quoted"`, Folder: "Lists.Acme"},
		{Header: "List-Id", Regex: "announce", Folder: "Announce"},
	}
	s, err := WithRules(user, rules)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(s); err != nil {
		t.Fatalf("script with rules does not compile: %v\n%s", err, s)
	}
	got, err := Rules(s)
	if err != nil || !reflect.DeepEqual(got, rules) {
		t.Fatalf("Rules = %+v, %v; want %+v\n%s", got, err, rules, s)
	}
	// The rules come after the user's require and before the user's rules.
	if i, j := strings.Index(s, `require "envelope"`), strings.Index(s, "BEGIN mailgate rules"); i < 0 || j < i || j > strings.Index(s, "if envelope") {
		t.Errorf("section misplaced:\n%s", s)
	}
	res := runScript(t, s, "From: a@b.example\r\nSubject: [acme-users] \"quoted\" news\r\n\r\nx\r\n", testEnv())
	if strings.Join(res, ",") != "fileinto Lists.Acme :create" {
		t.Errorf("rules ran as %q", res)
	}
	// Replacing with one rule, then none, gives back the user's script.
	s, err = WithRules(s, rules[1:])
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := Rules(s); !reflect.DeepEqual(got, rules[1:]) {
		t.Errorf("after removing one: %+v", got)
	}
	if s, _ = WithRules(s, nil); s != user {
		t.Errorf("after removing all:\n%q\nwant\n%q", s, user)
	}
	if _, err := WithRules("", []Rule{{Header: "Subject", Regex: "(", Folder: "X"}}); err == nil {
		t.Error("invalid regular expression accepted")
	}
	if _, err := WithRules("", []Rule{{Header: "Sub ject", Regex: "x", Folder: "X"}}); err == nil {
		t.Error("invalid header name accepted")
	}
	if s, err := WithRules("", rules[:1]); err != nil {
		t.Fatal(err)
	} else if _, err := Compile(s); err != nil {
		t.Errorf("rules alone do not compile: %v\n%s", err, s)
	}
}
