package e2e

import (
	"bytes"
	wire "encoding/binary"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEdgeImpactReplaysNfdumpFlows: flows captured as packets, turned into
// flow records by nfpcapd and printed by `nfdump -o csv` (the real tools)
// are replayed by `edge impact` against a phase-1 policy (pools, a static
// hole, an exemption, a relay, a carrier) with phase 2 scheduled: exact
// counts now and then, the top source named with its pool, its subscriber
// (RADIUS accounting) and why it is blocked, and the flows that change.
func TestEdgeImpactReplaysNfdumpFlows(t *testing.T) {
	NeedTool(t, "nfpcapd")
	NeedTool(t, "nfdump")
	n, addr, secretFile := radiusNode(t, "bng-shared-secret")
	n.MustCLI("", "subscriber", "link", "sub-0001", "dave@example.net")
	if !radclient(t, addr, secretFile, `Acct-Status-Type = Start, User-Name = "sub-0001", Acct-Session-Id = "s1", NAS-Identifier = "bng1", Framed-IP-Address = 10.10.0.5`) {
		t.Fatal("no Accounting-Response to Start")
	}
	n.MustCLI("", "pool", "add", "dyn-east", "--kind", "dynamic", "10.10.0.0/16", "2001:db8:10::/48")
	n.MustCLI("", "pool", "add", "fixed", "--kind", "static", "10.10.5.0/24")
	n.MustCLI("", "edge", "relay", "add", "192.0.2.25")
	n.MustCLI("", "edge", "carrier", "add", "docomo", "203.0.113.0/24")
	n.MustCLI("", "edge", "exempt", "add", "10.10.7.7", "--reason", "moved to fixed-IP plan")
	n.MustCLI("", "edge", "scope", "carriers")
	n.MustCLI("", "edge", "scope", "all", "--from", "2099-01-01T00:00:00Z")

	// After the session's start: the flows' time names its subscriber.
	start := time.Now().Add(2 * time.Second)
	flows := []pcapFlow{
		{"10.10.0.5", "203.0.113.9", 25, 6}, {"10.10.0.5", "203.0.113.9", 25, 6}, {"10.10.0.5", "203.0.113.9", 25, 6},
		{"10.10.0.5", "203.0.113.10", 25, 6},                                       // carrier-bound: blocked now
		{"10.10.0.6", "198.51.100.1", 25, 6}, {"10.10.0.6", "198.51.100.1", 25, 6}, // blocked in phase 2
		{"2001:db8:10::9", "2001:db8:ffff::25", 25, 6}, // blocked in phase 2
		{"10.10.0.6", "192.0.2.25", 25, 6},             // our relay
		{"10.10.5.5", "203.0.113.9", 25, 6},            // static
		{"10.10.7.7", "203.0.113.9", 25, 6},            // exempt
		{"172.16.0.1", "203.0.113.9", 25, 6},           // in no pool
		{"10.10.0.7", "203.0.113.9", 587, 6},           // submission: never filtered
		{"10.10.0.5", "203.0.113.9", 25, 17},           // UDP
	}
	dir := t.TempDir()
	pcap := filepath.Join(dir, "capture.pcap")
	if err := os.WriteFile(pcap, writePcap(flows, start), 0o600); err != nil {
		t.Fatal(err)
	}
	flowDir := filepath.Join(dir, "flows")
	os.Mkdir(flowDir, 0o700)
	if out, err := exec.Command("nfpcapd", "-r", pcap, "-w", flowDir).CombinedOutput(); err != nil {
		t.Fatalf("nfpcapd: %v\n%s", err, out)
	}
	// -R: every file of the directory, as nfpcapd starts a new one at each
	// 5-minute boundary the capture crosses.
	// nfdump prints ts in its local time, naming no zone: UTC here, as
	// edge impact reads it unless told otherwise (--nfdump-tz).
	nfdump := func(tz string) []byte {
		t.Helper()
		cmd := exec.Command("nfdump", "-R", flowDir, "-o", "csv")
		cmd.Env = append(os.Environ(), "TZ="+tz)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("nfdump: %v\n%s", err, out)
		}
		return out
	}
	csv := nfdump("UTC")
	csvFile := filepath.Join(dir, "flows.csv")
	os.WriteFile(csvFile, csv, 0o600)

	has := func(out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}
	top := "  10.10.0.5 -> 203.0.113.9: source 10.10.0.5 matches pool dyn-east (dynamic) via 10.10.0.0/16 (longest prefix); no exemption for the source; destination 203.0.113.9 is not one of our relays; destination is in carrier set docomo (203.0.113.0/24); "
	out := n.MustCLI("", "edge", "impact", csvFile)
	has(out, "flows read:   13 (nfdump csv)\n", "TCP/25 flows: 11\n",
		"scope carriers (phase 1): 4 flows blocked, 1 sources, 2 destinations\n",
		"10.10.0.5  4      2             dyn-east  sub-0001 (dave@example.net)\n",
		top+"scope carriers (phase 1 since ")
	if strings.Contains(out, "then") || strings.Contains(out, "10.10.0.6") {
		t.Errorf("no what-if asked for, one printed:\n%s", out)
	}

	// Phase 2 as scheduled, and the same by --scope.
	for _, args := range [][]string{{"--at", "2099-02-01"}, {"--scope", "all"}} {
		out = n.MustCLI("", append([]string{"edge", "impact", csvFile}, args...)...)
		has(out, "scope carriers (phase 1): 4 flows blocked, 1 sources, 2 destinations\n",
			"scope all (phase 2): 7 flows blocked, 3 sources, 4 destinations\n",
			"allowed now, blocked then: 3 flows from 2 sources\n",
			"10.10.0.6       2      1             dyn-east  -\n",
			"2001:db8:10::9  1      1             dyn-east  -\n",
			"  10.10.0.6 -> 198.51.100.1: source 10.10.0.6 matches pool dyn-east (dynamic) via 10.10.0.0/16 (longest prefix); no exemption for the source; destination 198.51.100.1 is not one of our relays; scope all (phase 2 since ",
			"blocked now, allowed then: 0 flows from 0 sources\n")
	}

	// A static prefix made dynamic and an exemption dropped, in phase 1.
	pools := filepath.Join(dir, "pools.csv")
	os.WriteFile(pools, []byte("pool,kind,prefix\nformer-fixed,dynamic,10.10.5.0/24\n"), 0o600)
	out = n.MustCLI("", "edge", "impact", csvFile, "--pools", pools, "--unexempt", "10.10.7.7")
	has(out, "then: ", "scope carriers (phase 1): 6 flows blocked, 3 sources, 2 destinations\n",
		"allowed now, blocked then: 2 flows from 2 sources\n",
		"10.10.5.5  1      1             former-fixed  -\n",
		"  10.10.7.7 -> 203.0.113.9: source 10.10.7.7 matches pool dyn-east (dynamic) via 10.10.0.0/16 (longest prefix); no exemption for the source; ")
	has(n.MustCLI("", "edge", "exempt", "list"), "10.10.7.7/32") // the store is unchanged
	has(n.MustCLI("", "pool", "list", "fixed"), "10.10.5.0/24")
	if out, err := n.CLI("", "edge", "impact", csvFile, "--unexempt", "10.10.9.9"); err == nil || !strings.Contains(out, "--unexempt: 10.10.9.9/32 is not an exemption (see edge exempt list)") {
		t.Errorf("--unexempt of no exemption: %v\n%s", err, out)
	}

	// JSON, from stdin; top 1.
	out = n.MustCLI(string(csv), "edge", "impact", "-", "--scope", "all", "--top", "1", "--json")
	var im struct {
		Flows, TCP25 int
		Now, Then    struct {
			Blocked, Sources, Destinations int
			Top                            []struct{ Source, Pool, Subscriber string }
		}
		ToBlocked struct{ Flows, Sources int } `json:"to_blocked"`
	}
	if err := json.Unmarshal([]byte(out), &im); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if im.Flows != 13 || im.TCP25 != 11 || im.Now.Blocked != 4 || im.Then.Blocked != 7 || im.Then.Sources != 3 || im.Then.Destinations != 4 ||
		im.ToBlocked.Flows != 3 || im.ToBlocked.Sources != 2 || len(im.Then.Top) != 1 ||
		im.Then.Top[0] != (struct{ Source, Pool, Subscriber string }{"10.10.0.5", "dyn-east", "sub-0001 (dave@example.net)"}) {
		t.Errorf("json: %+v\n%s", im, out)
	}

	// nfdump run in UTC-9 (POSIX TZ "XYZ+9") prints ts nine hours
	// earlier: read as UTC, the flows predate the RADIUS session and name
	// no subscriber; read with --nfdump-tz -09:00, they name dave.
	westFile := filepath.Join(dir, "flows-utc-9.csv")
	os.WriteFile(westFile, nfdump("XYZ+9"), 0o600)
	has(n.MustCLI("", "edge", "impact", westFile), "10.10.0.5  4      2             dyn-east  -\n")
	has(n.MustCLI("", "edge", "impact", westFile, "--nfdump-tz", "-09:00"), "10.10.0.5  4      2             dyn-east  sub-0001 (dave@example.net)\n")
	if out, err := n.CLI("", "edge", "impact", westFile, "--nfdump-tz", "Mars/Olympus"); err == nil || !strings.Contains(out, `--nfdump-tz: "Mars/Olympus": want UTC, an offset`) {
		t.Errorf("bad --nfdump-tz: %v\n%s", err, out)
	}

	// The plain form, with a comment and malformed lines named by number.
	plain := "# src dst [port]\r\n10.10.0.5 203.0.113.9\r\n10.10.0.6,198.51.100.1,25\r\nbogus 203.0.113.9\r\n10.10.0.6 2001:db8::1\r\n10.10.0.8 203.0.113.9 587\r\n"
	out = n.MustCLI(plain, "edge", "impact", "-", "--scope", "all")
	has(out, "flows read:   3 (plain)\n", "TCP/25 flows: 2\n", "malformed:    2 lines skipped\n",
		"  line 4: SRC \"bogus\": not an IP address\n",
		"  line 5: SRC 10.10.0.6 and DST 2001:db8::1 are of different families",
		"scope carriers (phase 1): 1 flows blocked, 1 sources, 1 destinations\n",
		"scope all (phase 2): 2 flows blocked, 2 sources, 2 destinations\n")

	// Neither format: the line is named, nothing is printed as a result.
	if out, err := n.CLI("Date first seen          Duration Proto\n", "edge", "impact", "-"); err == nil ||
		!strings.Contains(out, "-: line 1: neither an nfdump CSV header") {
		t.Errorf("unknown format: %v\n%s", err, out)
	}
	if out, err := n.CLI("", "edge", "impact", csvFile, "--scope", "phase2"); err == nil || !strings.Contains(out, `--scope: "phase2": want all or carriers`) {
		t.Errorf("bad --scope: %v\n%s", err, out)
	}
}

