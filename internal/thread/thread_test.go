package thread

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// msg is message n sent n hours after t0 unless at says otherwise.
func msg(n uint32, id, refs, subject string) Message {
	return Message{Num: n, MessageID: id, References: refs, Subject: subject, Date: t0.Add(time.Duration(n) * time.Hour)}
}

func TestReferences(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []Message
		want string
	}{
		{"chain", []Message{
			msg(1, "<a@x>", "", "hi"),
			msg(2, "<b@x>", "<a@x>", "Re: hi"),
			msg(3, "<c@x>", "<a@x> <b@x>", "Re: hi"),
		}, "(1 2 3)"},
		{"two answers to one", []Message{
			msg(1, "<a@x>", "", "hi"),
			msg(2, "<b@x>", "<a@x>", "Re: hi"),
			msg(3, "<c@x>", "<a@x>", "Re: hi"),
			msg(4, "<d@x>", "<a@x> <c@x>", "Re: hi"),
		}, "(1 (2)(3 4))"},
		// §3 step 4: the dummy of a missing parent with one child goes;
		// with two at the top it stays, shown as nothing.
		{"missing parent, one reply", []Message{
			msg(1, "<b@x>", "<gone@x>", "Re: a"),
		}, "(1)"},
		{"missing parent, two replies", []Message{
			msg(1, "<b@x>", "<gone@x>", "Re: a"),
			msg(2, "<c@x>", "<gone@x>", "Re: a"),
		}, "((1)(2))"},
		{"missing middle", []Message{
			msg(1, "<a@x>", "", "a"),
			msg(2, "<c@x>", "<a@x> <gone@x>", "Re: a"),
		}, "(1 2)"},
		// §3 step 1A: no link that makes a loop. Message 2 claims 1 as
		// its parent, 1 already hangs under 2.
		{"reference loop", []Message{
			msg(1, "<a@x>", "<b@x>", "loop"),
			msg(2, "<b@x>", "<a@x>", "loop"),
		}, "(2 1)"},
		{"references itself", []Message{
			msg(1, "<a@x>", "<a@x>", "self"),
		}, "(1)"},
		{"loop inside one References", []Message{
			msg(1, "<a@x>", "", "x"),
			msg(2, "<b@x>", "<a@x> <c@x> <a@x>", "y"),
		}, "(1 2)"},
		// §3 step 1: a duplicate Message-ID is a message of its own.
		{"duplicate Message-ID", []Message{
			msg(1, "<a@x>", "", "one"),
			msg(2, "<a@x>", "", "two"),
		}, "(1)(2)"},
		{"no Message-ID", []Message{
			msg(1, "", "", "one"),
			msg(2, "garbage", "", "two"),
		}, "(1)(2)"},
		{"In-Reply-To without References", []Message{
			msg(1, "<a@x>", "", "a"),
			{Num: 2, MessageID: "<b@x>", InReplyTo: "<a@x> (sent by bob)", Subject: "x", Date: t0.Add(5 * time.Hour)},
		}, "(1 2)"},
		// §3 step 5: roots with the same base subject merge: a reply
		// under the original, two originals under a dummy.
		{"subject: reply joins original", []Message{
			msg(1, "<a@x>", "", "Lunch"),
			msg(2, "<b@x>", "", "Re: lunch"),
		}, "(1 2)"},
		{"subject: reply before original", []Message{
			msg(2, "<b@x>", "", "RE: [team] Lunch"),
			msg(1, "<a@x>", "", "Lunch"),
		}, "(1 2)"},
		{"subject: two originals", []Message{
			msg(1, "<a@x>", "", "Lunch"),
			msg(2, "<b@x>", "", "lunch"),
		}, "((1)(2))"},
		{"subject: dummy takes messages", []Message{
			msg(1, "<b@x>", "<gone@x>", "Re: plan"),
			msg(2, "<c@x>", "<gone@x>", "Re: plan"),
			msg(3, "<d@x>", "", "plan"),
		}, "((1)(2)(3))"},
		// §3 step 4's top-level sort comes before the subject table: a
		// dummy's subject is its oldest child's, here "bar".
		{"subject: dummy by its oldest child", []Message{
			{Num: 1, MessageID: "<b@x>", References: "<gone@x>", Subject: "Re: foo", Date: t0.Add(5 * time.Hour)},
			{Num: 2, MessageID: "<c@x>", References: "<gone@x>", Subject: "Re: bar", Date: t0.Add(1 * time.Hour)},
			{Num: 3, MessageID: "<d@x>", Subject: "bar", Date: t0.Add(2 * time.Hour)},
		}, "((2)(3)(1))"},
		{"subject: empty never merges", []Message{
			msg(1, "<a@x>", "", ""),
			msg(2, "<b@x>", "", "Re:"),
		}, "(1)(2)"},
		// §3 step 6: siblings and threads by sent date, then number.
		{"sorted by date", []Message{
			{Num: 1, MessageID: "<a@x>", Subject: "late", Date: t0.Add(10 * time.Hour)},
			{Num: 2, MessageID: "<b@x>", Subject: "early", Date: t0},
			{Num: 3, MessageID: "<c@x>", References: "<a@x>", Subject: "Re: late", Date: t0.Add(12 * time.Hour)},
			{Num: 4, MessageID: "<d@x>", References: "<a@x>", Subject: "Re: late", Date: t0.Add(11 * time.Hour)},
		}, "(2)(1 (4)(3))"},
		{"same date by number", []Message{
			{Num: 7, MessageID: "<a@x>", Subject: "a", Date: t0},
			{Num: 5, MessageID: "<b@x>", Subject: "b", Date: t0},
		}, "(5)(7)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Format(References(tc.msgs)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestOrderedSubject(t *testing.T) {
	msgs := []Message{
		msg(1, "", "", "b"),
		msg(2, "", "", "a"),
		msg(3, "", "", "Re: b"),
		msg(4, "", "", "c"),
		msg(5, "", "", "Fwd: B"),
		msg(6, "", "", "re: a"),
	}
	// Threads by their first message's date; the rest of a subject are
	// the first one's children.
	if got, want := Format(OrderedSubject(msgs)), "(1 (3)(5))(2 6)(4)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestBaseSubject(t *testing.T) {
	for _, tc := range []struct {
		in    string
		base  string
		reply bool
	}{
		{"Hello", "HELLO", false},
		{"Re: Hello", "HELLO", true},
		{"re : hello", "HELLO", true},
		{"Re[2]: hello", "HELLO", true},
		{"RE: Fwd: Fw: hello", "HELLO", true},
		{"[list] Re: hello", "HELLO", true},
		{"[list] hello", "HELLO", false},
		{"[only a blob]", "[ONLY A BLOB]", false},
		{"hello (fwd)", "HELLO", true},
		{"hello (FWD) (fwd)  ", "HELLO", true},
		{"[Fwd: Re: hello]", "HELLO", true},
		{"  many \t  spaces\r\n here ", "MANY SPACES HERE", false},
		{"Re:", "", true},
		{"Reply to this", "REPLY TO THIS", false},
		{"Fwdx: no", "FWDX: NO", false},
	} {
		base, reply := BaseSubject(tc.in)
		if base != tc.base || reply != tc.reply {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tc.in, base, reply, tc.base, tc.reply)
		}
	}
	// i;unicode-casemap (RFC 5051 §2): half-width kana, full-width
	// letters, lower case and composed or decomposed voiced marks compare
	// as one subject; a different word does not.
	for _, same := range [][2]string{
		{"Re: ﾃｽﾄ", "テスト"},
		{"ＭＴＧ のご案内", "mtg のご案内"},
		{"ご案内", "こ\u3099案内"},
	} {
		a, _ := BaseSubject(same[0])
		b, _ := BaseSubject(same[1])
		if a != b {
			t.Errorf("BaseSubject(%q) = %q, BaseSubject(%q) = %q: want one subject", same[0], a, same[1], b)
		}
	}
	if a, _ := BaseSubject("テスト"); a == func() string { b, _ := BaseSubject("テキスト"); return b }() {
		t.Error("two different subjects folded into one")
	}
}

