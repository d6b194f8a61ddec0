package e2e

import (
	"os"
	"strings"
	"testing"

	"mailgate/internal/testpeer"
)

// zoneBody keeps the record lines of `dns records` output (drops comments).
func zoneBody(out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, ";") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// TestDNSRecordsAndCheck: what `dns records` prints loads into a real
// nsd as it is; `dns check` then finds every record ok (exit 0). For a
// domain whose zone lacks the DMARC record and has another SPF record,
// check says missing and different, and exits 1.
func TestDNSRecordsAndCheck(t *testing.T) {
	NeedTool(t, "nsd")
	n := NewNode(t, "", "[publish]\noutbound_ips = [\"192.0.2.25\", \"2001:db8::25\"]\nmx_hosts = [\"mx1.isp.test\", \"mx2.isp.test\"]\n")
	n.MustCLI("", "domain", "add", "example.net")
	n.MustCLI("", "dkim", "keygen", "example.net", "--selector", "s1")
	good := n.MustCLI("", "dns", "records", "example.net")
	for _, want := range []string{
		"example.net. 3600 IN MX 10 mx1.isp.test.\n",
		"example.net. 3600 IN MX 20 mx2.isp.test.\n",
		"example.net. 3600 IN TXT \"v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 -all\"\n",
		"s1._domainkey.example.net. 3600 IN TXT ( \"v=DKIM1; k=rsa; p=",
		"_dmarc.example.net. 3600 IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@example.net\"\n",
		"_mta-sts.example.net. 3600 IN TXT \"v=STSv1; id=",
		"_smtp._tls.example.net. 3600 IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@example.net\"\n",
		"_submissions._tcp.example.net. 3600 IN SRV 0 1 ",
		";   mode: testing\n;   mx: mx1.isp.test\n;   mx: mx2.isp.test\n",
	} {
		if !strings.Contains(good, want) {
			t.Errorf("dns records lacks %q:\n%s", want, good)
		}
	}
	broken := zoneBody(n.MustCLI("", "dns", "records", "broken.test"))
	var kept []string
	for _, l := range strings.Split(broken, "\n") {
		switch {
		case strings.HasPrefix(l, "_dmarc."):
		case strings.Contains(l, "v=spf1"):
			kept = append(kept, "broken.test. 3600 IN TXT \"v=spf1 ip4:192.0.2.25 ~all\"")
		default:
			kept = append(kept, l)
		}
	}
	ns, err := testpeer.StartNSD(map[string]string{"example.net": zoneBody(good), "broken.test": strings.Join(kept, "\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Stop()
	f, err := os.OpenFile(n.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n[dns]\nservers = [\"" + ns.Addr + "\"]\n")
	f.Close()

	out := n.MustCLI("", "dns", "check", "example.net")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 14 || strings.Count(out, "ok        ") != 14 {
		t.Fatalf("check of the published zone:\n%s", out)
	}
	out, err = n.CLI("", "dns", "check", "broken.test")
	if err == nil {
		t.Fatalf("check of a broken zone exited 0:\n%s", out)
	}
	for _, want := range []string{
		"missing   _dmarc.broken.test. TXT\n          want: v=DMARC1; p=quarantine; rua=mailto:postmaster@broken.test\n",
		"different broken.test. TXT\n          want: v=spf1 ip4:192.0.2.25 ip6:2001:db8::25 -all\n          found: v=spf1 ip4:192.0.2.25 ~all\n",
		"ok        _mta-sts.broken.test. TXT\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check of broken.test lacks %q:\n%s", want, out)
		}
	}
}
