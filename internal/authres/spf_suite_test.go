package authres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"gopkg.in/yaml.v3"

	"mailgate/internal/dns"
)

// suiteDir is where CI keeps the shared test data: ../shared beside the
// repository, i.e. three levels up from this package's directory.
const suiteDir = "../../../shared/testdata"

// readShared returns a shared test file, or skips the test saying where
// it was looked for.
func readShared(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(suiteDir, name))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not found beside the repository (%s): the shared test data is not checked out", name, suiteDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The RFC 7208 test suite's YAML (openspf.org, release 2014.04).
type spfSuite struct {
	Description string
	Tests       map[string]spfTest
	ZoneData    map[string][]spfRecord `yaml:"zonedata"`
}

type spfTest struct {
	Description string
	Spec        strList
	Helo        string
	Host        string
	MailFrom    string `yaml:"mailfrom"`
	Result      strList
	Explanation string
}

// spfRecord is one entry of zonedata: a record, or an error the name
// gives (TIMEOUT: no answer at all; SERVFAIL).
type spfRecord struct {
	A        strList `yaml:"A"`
	AAAA     strList `yaml:"AAAA"`
	SPF      strList `yaml:"SPF"`
	TXT      strList `yaml:"TXT"`
	PTR      strList `yaml:"PTR"`
	MX       []any   `yaml:"MX"`
	CNAME    string  `yaml:"CNAME"`
	TIMEOUT  bool    `yaml:"-"`
	SERVFAIL bool    `yaml:"-"`
	present  map[string]bool
}

func (r *spfRecord) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode { // "- TIMEOUT"
		r.TIMEOUT = n.Value == "TIMEOUT"
		r.SERVFAIL = n.Value == "SERVFAIL"
		return nil
	}
	type plain spfRecord
	if err := n.Decode((*plain)(r)); err != nil {
		return err
	}
	r.present = map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		r.present[n.Content[i].Value] = true
	}
	return nil
}

// strList is a string or a list of strings (a multi-string TXT record).
type strList []string

func (s *strList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		var l []string
		err := n.Decode(&l)
		*s = l
		return err
	}
	var one string
	err := n.Decode(&one)
	*s = []string{one}
	return err
}

// spfDeviations are the suite's cases where we knowingly differ, each
// with the RFC text that allows our answer. README.md lists them too.
var spfDeviations = map[string]string{
	// RFC 7208 §7.3: the p macro "SHOULD NOT be used" (the PTR lookups
	// are slow and unreliable, §5.5); we expand it as the RFC's own
	// "unknown", without them.
	"p-macro-multiple": "%{p} expands to \"unknown\" without PTR lookups (RFC 7208 §7.3, §5.5)",
}

