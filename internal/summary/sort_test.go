package summary

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"mailgate/internal/mailbox"
)

// sortFolder is six messages appended in sequence order 1 to 6, each with
// its own internal date (arrival), size, and header fields: Japanese
// names and subjects in ISO-2022-JP encoded words, a missing Date, a
// Date that does not parse, equal keys to break by sequence number.
func sortFolder(t *testing.T) (*mailbox.Folder, []mailbox.Message) {
	t.Helper()
	const (
		yamada = "=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=" // 山田
		sato   = "=?ISO-2022-JP?B?GyRCOjRGIxsoQg==?=" // 佐藤
		ringo  = "=?ISO-2022-JP?B?GyRCJGokcyQ0GyhC?=" // りんご
		mikan  = "=?ISO-2022-JP?B?GyRCJF8kKyRzGyhC?=" // みかん
	)
	msgs := []struct {
		hdr     string
		arrival string // 2 March 2026, UTC
		body    int
	}{
		{"From: Zed <alice@x.jp>\nTo: bob@y.jp\nCc: dave@z.jp\nSubject: Re: Banana\nDate: Mon, 2 Mar 2026 10:00:00 +0000\n", "12:00", 500},
		{"From: bob@x.jp\nTo: Alice <zoe@y.jp>\nCc: carol@z.jp, aaron@z.jp\nSubject: apple\n", "08:00", 3000},
		{"From: " + yamada + " <yamada@x.jp>\nTo: " + sato + " <sato@y.jp>\nSubject: [ml] Re: " + ringo + "\nDate: Mon, 2 Mar 2026 18:00:00 +0900\n", "10:00", 1500},
		{"From: ALICE@x.jp\nTo: carol@y.jp\nCc: bob@z.jp\nSubject: BANANA (fwd)\nDate: not a date\n", "11:00", 200},
		{"From: " + sato + " <sato@x.jp>\nTo: " + yamada + " <yamada@y.jp>\nSubject: Re: " + mikan + "\nDate: Mon, 2 Mar 2026 10:00:00 +0000\n", "09:00", 2500},
		{"Date: Mon, 2 Mar 2026 07:00:00 +0000\n", "13:00", 0},
	}
	f, err := mailbox.OpenFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for _, m := range msgs {
		at, err := time.Parse(time.DateOnly+" 15:04", "2026-03-02 "+m.arrival)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.ReplaceAll(m.hdr+"\n", "\n", "\r\n") + strings.Repeat("x", m.body)
		if _, err := f.Append(strings.NewReader(body), "", at); err != nil {
			t.Fatal(err)
		}
	}
	return f, f.Snapshot()
}

// TestSortOrders: each SORT key, REVERSE, and several keys, in the exact
// order RFC 5256 §3 and RFC 5957 §3 give, as sequence numbers.
func TestSortOrders(t *testing.T) {
	f, msgs := sortFolder(t)
	for _, tc := range []struct {
		name     string
		criteria []Criterion
		want     []int
	}{
		{"ARRIVAL", []Criterion{{Key: Arrival}}, []int{2, 5, 3, 4, 1, 6}},
		{"REVERSE ARRIVAL", []Criterion{{Key: Arrival, Reverse: true}}, []int{6, 1, 4, 3, 5, 2}},
		// §2.2: 2 has no Date and 4 one that does not parse: their
		// internal dates (08:00, 11:00). 1 and 5 were sent at the same
		// time: by sequence number, in both directions.
		{"DATE", []Criterion{{Key: Date}}, []int{6, 2, 3, 1, 5, 4}},
		{"REVERSE DATE", []Criterion{{Key: Date, Reverse: true}}, []int{4, 1, 5, 3, 2, 6}},
		{"SIZE", []Criterion{{Key: Size}}, []int{6, 4, 1, 3, 5, 2}},
		// §2.1: "Re:", "[ml] Re:", "(fwd)" removed; case folded, so 1
		// and 4 tie; no Subject is "" and first; みかん before りんご.
		{"SUBJECT", []Criterion{{Key: Subject}}, []int{6, 2, 1, 4, 5, 3}},
		{"REVERSE SUBJECT", []Criterion{{Key: Subject, Reverse: true}}, []int{3, 5, 1, 4, 2, 6}},
		// The local part only: alice and ALICE tie.
		{"FROM", []Criterion{{Key: From}}, []int{6, 1, 4, 2, 5, 3}},
		{"TO", []Criterion{{Key: To}}, []int{6, 1, 4, 3, 5, 2}},
		// The first Cc address only (2's carol, not aaron); none is "".
		{"CC", []Criterion{{Key: Cc}}, []int{3, 5, 6, 4, 2, 1}},
		// The display name, else the address: "ALICE@x.jp", "bob@x.jp",
		// "Zed", 佐藤, 山田.
		{"DISPLAYFROM", []Criterion{{Key: DisplayFrom}}, []int{6, 4, 2, 1, 5, 3}},
		{"DISPLAYTO", []Criterion{{Key: DisplayTo}}, []int{6, 2, 1, 4, 3, 5}},
		{"SUBJECT REVERSE DATE", []Criterion{{Key: Subject}, {Key: Date, Reverse: true}}, []int{6, 2, 4, 1, 5, 3}},
		{"FROM REVERSE ARRIVAL", []Criterion{{Key: From}, {Key: Arrival, Reverse: true}}, []int{6, 1, 4, 2, 5, 3}},
		// A key again decides nothing: the first DATE left only ties.
		{"DATE REVERSE DATE ARRIVAL", []Criterion{{Key: Date}, {Key: Date, Reverse: true}, {Key: Arrival}}, []int{6, 2, 3, 5, 1, 4}},
		{"REVERSE FROM REVERSE ARRIVAL", []Criterion{{Key: From, Reverse: true}, {Key: Arrival, Reverse: true}}, []int{3, 5, 2, 1, 4, 6}},
	} {
		var got []int
		for _, i := range Sort(f, msgs, tc.criteria) {
			got = append(got, i+1)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSortSubset: a SEARCH result (some of the folder's messages) sorts
// among itself, positions in the subset.
func TestSortSubset(t *testing.T) {
	f, msgs := sortFolder(t)
	sub := []mailbox.Message{msgs[4], msgs[0], msgs[2]}
	if got := fmt.Sprint(Sort(f, sub, []Criterion{{Key: Subject}})); got != "[1 0 2]" {
		t.Errorf("got %s", got)
	}
	if got := fmt.Sprint(Sort(f, nil, []Criterion{{Key: Subject}})); got != "[]" {
		t.Errorf("empty: got %s", got)
	}
}

func TestSortKeys(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{MailboxKey("Alice@Example.JP"), "ALICE"},
		{MailboxKey(`"a@b"@c`), `"A@B"`},
		{MailboxKey(""), ""},
		{DisplayKey(" ﾔﾏﾀﾞ "), DisplayKey("ヤマダ")}, // NFKD: half-width kana are their full-width forms
		{SubjectKey("Re: [ml] Fwd: ＭＴＧ (fwd)"), "MTG"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
