package sieve

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const testMsg = "Return-Path: <sender@example.com>\r\n" +
	"From: Alice Example <alice+news@Example.COM>\r\n" +
	"To: me@example.net, \"Bob\" <bob@example.org>\r\n" +
	"Cc: undisclosed-recipients:;\r\n" +
	"Subject: =?UTF-8?Q?caf=C3=A9?= [acme-users] [fwd] version 1.0 is out\r\n" +
	"X-Spam-Score: 7\r\n" +
	"X-Multi: one\r\n" +
	"X-Multi: two\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Hello world, the meeting is at 10.\r\n"

func testEnv() Env {
	return Env{Envelope: Envelope{From: "sender@example.com", To: "me+work@example.net"}}
}

// runScript compiles and runs src on testMsg (or msg) and returns the result's strings.
func runScript(t *testing.T, src string, msg string, env Env) []string {
	t.Helper()
	s, err := Compile(src)
	if err != nil {
		t.Fatalf("compile: %v\n%s", err, src)
	}
	if msg == "" {
		msg = testMsg
	}
	res, err := Run(context.Background(), s, ParseMessage([]byte(msg)), env)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res.Strings()
}

func check(t *testing.T, src string, want ...string) {
	t.Helper()
	got := runScript(t, src, "", testEnv())
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("script:\n%s\ngot  %q\nwant %q", src, got, want)
	}
}

func TestEmptyScriptKeeps(t *testing.T) {
	check(t, "", "implicit keep")
	check(t, "# only a comment\n/* and\n another */", "implicit keep")
}

func TestCoreActions(t *testing.T) {
	check(t, "keep;", "keep")
	check(t, "discard;")
	check(t, "discard; keep;", "keep")
	check(t, `redirect "x@example.org";`, "redirect x@example.org")
	check(t, `require "fileinto"; fileinto "Lists";`, "fileinto Lists")
	check(t, `require "fileinto"; fileinto "Lists"; stop; keep;`, "fileinto Lists")
	check(t, `require ["fileinto","copy"]; fileinto :copy "Lists";`, "fileinto Lists :copy", "implicit keep")
	check(t, `require "copy"; redirect :copy "x@example.org";`, "redirect x@example.org :copy", "implicit keep")
}

func TestDuplicateActionsCollapse(t *testing.T) {
	// RFC 5228 §2.10.3: one delivery per mailbox, one redirect per address.
	check(t, `require "fileinto"; fileinto "A"; fileinto "A"; keep; fileinto "INBOX";`, "fileinto A", "keep")
	check(t, `redirect "x@example.org"; redirect "X@example.org";`, "redirect x@example.org")
}

func TestIfElsifElse(t *testing.T) {
	src := `require "fileinto";
if header :contains "subject" "nothing" { fileinto "A"; }
elsif header :contains "subject" "acme" { fileinto "B"; }
elsif true { fileinto "C"; }
else { fileinto "D"; }`
	check(t, src, "fileinto B")
	check(t, `if false { discard; } else { redirect "a@b.c"; }`, "redirect a@b.c")
}

func TestHeaderTest(t *testing.T) {
	check(t, `if header :is "Subject" "café [acme-users] [fwd] version 1.0 is out" { discard; }`)
	check(t, `if header :is "X-Multi" "two" { discard; }`)
	check(t, `if header :contains "x-multi" "TW" { discard; }`)
	check(t, `if header :comparator "i;octet" :contains "x-multi" "TW" { discard; }`, "implicit keep")
	check(t, `if header :matches "subject" "caf? *" { discard; }`)
	check(t, `if header :matches "subject" "*1.?" { discard; }`, "implicit keep")
	check(t, `if header :matches "subject" "*1.? is out" { discard; }`)
	check(t, `if header :is "missing" "" { discard; }`, "implicit keep")
	check(t, `if not header :is "subject" "x" { discard; }`)
}