// TestHostileReferences: a References field of 100,000 IDs keeps its last
// MaxReferences; a 20,000-message chain and a References ring finish and
// keep every message exactly once.
func TestHostileReferences(t *testing.T) {
	var b strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&b, "<%d@x> ", i)
	}
	ids := MessageIDs(b.String(), MaxReferences)
	if len(ids) != MaxReferences || ids[len(ids)-1] != "<99999@x>"[1:len("<99999@x>")-1] {
		t.Fatalf("got %d ids ending %q", len(ids), ids[len(ids)-1])
	}
	var msgs []Message
	for i := range 20000 {
		msgs = append(msgs, msg(uint32(i+1), fmt.Sprintf("<%d@x>", i), fmt.Sprintf("<%d@x>", i-1), "chain"))
	}
	// A ring: every message references the next.
	for i := range 1000 {
		msgs = append(msgs, msg(uint32(20001+i), fmt.Sprintf("<r%d@x>", i), fmt.Sprintf("<r%d@x>", (i+1)%1000), "ring"))
	}
	checkAllOnce(t, msgs, References(msgs))
	checkAllOnce(t, msgs, OrderedSubject(msgs))
}

// checkAllOnce: every message is in the threads exactly once, and a dummy
// has at least two children (one would have been promoted).
func checkAllOnce(t *testing.T, msgs []Message, threads []*Node) {
	t.Helper()
	seen := map[uint32]int{}
	var walk func(n *Node)
	walk = func(n *Node) {
		if n.Num == 0 && len(n.Children) < 2 {
			t.Errorf("dummy with %d children", len(n.Children))
		}
		seen[n.Num]++
		for _, c := range n.Children {
			walk(c)
		}
	}
	for _, n := range threads {
		walk(n)
	}
	delete(seen, 0)
	want := map[uint32]bool{}
	for _, m := range msgs {
		want[m.Num] = true
	}
	if len(seen) != len(want) {
		t.Errorf("%d messages in threads, want %d", len(seen), len(want))
	}
	for n, k := range seen {
		if k != 1 || !want[n] {
			t.Errorf("message %d seen %d times", n, k)
		}
	}
}

