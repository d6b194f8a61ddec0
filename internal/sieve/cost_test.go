package sieve

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestHostileMatchStaysWithinTimeout: one :regex or :matches test is one
// step, so a script whose keys make each comparison cost len(value) ×
// len(key) (a large regular-expression program, a long wildcard key) on a
// 1 MB body ran for minutes past Limits.Timeout (the deadline is only
// looked at between steps). The run must stop with ErrLimit, keeping the
// message, within a small multiple of the timeout.
func TestHostileMatchStaysWithinTimeout(t *testing.T) {
	body := strings.Repeat("abcdefghij ", 100000) // 1.1 MB, no match
	msg := "From: a@example.com\r\nSubject: x\r\n\r\n" + body
	wild := strings.Repeat("*a", 20000) + "Q"
	for name, src := range map[string]string{
		"regex":                `require ["body","regex"]; if body :raw :regex "(a|b|c|d|e|f|g|h|i|j| ){600}Q" { discard; }`,
		"regex from variables": `require ["body","regex","variables"]; set "n" "600"; if body :raw :regex "(a|b|c|d|e|f|g|h|i|j| ){${n}}Q" { discard; }`,
		"matches":              `require "body"; if body :raw :matches "` + wild + `" { discard; }`,
	} {
		s, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: compile: %v", name, err)
		}
		env := testEnv()
		env.Limits = Limits{Timeout: 200 * time.Millisecond}
		start := time.Now()
		res, err := Run(context.Background(), s, ParseMessage([]byte(msg)), env)
		took := time.Since(start)
		if !errors.Is(err, ErrLimit) || !res.ImplicitKeep || len(res.Actions) != 0 {
			t.Errorf("%s: err %v, result %q; want ErrLimit and only the implicit keep", name, err, res.Strings())
		}
		if took > 2*time.Second {
			t.Errorf("%s: ran %v, want the run stopped near its 200ms timeout", name, took)
		}
	}
}

// TestRegexSizeLimits: draft-ietf-sieve-regex §4, a key whose program or
// groups make every byte of a value costly does not compile.
func TestRegexSizeLimits(t *testing.T) {
	for _, key := range []string{
		"(a|b|c|d|e|f|g|h|i|j| ){1000}Q",
		strings.Repeat("(a?)", 100) + "Q",
	} {
		_, err := Compile(`require ["regex"]; if header :regex "subject" "` + key + `" { discard; }`)
		if err == nil || !strings.Contains(err.Error(), "invalid regular expression") {
			t.Errorf("Compile with key %.40q...: %v, want an invalid regular expression error", key, err)
		}
	}
	// Each key within the bounds, too many of them together.
	var b strings.Builder
	b.WriteString(`require ["regex"];` + "\n")
	for i := 0; i < 20; i++ {
		b.WriteString(`if header :regex "subject" "(a|b|c|d|e|f|g|h|i|j| ){600}" { discard; }` + "\n")
	}
	if _, err := Compile(b.String()); err == nil || !strings.Contains(err.Error(), "too large together") {
		t.Errorf("20 keys of 1,800 instructions: %v, want too large together", err)
	}
	check(t, `require ["regex","variables","fileinto"]; if header :regex "subject" "(caf.) (\\[[a-z-]+\\])" { fileinto "${2}"; }`,
		"fileinto [acme-users]")
}

// TestExpansionIsBounded: variables hold 4 KiB, but a string may name
// one thousands of times: 15,000 "${a}" in a 64 KiB script expanded to
// 60 MB on every run, per delivery at once. The expansion stops at
// maxExpandedSize.
func TestExpansionIsBounded(t *testing.T) {
	src := `require ["variables"]; set "a" "` + strings.Repeat("x", 4000) + `";` +
		` if header :contains "subject" "` + strings.Repeat("${a}", 15000) + `" { discard; }`
	s, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	res, err := Run(context.Background(), s, ParseMessage([]byte(testMsg)), testEnv())
	runtime.ReadMemStats(&m1)
	if err != nil || !res.ImplicitKeep {
		t.Errorf("run: %v, %q; want the implicit keep", err, res.Strings())
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 8<<20 {
		t.Errorf("the run allocated %d MB, want the expansion bounded", alloc>>20)
	}
}