// RFC 5228 §5.7: the header test compares decoded, unfolded values. Japanese
// mail still arrives in ISO-2022-JP and Shift_JIS encoded words, often one
// word per folded line.
func TestHeaderTestDecodesJapaneseCharsets(t *testing.T) {
	msg := "From: a@example.jp\r\n" +
		"Subject: =?ISO-2022-JP?B?GyRCMnE1RCROJCpDTiRpJDsbKEI=?=\r\n" +
		"X-Sjis: =?Shift_JIS?B?jI+WvA==?=\r\n =?UTF-8?Q?x?=\r\n" +
		"\r\n" +
		"body\r\n"
	for _, tc := range []struct{ src, want string }{
		{`if header :contains "subject" "お知らせ" { discard; }`, ""},
		{`if header :is "subject" "会議のお知らせ" { discard; }`, ""},
		{`if header :is "x-sjis" "件名x" { discard; }`, ""},
		{`if header :contains "subject" "GyRC" { discard; }`, "implicit keep"},
	} {
		var want []string
		if tc.want != "" {
			want = []string{tc.want}
		}
		if got := runScript(t, tc.src, msg, testEnv()); !reflect.DeepEqual(got, want) {
			t.Errorf("script %s: got %q, want %q", tc.src, got, want)
		}
	}
}

func TestAddressTest(t *testing.T) {
	check(t, `if address :is "from" "alice+news@example.com" { discard; }`)
	check(t, `if address :localpart :is "from" "alice+news" { discard; }`)
	check(t, `if address :domain :is "to" "example.org" { discard; }`)
	check(t, `if address :all :comparator "i;octet" :is "from" "alice+news@example.com" { discard; }`, "implicit keep")
	check(t, `require "subaddress"; if address :user "from" "alice" { discard; }`)
	check(t, `require "subaddress"; if address :detail "from" "news" { discard; }`)
	check(t, `require "subaddress"; if address :detail "to" "" { discard; }`, "implicit keep")
}

func TestEnvelopeTest(t *testing.T) {
	check(t, `require "envelope"; if envelope :domain "from" "example.com" { discard; }`)
	check(t, `require ["envelope","subaddress"]; if envelope :detail "to" "work" { discard; }`)
	check(t, `require ["envelope","subaddress"]; if envelope :user "to" "me" { discard; }`)
	got := runScript(t, `require "envelope"; if envelope :localpart :is "from" "" { discard; }`, "", Env{})
	if len(got) != 0 {
		t.Errorf("null sender: got %q, want discard", got)
	}
}

func TestExistsSizeAllofAnyof(t *testing.T) {
	check(t, `if exists ["from","to"] { discard; }`)
	check(t, `if exists ["from","x-nope"] { discard; }`, "implicit keep")
	check(t, `if size :over 100 { discard; }`)
	check(t, `if size :under 1K { discard; }`)
	check(t, `if size :over 1M { discard; }`, "implicit keep")
	check(t, `if allof (true, false) { discard; }`, "implicit keep")
	check(t, `if anyof (false, true) { discard; }`)
	check(t, `if allof (true, not false) { discard; }`)
}

func TestComparatorNumeric(t *testing.T) {
	pre := `require ["relational","comparator-i;ascii-numeric"];`
	check(t, pre+`if header :value "gt" :comparator "i;ascii-numeric" "x-spam-score" "5" { discard; }`)
	check(t, pre+`if header :value "lt" :comparator "i;ascii-numeric" "x-spam-score" "5" { discard; }`, "implicit keep")
	check(t, pre+`if header :is :comparator "i;ascii-numeric" "x-spam-score" "007" { discard; }`)
	// RFC 4790 §9.1.1: a string without digits is positive infinity.
	check(t, pre+`if header :value "gt" :comparator "i;ascii-numeric" "subject" "99999" { discard; }`)
	check(t, pre+`if header :count "eq" :comparator "i;ascii-numeric" "x-multi" "2" { discard; }`)
	check(t, pre+`if address :count "ge" :comparator "i;ascii-numeric" "to" "3" { discard; }`, "implicit keep")
	check(t, pre+`if address :count "eq" :comparator "i;ascii-numeric" "to" "2" { discard; }`)
}

func TestRegex(t *testing.T) {
	pre := `require ["regex","variables","fileinto"];`
	check(t, pre+`if header :regex "subject" "version [0-9]+\\.[0-9]+" { discard; }`)
	check(t, pre+`if header :regex "subject" "^VERSION" { discard; }`, "implicit keep")
	check(t, pre+`if header :regex "subject" "\\[([a-z-]+)\\]" { fileinto "lists.${1}"; }`, "fileinto lists.acme-users")
	check(t, pre+`if header :regex :comparator "i;octet" "subject" "ACME" { discard; }`, "implicit keep")
}

