package reputation

import (
	"net/netip"
	"testing"
)

// TestGenericName: names shaped like real access providers' generic
// rDNS are generic; mail servers' own names are not.
func TestGenericName(t *testing.T) {
	for _, c := range []struct {
		name, ip string
		generic  bool
	}{
		// the address embedded
		{"c-73-15-200-3.hsd1.ca.comcast.net", "73.15.200.3", true},
		{"pool-71-105-12-4.nycmny.fios.verizon.net", "71.105.12.4", true},
		{"cpe-98-14-3-200.nyc.res.rr.com", "98.14.3.200", true},
		{"host86-142-23-55.range86-142.btcentralplus.com", "86.142.23.55", true},
		{"ppp-94-66-12-3.home.otenet.gr", "94.66.12.3", true},
		{"bras-base-toroon0123w-grc-11-76-68-1-2.dsl.bell.ca", "76.68.1.2", true},
		{"i114-180-10-20.s41.a013.ap.plala.or.jp", "114.180.10.20", true},
		{"static.88.198.1.2.clients.your-server.de", "88.198.1.2", true},
		{"55.23.142.86.dynamic.isp.example", "86.142.23.55", true},
		{"p5dd2f7a1.dip0.t-ipconnect.de", "93.210.247.161", true},
		{"softbank126012034056.bbtec.net", "126.12.34.56", true},
		{"KD111239165012.au-net.ne.jp", "111.239.165.12", true},
		{"ip1249717124.isp.example", "74.125.0.132", false}, // a different number
		{"n1249694084.isp.example", "74.124.209.132", true}, // 74.124.209.132 as one number
		{"2001-db8-0-0-0-0-0-42.dyn.isp.example", "2001:db8::42", true},
		{"20010db8000000000000000000000042.v6.isp.example", "2001:db8::42", true},
		{"host-a1b2c3d4e5f60718.ip6.isp.example", "2001:db8:1:2:a1b2:c3d4:e5f6:718", true},
		// an end-user word beside a number
		{"cpc1-brig18-2-0-cust123.3-3.cable.virginm.net", "86.1.2.3", true},
		{"dynamic-12.isp.example", "192.0.2.9", true},
		{"adsl34.isp.example", "192.0.2.9", true},
		{"dhcp-77.campus.example.edu", "192.0.2.9", true},
		// mail servers
		{"mail.example.com", "192.0.2.9", false},
		{"mail-yw1-f173.google.com", "209.85.128.173", false},
		{"a27-12.smtp-out.amazonses.com", "54.240.27.12", false},
		{"o1.ptr1234.sendgrid.net", "167.89.0.1", false},
		{"mx-out-01.isp.example", "192.0.2.1", false},
		{"smtp2.dynamics.example.com", "192.0.2.1", false}, // no number beside the word
		{"mx1.dslreports.com", "192.0.2.1", false},         // the word is in the registered domain
		{"client.mail.example.com", "192.0.2.1", false},
		{"dyn.example.net", "192.0.2.1", false},
		{"mail.1-2-3-4.example", "5.6.7.8", false},
		{"localhost", "127.0.0.1", false},
		{"", "127.0.0.1", false},
	} {
		why, got := GenericName(c.name, netip.MustParseAddr(c.ip))
		if got != c.generic {
			t.Errorf("GenericName(%q, %s) = %v (%s), want %v", c.name, c.ip, got, why, c.generic)
		}
	}
}

// FuzzGenericName: any name and address, no crash, and a name that is
// generic says why.
func FuzzGenericName(f *testing.F) {
	f.Add("c-73-15-200-3.hsd1.ca.comcast.net", []byte{73, 15, 200, 3})
	f.Add("p5dd2f7a1.dip0.t-ipconnect.de", []byte{93, 210, 247, 161})
	f.Add("2001-db8-0-0-0-0-0-42.dyn.isp.example", netip.MustParseAddr("2001:db8::42").AsSlice())
	f.Add("....--..", []byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, name string, raw []byte) {
		ip, ok := netip.AddrFromSlice(raw)
		if !ok {
			ip = netip.IPv4Unspecified()
		}
		why, generic := GenericName(name, ip)
		if generic && why == "" {
			t.Fatalf("GenericName(%q, %s): generic without a reason", name, ip)
		}
	})
}