// TestRFC7208Suite runs the RFC 7208 test suite through CheckSPF and the
// node's real DNS client, with each section's zone data served by an
// in-process DNS server on loopback (a recursive resolver's view: CNAMEs
// followed, TIMEOUT names never answered).
func TestRFC7208Suite(t *testing.T) {
	data := readShared(t, "spf/rfc7208-tests.yml")
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	cases := 0
	for {
		var s spfSuite
		if err := dec.Decode(&s); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		addr := serveSuiteZone(t, s.ZoneData)
		r := dns.New([]string{addr}, 300*time.Millisecond)
		names := make([]string, 0, len(s.Tests))
		for n := range s.Tests {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, name := range names {
			tc := s.Tests[name]
			cases++
			t.Run(name, func(t *testing.T) {
				ip, err := netip.ParseAddr(tc.Host)
				if err != nil {
					t.Fatalf("host %q: %v", tc.Host, err)
				}
				got := CheckSPF(context.Background(), r, ip, tc.Helo, tc.MailFrom)
				if slices.Contains(tc.Result, got.Result) {
					if why, ok := spfDeviations[name]; ok {
						t.Errorf("listed as a deviation (%s) but now gives the suite's %s: remove it from spfDeviations and README", why, got.Result)
					}
					return
				}
				if why, ok := spfDeviations[name]; ok {
					t.Logf("deviation: %s instead of %v: %s", got.Result, tc.Result, why)
					return
				}
				t.Errorf("%s (spec %v): got %s (%s), want %v\n%s", s.Description, tc.Spec, got.Result, got.Problem, tc.Result, tc.Description)
			})
		}
	}
	if cases < 200 {
		t.Fatalf("ran %d cases; the suite has over 200", cases)
	}
}

// serveSuiteZone answers for the zone data the way a recursive resolver
// would, on a loopback UDP port.
func serveSuiteZone(t *testing.T, zone map[string][]spfRecord) string {
	t.Helper()
	byName := map[string][]spfRecord{}
	for name, recs := range zone {
		n := strings.ToLower(mdns.Fqdn(name))
		byName[n] = append(byName[n], recs...)
	}
	var answer func(m *mdns.Msg, name string, qtype uint16, depth int) bool
	answer = func(m *mdns.Msg, name string, qtype uint16, depth int) bool {
		recs, ok := byName[strings.ToLower(name)]
		if !ok {
			m.Rcode = mdns.RcodeNameError
			return true
		}
		hdr := func(t uint16) mdns.RR_Header {
			return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: 60}
		}
		hasTXT := false
		for _, r := range recs {
			hasTXT = hasTXT || r.present["TXT"]
		}
		for _, r := range recs {
			switch {
			case r.TIMEOUT, r.SERVFAIL:
				continue // below, when no record answers
			case r.CNAME != "" && depth < 8:
				m.Answer = append(m.Answer, &mdns.CNAME{Hdr: hdr(mdns.TypeCNAME), Target: mdns.Fqdn(r.CNAME)})
				return answer(m, mdns.Fqdn(r.CNAME), qtype, depth+1)
			}
			switch qtype {
			case mdns.TypeA:
				for _, a := range r.A {
					m.Answer = append(m.Answer, &mdns.A{Hdr: hdr(qtype), A: net.ParseIP(a)})
				}
			case mdns.TypeAAAA:
				for _, a := range r.AAAA {
					m.Answer = append(m.Answer, &mdns.AAAA{Hdr: hdr(qtype), AAAA: net.ParseIP(a)})
				}
			case mdns.TypeMX:
				if len(r.MX) == 2 {
					pref, _ := r.MX[0].(int)
					host, _ := r.MX[1].(string)
					m.Answer = append(m.Answer, &mdns.MX{Hdr: hdr(qtype), Preference: uint16(pref), Mx: mdns.Fqdn(host)})
				}
			case mdns.TypePTR:
				for _, p := range r.PTR {
					m.Answer = append(m.Answer, &mdns.PTR{Hdr: hdr(qtype), Ptr: mdns.Fqdn(p)})
				}
			case mdns.TypeTXT:
				// The suite's SPF-type records stand for TXT ones where a
				// name has no TXT (type SPF is gone in RFC 7208 §3.1).
				// "TXT: NONE" marks a name without TXT records.
				if r.present["TXT"] && !slices.Equal(r.TXT, []string{"NONE"}) {
					m.Answer = append(m.Answer, &mdns.TXT{Hdr: hdr(qtype), Txt: r.TXT})
				} else if r.present["SPF"] && !hasTXT {
					m.Answer = append(m.Answer, &mdns.TXT{Hdr: hdr(qtype), Txt: r.SPF})
				}
			}
		}
		// TIMEOUT or SERVFAIL stand for the types the name holds no
		// records of (the suite's "spftimeout": the TXT answers, the SPF
		// query times out).
		for _, r := range recs {
			if len(m.Answer) == 0 && r.TIMEOUT {
				return false
			}
			if len(m.Answer) == 0 && r.SERVFAIL {
				m.Rcode = mdns.RcodeServerFailure
			}
		}
		return true
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, req *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		if answer(m, rawName(q.Name), q.Qtype, 0) {
			w.WriteMsg(m)
		}
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// rawName undoes the escapes in a question's presented name (RFC 4343
// §2.1: "\\ " or "\\032" for a space), as the zone data holds names raw.
func rawName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && strings.ContainsAny(s[i+1:i+2], "0123456789") {
			var n int
			fmt.Sscanf(s[i+1:i+4], "%03d", &n)
			b.WriteByte(byte(n))
			i += 3
		} else if s[i] == '\\' && i+1 < len(s) {
			b.WriteByte(s[i+1])
			i++
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
