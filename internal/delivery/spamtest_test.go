package delivery

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailgate/internal/mailbox"
	"mailgate/internal/sieve"
	"mailgate/internal/spool"
)

// TestSpamScore: spamtest's scale (RFC 5235 §3.2, §3.3) from the MX's
// X-Spam-Score relative to X-Spam-Status required=.
func TestSpamScore(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		junk         bool
		value, pct   int // value 0: not tested (nil)
	}{
		{"not scanned", "", false, 0, 0},
		{"not scanned but judged spam", "", true, 10, 100},
		{"zero score", "X-Spam-Status: No, score=0.0 required=5.0 tests=none\r\nX-Spam-Score: 0\r\n", false, 1, 0},
		{"two of five", "X-Spam-Status: No, score=2.0 required=5.0 tests=A\r\nX-Spam-Score: 2\r\n", false, 4, 40},
		{"four of five", "X-Spam-Status: No, score=4.4 required=5.0 tests=A\r\nX-Spam-Score: 4\r\n", false, 8, 80},
		{"at the threshold", "X-Spam-Status: Yes, score=5.0 required=5.0 tests=A\r\nX-Spam-Score: 5\r\n", false, 10, 100},
		{"past the threshold", "X-Spam-Status: Yes, score=31.0 required=6.0 tests=A,B\r\nX-Spam-Score: 31\r\n", false, 10, 100},
		{"folded status", "X-Spam-Status: No, score=3.0\r\n\trequired=12.0 tests=A\r\nX-Spam-Score: 3\r\n", false, 3, 25},
		{"junk wins over a low score", "X-Spam-Status: No, score=1.0 required=5.0 tests=A\r\nX-Spam-Score: 1\r\n", true, 10, 100},
		{"the first field counts", "X-Spam-Status: No, score=1.0 required=10.0 tests=A\r\nX-Spam-Score: 1\r\nX-Spam-Score: 9\r\n", false, 1, 10},
		{"unchecked", "X-Spam-Flag: UNCHECKED\r\nX-Spam-Status: Unchecked, rspamd unavailable\r\n", false, 0, 0},
		{"score without status", "X-Spam-Score: 3\r\n", false, 0, 0},
		{"negative score", "X-Spam-Status: No, score=-1.0 required=5.0 tests=A\r\nX-Spam-Score: -1\r\n", false, 0, 0},
		{"zero threshold", "X-Spam-Status: No, score=1.0 required=0.0 tests=A\r\nX-Spam-Score: 1\r\n", false, 0, 0},
		{"NaN threshold", "X-Spam-Status: No, score=1.0 required=NaN tests=A\r\nX-Spam-Score: 1\r\n", false, 0, 0},
		{"huge score", "X-Spam-Status: No, score=1.0 required=5.0 tests=A\r\nX-Spam-Score: 99999999999999999999\r\n", false, 0, 0},
	} {
		msg := sieve.ParseMessage([]byte(tc.header + "Subject: s\r\n\r\nbody\r\n"))
		got := spamScore(msg, tc.junk)
		switch {
		case tc.value == 0 && got != nil:
			t.Errorf("%s: got %+v, want not tested", tc.name, *got)
		case tc.value != 0 && (got == nil || got.Value != tc.value || got.Percent != tc.pct):
			t.Errorf("%s: got %+v, want value %d, percent %d", tc.name, got, tc.value, tc.pct)
		}
	}
}

// TestVirusScore: virustest is 1 for "X-Virus-Scan: clean", else not
// tested (RFC 5235 §3.3).
func TestVirusScore(t *testing.T) {
	for header, want := range map[string]int{
		"":                                 0,
		"X-Virus-Scan: clean (clamav)\r\n": 1,
		"X-Virus-Scan: unchecked, over the limit\r\n": 0,
	} {
		got := virusScore(sieve.ParseMessage([]byte(header + "Subject: s\r\n\r\nbody\r\n")))
		if (want == 0) != (got == nil) || (got != nil && *got != want) {
			t.Errorf("%q: got %v, want %d", header, got, want)
		}
	}
}

// TestSieveSpamtestReadsTheScore: a script sees the scan's score and
// virus result through spamtest :percent and virustest.
func TestSieveSpamtestReadsTheScore(t *testing.T) {
	a, sp := sieveAgent(t, scriptMap{"bob@ours.example": `require ["spamtest","spamtestplus","virustest","fileinto","relational","comparator-i;ascii-numeric"];
if allof (spamtest :percent :value "eq" :comparator "i;ascii-numeric" "40",
          virustest :value "eq" :comparator "i;ascii-numeric" "1") { fileinto "Maybe"; }`})
	mailbox.CreateFolder(boxDir(t, a.Local.MailRoot, "bob@ours.example"), "Maybe")
	env := &spool.Envelope{From: "x@else.example", To: []string{"bob@ours.example"}, Received: time.Now(), Origin: "mx"}
	body := "X-Virus-Scan: clean (clamav)\r\nX-Spam-Flag: NO\r\nX-Spam-Status: No, score=2.0 required=5.0 tests=A\r\nX-Spam-Score: 2\r\nSubject: s\r\n\r\nx\r\n"
	if err := sp.Put(env, []byte(body)); err != nil {
		t.Fatal(err)
	}
	a.process(context.Background(), env.ID)
	if got := strings.Join(stored(t, a.Local.MailRoot, "bob@ours.example"), ","); got != "Maybe:1" {
		t.Errorf("stored %q, want Maybe:1", got)
	}
}

// FuzzSpamScore: any header gives "not tested" or a value on RFC 5235's
// scales, never a panic.
func FuzzSpamScore(f *testing.F) {
	f.Add("X-Spam-Status: No, score=2.0 required=5.0 tests=A\r\nX-Spam-Score: 2\r\nX-Virus-Scan: clean\r\n")
	f.Add("X-Spam-Status: Yes, required=1e308\r\nX-Spam-Score: 2147483647\r\n")
	f.Add("X-Spam-Status: required=-0\r\nX-Spam-Score: 00\r\n")
	f.Fuzz(func(t *testing.T, header string) {
		msg := sieve.ParseMessage([]byte(header + "\r\n\r\nbody\r\n"))
		if s := spamScore(msg, false); s != nil && (s.Value < 1 || s.Value > 10 || s.Percent < 0 || s.Percent > 100) {
			t.Fatalf("%q: %+v off the scale", header, *s)
		}
		if v := virusScore(msg); v != nil && *v != 1 {
			t.Fatalf("%q: virustest %d", header, *v)
		}
	})
}