func TestMatchVariables(t *testing.T) {
	// RFC 5229 §3.2's example.
	src := `require ["variables","fileinto"];
if header :matches "Subject" "café [*] *" { fileinto "lists.${1}"; fileinto "rest.${2}"; }`
	check(t, src, "fileinto lists.acme-users", "fileinto rest.[fwd] version 1.0 is out")
	check(t, `require ["variables","fileinto"]; if address :matches "from" "*+*@*" { fileinto "${2}.${3}.${0}"; }`,
		"fileinto news.Example.COM.alice+news@Example.COM")
}

func TestSetModifiers(t *testing.T) {
	pre := `require ["variables","fileinto"];`
	check(t, pre+`set "a" "Hello"; set :upper "b" "${a}"; fileinto "${b}";`, "fileinto HELLO")
	check(t, pre+`set :lower :upperfirst "b" "hELLO"; fileinto "${b}";`, "fileinto Hello")
	check(t, pre+`set :length "b" "café"; fileinto "${b}";`, "fileinto 4")
	check(t, pre+`set :quotewildcard "b" "a*b?c\\"; fileinto "${b}";`, `fileinto a\*b\?c\\`)
	check(t, pre+`set "A" "x"; fileinto "${a}-${UNKNOWN}-${not valid}";`, "fileinto x--${not valid}")
	check(t, pre+`set "s" "abc"; if string :is "${s}" "abc" { fileinto "yes"; }`, "fileinto yes")
	// RFC 5228 §2.7.3: i;ascii-casemap is the default for string too
	// (Pigeonhole 2.3 uses i;octet there; testdata/diff/README.md).
	check(t, pre+`set "s" "ABC"; if string :contains "${s}" "b" { fileinto "yes"; }`, "fileinto yes")
}

func TestImap4Flags(t *testing.T) {
	pre := `require ["imap4flags","fileinto"];`
	check(t, pre+`addflag "\\Seen";`, `implicit keep flags=[\Seen]`)
	check(t, pre+`setflag "\\Seen \\Flagged"; removeflag "\\seen"; keep;`, `keep flags=[\Flagged]`)
	check(t, pre+`addflag "A"; fileinto :flags "B" "X"; fileinto "Y"; addflag "C";`,
		"fileinto X flags=[B]", "fileinto Y flags=[A]")
	check(t, `require ["imap4flags","variables"]; addflag "v" "A"; if hasflag "v" "a" { discard; } else { keep; }`)
	check(t, pre+`if hasflag "a" { discard; }`, "implicit keep flags=[]")
}

func TestRejectAndVacation(t *testing.T) {
	check(t, `require "reject"; reject "go away";`, "reject go away")
	check(t, `require "ereject"; ereject "go away";`, "ereject go away")
	check(t, `require "vacation"; vacation :days 3 "away";`, "vacation to sender@example.com", "implicit keep")
}

func TestRejectConflictIsRuntimeError(t *testing.T) {
	s, err := Compile(`require ["reject","fileinto"]; fileinto "A"; reject "no";`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), s, ParseMessage([]byte(testMsg)), testEnv())
	if err == nil {
		t.Fatal("no error for reject after fileinto")
	}
	if want := []string{"implicit keep"}; !reflect.DeepEqual(res.Strings(), want) {
		t.Errorf("got %q, want %q", res.Strings(), want)
	}
}

func TestVacationRFC3834(t *testing.T) {
	src := `require "vacation"; vacation "away";`
	for _, tc := range []struct {
		name, extra, from string
	}{
		{"auto-submitted", "Auto-Submitted: auto-replied\r\n", "sender@example.com"},
		{"list", "List-Id: <x.example.com>\r\n", "sender@example.com"},
		{"precedence", "Precedence: bulk\r\n", "sender@example.com"},
		{"null sender", "", ""},
		{"owner", "", "owner-list@example.com"},
		{"mailer-daemon", "", "MAILER-DAEMON@example.com"},
	} {
		env := testEnv()
		env.Envelope.From = tc.from
		got := runScript(t, src, tc.extra+testMsg, env)
		if !reflect.DeepEqual(got, []string{"implicit keep"}) {
			t.Errorf("%s: got %q, want only the implicit keep", tc.name, got)
		}
	}
	// Not addressed to the user: no reply (RFC 5230 §4.5).
	env := testEnv()
	env.Envelope.To = "other@example.net"
	if got := runScript(t, src, "", env); len(got) != 1 {
		t.Errorf("not addressed to the recipient: got %q", got)
	}
	env.UserAddresses = []string{"me@example.net"}
	if got := runScript(t, src, "", env); len(got) != 2 {
		t.Errorf("addressed to an alias of the recipient: got %q", got)
	}
}