// FuzzThread: whatever the headers say, both algorithms keep every
// message exactly once and Format balances its parentheses.
func FuzzThread(f *testing.F) {
	f.Add("<a@x>|||hi\n<b@x>|<a@x>||Re: hi\n<c@x>|<b@x> <a@x>|<b@x>|Re: [l] hi (fwd)")
	f.Add("<a@x>|<b@x>||x\n<b@x>|<a@x>||x\n<a@x>|||[fwd: x]")
	f.Add("<<a>>|<a> <a> <a>|<|Re: Re: Re:\n|||")
	f.Fuzz(func(t *testing.T, data string) {
		var msgs []Message
		for i, line := range strings.Split(data, "\n") {
			if i >= 200 {
				break
			}
			f := strings.SplitN(line, "|", 4)
			for len(f) < 4 {
				f = append(f, "")
			}
			msgs = append(msgs, Message{Num: uint32(i + 1), MessageID: f[0], References: f[1], InReplyTo: f[2], Subject: f[3], Date: t0.Add(time.Duration(len(f[3])%3) * time.Hour)})
		}
		for _, threads := range [][]*Node{References(msgs), OrderedSubject(msgs)} {
			checkAllOnce(t, msgs, threads)
			depth := 0
			for _, c := range Format(threads) {
				switch c {
				case '(':
					depth++
				case ')':
					depth--
				}
				if depth < 0 {
					t.Fatal("unbalanced")
				}
			}
			if depth != 0 {
				t.Fatal("unbalanced")
			}
		}
	})
}

// BenchmarkReferences100k threads a 100,000-message folder of 20,000
// five-message conversations, every reply with a full References chain.
func BenchmarkReferences100k(b *testing.B) {
	var msgs []Message
	for i := range 100000 {
		conv, k := i/5, i%5
		var refs []string
		for j := range k {
			refs = append(refs, fmt.Sprintf("<%d.%d@x>", conv, j))
		}
		subject := fmt.Sprintf("topic %d", conv)
		if k > 0 {
			subject = "Re: " + subject
		}
		msgs = append(msgs, Message{Num: uint32(i + 1), MessageID: fmt.Sprintf("<%d.%d@x>", conv, k), References: strings.Join(refs, " "), Subject: subject, Date: t0.Add(time.Duration(i) * time.Minute)})
	}
	b.ResetTimer()
	for range b.N {
		if n := len(References(msgs)); n != 20000 {
			b.Fatalf("%d threads", n)
		}
	}
}