// pcapFlow is one connection attempt written as a single SYN (proto 6)
// or UDP datagram (17).
type pcapFlow struct {
	src, dst string
	port     uint16
	proto    uint8
}

// writePcap writes each flow as one Ethernet frame, a second apart from
// start, with its own source port (so nfpcapd keeps them as separate
// flows). Checksums are left zero: nfpcapd does not check them.
func writePcap(flows []pcapFlow, start time.Time) []byte {
	var b bytes.Buffer
	le := wire.LittleEndian
	// pcap file header: magic, v2.4, zone 0, sigfigs 0, snaplen, Ethernet
	wire.Write(&b, le, []uint32{0xa1b2c3d4})
	wire.Write(&b, le, []uint16{2, 4})
	wire.Write(&b, le, []uint32{0, 0, 65535, 1})
	for i, f := range flows {
		src, dst := netip.MustParseAddr(f.src), netip.MustParseAddr(f.dst)
		var l4 []byte
		sport := uint16(40000 + i)
		if f.proto == 6 {
			l4 = wire.BigEndian.AppendUint16(l4, sport)
			l4 = wire.BigEndian.AppendUint16(l4, f.port)
			l4 = append(l4, 0, 0, 0, 1, 0, 0, 0, 0, 5<<4, 0x02, 0xff, 0xff, 0, 0, 0, 0) // seq, ack, offset, SYN, window
		} else {
			l4 = wire.BigEndian.AppendUint16(l4, sport)
			l4 = wire.BigEndian.AppendUint16(l4, f.port)
			l4 = append(l4, 0, 8, 0, 0)
		}
		frame := []byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2}
		if src.Is4() {
			frame = append(frame, 0x08, 0x00, 0x45, 0)
			frame = wire.BigEndian.AppendUint16(frame, uint16(20+len(l4)))
			frame = append(frame, 0, 1, 0, 0, 64, f.proto, 0, 0)
			frame = append(frame, src.AsSlice()...)
			frame = append(frame, dst.AsSlice()...)
		} else {
			frame = append(frame, 0x86, 0xdd, 0x60, 0, 0, 0)
			frame = wire.BigEndian.AppendUint16(frame, uint16(len(l4)))
			frame = append(frame, f.proto, 64)
			frame = append(frame, src.AsSlice()...)
			frame = append(frame, dst.AsSlice()...)
		}
		frame = append(frame, l4...)
		ts := start.Add(time.Duration(i) * time.Second)
		wire.Write(&b, le, []uint32{uint32(ts.Unix()), 0, uint32(len(frame)), uint32(len(frame))})
		b.Write(frame)
	}
	return b.Bytes()
}