func TestBodyTest(t *testing.T) {
	check(t, `require "body"; if body :contains "meeting" { discard; }`)
	check(t, `require "body"; if body :raw :contains "MEETING" { discard; }`)
	check(t, `require "body"; if body :content "image" :contains "meeting" { discard; }`, "implicit keep")
	mp := "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gc2VjcmV0\r\n--XX\r\nContent-Type: application/octet-stream\r\n\r\nbinary\r\n--XX--\r\n"
	got := runScript(t, `require "body"; if body :text :contains "secret" { discard; }`, mp, testEnv())
	if len(got) != 0 {
		t.Errorf("decoded text part: got %q, want discard", got)
	}
}

func TestMailboxAndSpam(t *testing.T) {
	env := testEnv()
	env.MailboxExists = func(n string) bool { return n == "Lists" || n == "INBOX" }
	score := 8
	env.Spam = &SpamScore{Value: score, Percent: 80}
	virus := 5
	env.Virus = &virus
	src := `require ["mailbox","fileinto","spamtest","relational","comparator-i;ascii-numeric","virustest"];
if mailboxexists "Lists" { fileinto :create "L"; }
if mailboxexists "Nope" { fileinto "N"; }
if spamtest :value "ge" :comparator "i;ascii-numeric" "6" { fileinto "Junk"; }
if virustest :value "eq" :comparator "i;ascii-numeric" "5" { fileinto "Virus"; }`
	got := runScript(t, src, "", env)
	want := []string{"fileinto L :create", "fileinto Junk", "fileinto Virus"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMultilineStrings(t *testing.T) {
	src := "require \"reject\";\nreject text: # comment\nline one\n..dot\n.\n;\n"
	check(t, src, "reject line one\r\n.dot\r\n")
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`fileinto "x";`, "1:1: command 'fileinto' needs require \"fileinto\""},
		{`require "nope";`, "1:9: unsupported extension 'nope'"},
		{`keep`, "1:5: expected ';' or '{'"},
		{"keep;\nfrobnicate;", "2:1: unknown command 'frobnicate'"},
		{"if header :is \"a\" { keep; }", "1:4: test 'header' takes string list, string list"},
		{`if header :foo "a" "b" { keep; }`, "1:11: unknown tagged argument ':foo'"},
		{`if header :is :contains "a" "b" { keep; }`, "exclude each other"},
		{`if header :regex "a" "b" { keep; }`, "needs require \"regex\""},
		{`require "regex"; if header :regex "a" "(" { keep; }`, "invalid regular expression"},
		{`if header :contains :comparator "i;ascii-numeric" "a" "b" { keep; }`, "needs require"},
		{`require "comparator-i;ascii-numeric"; if header :contains :comparator "i;ascii-numeric" "a" "b" { keep; }`, "does not support the :contains"},
		{`keep; require "fileinto";`, "1:7: require must come before"},
		{`else { keep; }`, "'else' must follow"},
		{`redirect "not an address";`, "is not a valid address"},
		{`"x";`, "1:1: unexpected string"},
		{`keep; /* open`, "1:7: unterminated comment"},
		{`redirect "a@b.c`, "1:10: unterminated string"},
		{"require \"reject\"; reject text:\nno end\n", "1:26: unterminated text:"},
		{`if size 10 { keep; }`, "needs one of its tagged arguments"},
		{`if true { keep; `, "expected '}'"},
		{`if true keep;`, "1:4: test 'true' takes no test"},
		{`if size :over 99999999999999999999 { keep; }`, "number too large"},
		{`stop { keep; }`, "takes no block"},
		{`require "relational"; if header :value "xx" "a" "b" { keep; }`, "unknown relation"},
		{`require "variables"; set "1a" "b";`, "invalid variable name"},
		{`require "variables"; set "a" "${x.y}";`, "1:30: variable in unknown namespace 'x'"},
	} {
		_, err := Compile(tc.src)
		var se *Error
		if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%q) = %v, want an *Error containing %q", tc.src, err, tc.want)
		}
	}
}

