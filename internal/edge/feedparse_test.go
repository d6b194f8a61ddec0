package edge

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store"
)

func feedSample() []store.PoolPrefix {
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	return []store.PoolPrefix{
		{Pool: "dyn-east", Kind: store.PoolDynamic, Prefix: netip.MustParsePrefix("10.1.0.0/16"), Added: at},
		{Pool: "fixed", Kind: store.PoolStatic, Prefix: netip.MustParsePrefix("10.1.5.0/24"), Added: at},
		{Pool: "dyn-v6", Kind: store.PoolDynamic, Prefix: netip.MustParsePrefix("2001:db8:10::/48"), Added: at},
	}
}

// TestParseFeedReadsWhatWriteFeedWrites: every published format, told
// apart by content or named, reads back to the dynamic prefixes.
func TestParseFeedReadsWhatWriteFeedWrites(t *testing.T) {
	// 10.1.0.0/16 less its static 10.1.5.0/24
	var want []netip.Prefix
	for _, s := range []string{"10.1.0.0/22", "10.1.4.0/24", "10.1.6.0/23", "10.1.8.0/21", "10.1.16.0/20", "10.1.32.0/19", "10.1.64.0/18", "10.1.128.0/17", "2001:db8:10::/48"} {
		want = append(want, netip.MustParsePrefix(s))
	}
	for _, format := range []string{"txt", "csv", "json"} {
		var buf bytes.Buffer
		if err := WriteFeed(&buf, format, Feed(Compile(&store.EdgeSnapshot{Prefixes: feedSample()}, nil, time.Now()))); err != nil {
			t.Fatal(err)
		}
		for _, as := range []string{format, ""} {
			got, err := ParseFeed(buf.Bytes(), as)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("%s read as %q: %v, %v; want %v", format, as, got, err, want)
			}
		}
	}
}

func TestParseFeedRefusesBadInput(t *testing.T) {
	for _, c := range []struct{ data, format, want string }{
		{"10.0.0.0/8\nnot-a-prefix\n", "", "entry 2"},
		{"10.0.0.0/33\n", "txt", "prefix"},
		{"10.0.0.0/8 10.1.0.0/16\n", "txt", "line 1"},
		{"pool,family\nx,ipv4\n", "", "no prefix column"},
		{`[{"prefix": 7}]`, "", "json"},
		{`{"prefix": "10.0.0.0/8"}`, "json", "array"},
		{"10.0.0.0/8", "xml", "want txt, csv or json"},
	} {
		if _, err := ParseFeed([]byte(c.data), c.format); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFeed(%q, %q) = %v; want an error mentioning %q", c.data, c.format, err, c.want)
		}
	}
	got, err := ParseFeed([]byte("# comment\n\n192.0.2.1 # one host\n10.1.2.3/8\n10.0.0.0/8\n::ffff:10.0.0.0/104\n"), "")
	if err != nil || !slices.Equal(got, []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("10.0.0.0/8")}) {
		t.Fatalf("comments, bare address, masking, v4-mapped duplicate: %v, %v", got, err)
	}
}

// FuzzParseFeed: no input crashes the parser, and whatever it accepts is
// valid, masked, unique and survives WriteFeed then ParseFeed again.
func FuzzParseFeed(f *testing.F) {
	for _, format := range []string{"txt", "csv", "json"} {
		var buf bytes.Buffer
		WriteFeed(&buf, format, Feed(Compile(&store.EdgeSnapshot{Prefixes: feedSample()}, nil, time.Now())))
		f.Add(buf.Bytes(), format)
		f.Add(buf.Bytes(), "")
	}
	f.Add([]byte("prefix\n\"10.0.0.0/8\"\n"), "")
	f.Add([]byte("[]"), "json")
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		ps, err := ParseFeed(data, format)
		if err != nil {
			return
		}
		seen := map[netip.Prefix]bool{}
		var es []FeedEntry
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || seen[p] {
				t.Fatalf("accepted %v: not a valid, masked, unmapped, unique prefix", p)
			}
			seen[p] = true
			es = append(es, FeedEntry{Prefix: p.String()})
		}
		var buf bytes.Buffer
		if err := WriteFeed(&buf, "csv", es); err != nil {
			t.Fatal(err)
		}
		again, err := ParseFeed(buf.Bytes(), "csv")
		if err != nil || !slices.Equal(again, ps) {
			t.Fatalf("round trip: %v, %v; want %v", again, err, ps)
		}
	})
}
