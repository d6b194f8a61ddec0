package edge

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store"
)

// readFlows reads every flow of text; err is the reader's stopping error.
func readFlows(t testing.TB, text string) ([]Flow, *FlowReader, error) {
	t.Helper()
	fr := NewFlowReader(strings.NewReader(text))
	var out []Flow
	for {
		f, err := fr.Next()
		if err == io.EOF {
			return out, fr, nil
		}
		if err != nil {
			return out, fr, err
		}
		out = append(out, f)
	}
}

// flowText is a compact form for comparing flows.
func flowText(fs []Flow) string {
	var b strings.Builder
	for _, f := range fs {
		if !f.TCP {
			b.WriteString("other\n")
			continue
		}
		fmt.Fprintf(&b, "%s %s %d\n", f.Src, f.Dst, f.Port)
	}
	return b.String()
}

func TestFlowReaderPlain(t *testing.T) {
	in := "\uFEFF# flows from the BNG, one a line\r\n" +
		"10.0.0.1 192.0.2.9\r\n" +
		"\r\n" +
		"10.0.0.2,192.0.2.9,587  # a submission\r\n" +
		"  10.0.0.3\t192.0.2.10\t25\r\n" +
		"2001:db8::1 , 2001:db8:ffff::25 , 25\n" +
		"::ffff:10.0.0.1 192.0.2.9\n" + // the same source as 10.0.0.1
		"10.0.0.4 192.0.2.11" // no final line ending
	fs, fr, err := readFlows(t, in)
	if err != nil {
		t.Fatal(err)
	}
	want := "10.0.0.1 192.0.2.9 25\n10.0.0.2 192.0.2.9 587\n10.0.0.3 192.0.2.10 25\n2001:db8::1 2001:db8:ffff::25 25\n10.0.0.1 192.0.2.9 25\n10.0.0.4 192.0.2.11 25\n"
	if got := flowText(fs); got != want {
		t.Errorf("flows:\n%s\nwant:\n%s", got, want)
	}
	if fr.Format() != FlowPlain || fr.Malformed != 0 {
		t.Errorf("format %q, %d malformed %v", fr.Format(), fr.Malformed, fr.Errors)
	}
}