func TestLimits(t *testing.T) {
	s, err := Compile(`redirect "a@b.c"; redirect "b@b.c"; redirect "c@b.c";`)
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv()
	env.Limits.MaxRedirects = 2
	res, err := Run(context.Background(), s, ParseMessage([]byte(testMsg)), env)
	if !errors.Is(err, ErrLimit) || !res.ImplicitKeep || len(res.Actions) != 0 {
		t.Errorf("too many redirects: err %v, result %q; want ErrLimit and only the implicit keep", err, res.Strings())
	}
	var b strings.Builder
	for i := 0; i < 500; i++ {
		b.WriteString("if true { keep; }\n")
	}
	s, err = Compile(b.String())
	if err != nil {
		t.Fatal(err)
	}
	env.Limits = Limits{MaxSteps: 100}
	if _, err := Run(context.Background(), s, ParseMessage([]byte(testMsg)), env); !errors.Is(err, ErrLimit) {
		t.Errorf("step limit: err %v, want ErrLimit", err)
	}
	if _, err := Compile(strings.Repeat("if true {", 100) + strings.Repeat("}", 100)); err == nil || !strings.Contains(err.Error(), "nesting too deep") {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestEncodedCharacter(t *testing.T) {
	check(t, `require ["encoded-character","fileinto"]; fileinto "${hex:41 42}${unicode:e9}${hex:zz}x${unicode: 263a }";`,
		"fileinto ABé${hex:zz}x☺")
	// Without the require, the text stays.
	check(t, `require "fileinto"; fileinto "${hex:41}";`, "fileinto ${hex:41}")
}

func TestVacationReply(t *testing.T) {
	s, err := Compile(`require "vacation"; vacation :days 2 :from "Me <me@example.net>" text:` + "\nI am away\nuntil Monday.\n.\n;")
	if err != nil {
		t.Fatal(err)
	}
	msg := ParseMessage([]byte("Message-ID: <orig@example.com>\r\nTo: me@example.net\r\n" + testMsg))
	res, err := Run(context.Background(), s, msg, testEnv())
	if err != nil || len(res.Actions) != 1 {
		t.Fatalf("run: %v %q", err, res.Strings())
	}
	a := res.Actions[0]
	if a.Vacation.Days != 2 || a.Vacation.To != "sender@example.com" || a.Vacation.Handle == "" {
		t.Fatalf("vacation %+v", a.Vacation)
	}
	got := string(a.Vacation.Reply(msg, "me@example.net", a.Reason, "r1@mail.example.net", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)))
	want := "From: Me <me@example.net>\r\n" +
		"To: sender@example.com\r\n" +
		"Subject: =?utf-8?q?Auto:_caf=C3=A9_[acme-users]_[fwd]_version_1.0_is_out?=\r\n" +
		"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n" +
		"Message-ID: <r1@mail.example.net>\r\n" +
		"In-Reply-To: <orig@example.com>\r\n" +
		"References: <orig@example.com>\r\n" +
		"Auto-Submitted: auto-replied (vacation)\r\n" +
		"Precedence: bulk\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"I am away\r\nuntil Monday.\r\n"
	if got != want {
		t.Errorf("reply:\n%s\nwant:\n%s", got, want)
	}
}

// TestMatchesQuestionMarkIsACharacter: "?" takes a whole UTF-8 character
// (RFC 5228 §2.7.1; Pigeonhole takes an octet, testdata/diff/README.md).
func TestMatchesQuestionMarkIsACharacter(t *testing.T) {
	check(t, `require ["variables","fileinto"]; if header :matches "subject" "caf? *" { fileinto "${1}"; }`, "fileinto é")
}

func TestCRLFScripts(t *testing.T) {
	check(t, "require \"reject\";\r\nreject text:\r\nline\r\n..\r\n.\r\n;\r\n", "reject line\r\n.\r\n")
	check(t, "require \"reject\";\r\nreject text: \t# comment\r\nx\r\n.\r\n;", "reject x\r\n")
	check(t, "# comment\r\nif true\r\n{\r\n  discard;\r\n}\r\n")
	if _, err := Compile("keep;\r\n\r\nfrob;\r\n"); err == nil || !strings.HasPrefix(err.Error(), "3:1:") {
		t.Errorf("position across CRLF lines: %v", err)
	}
}