// TestFlowReaderNfdump reads what nfdump 1.7.1 (Debian 12) printed for
// `nfdump -r FILE -o csv` of flows nfpcapd made from a capture: TCP to
// 25 and 587, UDP to 25, IPv6, and the summary after the flows.
func TestFlowReaderNfdump(t *testing.T) {
	raw, err := os.ReadFile("testdata/nfdump-1.7.1.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := "198.51.100.7 203.0.113.9 25\nother\n198.51.100.7 203.0.113.10 25\n198.51.100.8 192.0.2.25 25\n" +
		"198.51.100.9 203.0.113.9 587\n2001:db8:1234:5678:9abc:def0:1234:5678 2001:db8::25 25\n"
	for name, text := range map[string]string{
		"as printed": string(raw),
		"CRLF + BOM": "\uFEFF" + strings.ReplaceAll(string(raw), "\n", "\r\n"),
	} {
		fs, fr, err := readFlows(t, text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := flowText(fs); got != want {
			t.Errorf("%s: flows:\n%s\nwant:\n%s", name, got, want)
		}
		if fr.Format() != FlowNfdump || fr.Malformed != 0 {
			t.Errorf("%s: format %q, %d malformed %v", name, fr.Format(), fr.Malformed, fr.Errors)
		}
		if got := fs[0].Seen; !got.Equal(time.Date(2025, 12, 2, 4, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: ts read as %v", name, got)
		}
	}
}

// TestFlowReaderNfdumpNoFlows: what nfdump 1.7.1 prints when its filter
// matched nothing ("No matching flows", then the summary) is no flows,
// nothing malformed.
func TestFlowReaderNfdumpNoFlows(t *testing.T) {
	raw, err := os.ReadFile("testdata/nfdump-1.7.1-empty.csv")
	if err != nil {
		t.Fatal(err)
	}
	fs, fr, err := readFlows(t, string(raw))
	if err != nil || len(fs) != 0 || fr.Malformed != 0 || fr.Format() != FlowNfdump {
		t.Errorf("%d flows, %v, %d malformed %v, format %q", len(fs), err, fr.Malformed, fr.Errors, fr.Format())
	}
}

// TestFlowReaderNfdumpColumnsByName: the columns are found by the
// header's names, and a proto number 6 is TCP.
func TestFlowReaderNfdumpColumnsByName(t *testing.T) {
	in := "ts,te,td,pr,da,sa,dp\n2026-01-02 03:04:05.678,x,0,6,192.0.2.1,10.0.0.1,25\n2026-01-02 03:04:05,x,0,17,192.0.2.1,10.0.0.1,25\n"
	fs, _, err := readFlows(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := flowText(fs); got != "10.0.0.1 192.0.2.1 25\nother\n" {
		t.Errorf("flows:\n%s", got)
	}
	if want := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC); !fs[0].Seen.Equal(want) {
		t.Errorf("ts %v, want %v", fs[0].Seen, want)
	}
	if _, _, err := readFlows(t, "ts,te,td,sp,dp,pr\n"); err == nil || !strings.Contains(err.Error(), "line 1: nfdump CSV header without the columns sa, da, dp and pr") {
		t.Errorf("header without sa/da: %v", err)
	}
}

func TestFlowReaderMalformedLines(t *testing.T) {
	in := "10.0.0.1 192.0.2.9\n" +
		"10.0.0.x 192.0.2.9\n" + // 2
		"10.0.0.1 2001:db8::1\n" + // 3
		"10.0.0.1 192.0.2.9 0\n" + // 4
		"10.0.0.1\n" + // 5
		strings.Repeat("1", MaxFlowLine+1) + "\n" + // 6
		"10.0.0.1 192.0.2.9 25 extra\n" + // 7
		"10.0.0.1 192.0.2.9 65536\n" + // 8: counted, not kept
		"10.0.0.2 192.0.2.9 25\n"
	fs, fr, err := readFlows(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := flowText(fs); got != "10.0.0.1 192.0.2.9 25\n10.0.0.2 192.0.2.9 25\n" {
		t.Errorf("flows:\n%s", got)
	}
	if fr.Malformed != 7 {
		t.Errorf("%d malformed, want 7", fr.Malformed)
	}
	var got []string
	for _, e := range fr.Errors {
		got = append(got, e.String())
	}
	want := []string{
		`line 2: SRC "10.0.0.x": not an IP address`,
		`line 3: SRC 10.0.0.1 and DST 2001:db8::1 are of different families: no TCP connection joins them`,
		`line 4: PORT "0": want 1-65535`,
		`line 5: want SRC DST [PORT], not 1 fields`,
		fmt.Sprintf("line 6: longer than %d bytes", MaxFlowLine),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// nfdump lines: a short line, a bad address; the summary ends it.
	raw, _ := os.ReadFile("testdata/nfdump-1.7.1.csv")
	lines := strings.SplitAfter(string(raw), "\n")
	text := lines[0] + "2025-12-02 04:00:00,x,0\n" + strings.Replace(lines[1], "198.51.100.7", "198.51.100.777", 1) + strings.Join(lines[2:], "")
	fs, fr, err = readFlows(t, text)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 5 || fr.Malformed != 2 || fr.Errors[0].String() != "line 2: 3 fields, the header has 48" ||
		fr.Errors[1].String() != `line 3: SRC "198.51.100.777": not an IP address` {
		t.Errorf("%d flows, %d malformed: %v", len(fs), fr.Malformed, fr.Errors)
	}
}

func TestFlowReaderUnknownFormat(t *testing.T) {
	for in, want := range map[string]string{
		"\n\nDate first seen  Duration Proto\n": "line 3: neither an nfdump CSV header",
		"10.0.0.1;192.0.2.9\n":                  "line 1: neither an nfdump CSV header",
		strings.Repeat("x", 5000) + "\nfoo\n":   "line 2: neither",
	} {
		_, _, err := readFlows(t, in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.30q: %v, want %q", in, err, want)
		}
	}
	// empty input: no flows, no format, no error
	if fs, fr, err := readFlows(t, ""); err != nil || len(fs) != 0 || fr.Format() != "" {
		t.Errorf("empty input: %v %v %q", fs, err, fr.Format())
	}
}

// FuzzImpactParse: any input reads to its end or to a format error,
// without a panic; every flow has valid addresses of one family and,
// for TCP, a port; the kept errors are the first of those counted.
func FuzzImpactParse(f *testing.F) {
	raw, _ := os.ReadFile("testdata/nfdump-1.7.1.csv")
	f.Add(raw)
	empty, _ := os.ReadFile("testdata/nfdump-1.7.1-empty.csv")
	f.Add(empty)
	f.Add([]byte("\uFEFF# c\r\n10.0.0.1 192.0.2.9\r\n10.0.0.2,192.0.2.9,587\n2001:db8::1\t2001:db8::2 25 # x\n"))
	f.Add([]byte("ts,te,td,sa,da,sp,dp,pr\n1,2,3,10.0.0.1,192.0.2.1,1,25,TCP\n1,2,3,::ffff:10.0.0.1,192.0.2.1,1,25,6\nSummary\n1,2\n"))
	f.Add([]byte("10.0.0.1 192.0.2.9\nbad\n10.0.0.1 ::1\n" + strings.Repeat("9", MaxFlowLine+3)))
	pol := Compile(&store.EdgeSnapshot{Prefixes: []store.PoolPrefix{
		{Pool: "d4", Kind: store.PoolDynamic, Prefix: netip.MustParsePrefix("10.0.0.0/8")},
		{Pool: "d6", Kind: store.PoolDynamic, Prefix: netip.MustParsePrefix("2001:db8::/32")}}}, nil, time.Now())
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := NewFlowReader(strings.NewReader(string(data)))
		flows := uint64(0)
		defer func() {
			// the same input replayed: as many flows, and no more blocked
			// than TCP/25 ones
			im, err := ReplayImpact(NewFlowReader(strings.NewReader(string(data))), pol, pol, ImpactOptions{Top: 3})
			if err == nil && (im.Flows != flows || im.Now.Blocked > im.TCP25 || im.ToBlocked.Flows+im.ToAllowed.Flows != 0) {
				t.Fatalf("replay: %d flows (read %d), %d TCP/25, %d blocked, %d changed", im.Flows, flows, im.TCP25, im.Now.Blocked, im.ToBlocked.Flows+im.ToAllowed.Flows)
			}
		}()
		for {
			fl, err := fr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) || !strings.HasPrefix(err.Error(), "line ") {
					t.Fatalf("stopping error %v", err)
				}
				return
			}
			flows++
			if !fl.TCP {
				continue
			}
			if !fl.Src.IsValid() || !fl.Dst.IsValid() || fl.Src.Unmap().Is4() != fl.Dst.Unmap().Is4() || fl.Port == 0 {
				t.Fatalf("flow %+v", fl)
			}
		}
		if len(fr.Errors) > maxLineErrors || len(fr.Errors) > fr.Malformed || (fr.Malformed > 0 && len(fr.Errors) == 0) {
			t.Fatalf("%d malformed, %d kept", fr.Malformed, len(fr.Errors))
		}
		for i := 1; i < len(fr.Errors); i++ {
			if fr.Errors[i].Line <= fr.Errors[i-1].Line {
				t.Fatalf("errors out of order: %v", fr.Errors)
			}
		}
	})
}

// TestFlowReaderNfdumpZone: nfdump's ts names no zone; it is read in the
// reader's Zone, UTC when none is given, whatever this machine's zone is
// (here Asia/Tokyo's +09:00, set for the test).
func TestFlowReaderNfdumpZone(t *testing.T) {
	local := time.Local
	time.Local = time.FixedZone("JST", 9*3600)
	defer func() { time.Local = local }()
	in := "ts,te,td,sa,da,sp,dp,pr\n2026-12-01 10:00:00.250,x,0,10.0.0.1,192.0.2.1,40000,25,TCP\n"
	utc := time.Date(2026, 12, 1, 10, 0, 0, 250e6, time.UTC)
	for _, tc := range []struct {
		zone string
		want time.Time
	}{
		{"", utc},
		{"UTC", utc},
		{"+09:00", utc.Add(-9 * time.Hour)},
		{"-0500", utc.Add(5 * time.Hour)},
	} {
		zone, err := ParseFlowZone(tc.zone)
		if err != nil {
			t.Fatalf("%q: %v", tc.zone, err)
		}
		fr := NewFlowReader(strings.NewReader(in))
		fr.Zone = zone
		f, err := fr.Next()
		if err != nil || !f.Seen.Equal(tc.want) {
			t.Errorf("zone %q: ts read as %v (%v), want %v", tc.zone, f.Seen, err, tc.want)
		}
	}
	fr := NewFlowReader(strings.NewReader(in)) // no Zone: UTC
	if f, err := fr.Next(); err != nil || !f.Seen.Equal(utc) {
		t.Errorf("no zone: ts read as %v (%v), want %v", f.Seen, err, utc)
	}
	for _, bad := range []string{"+25:00", "+9h", "Mars/Olympus_Mons"} {
		if _, err := ParseFlowZone(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if loc, err := ParseFlowZone("Asia/Tokyo"); err == nil { // the system's zoneinfo, when it has one
		if _, off := time.Date(2026, 12, 1, 0, 0, 0, 0, loc).Zone(); off != 9*3600 {
			t.Errorf("Asia/Tokyo: offset %d", off)
		}
	}
}

// FuzzParseFlowZone: any --nfdump-tz value is a zone or an error, never a
// panic, and a zone reads nfdump's ts.
func FuzzParseFlowZone(f *testing.F) {
	for _, s := range []string{"", "UTC", "Z", "+09:00", "-0500", "+05", "+25:00", "Asia/Tokyo", "../../etc/passwd", "Local"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseFlowZone(s)
		if err != nil {
			return
		}
		if loc == nil || parseNfdumpTime("2026-12-01 10:00:00", loc).IsZero() {
			t.Fatalf("%q: zone %v does not read a ts", s, loc)
		}
	})
}
