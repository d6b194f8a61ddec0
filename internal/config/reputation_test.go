package config

import (
	"strings"
	"testing"
	"time"
)

func TestReputationDefaultsAndLists(t *testing.T) {
	d := Default()
	if d.Reputation.Dynamic != "reject" || !d.Reputation.OwnPools || d.Reputation.RDNS != "score" || len(d.Reputation.DNSBL) != 0 || d.Reputation.ConnectWait != 3*time.Second {
		t.Fatalf("defaults: %+v", d.Reputation)
	}
	d.Hostname = "mx.example.net"
	if got := d.ReputationConfig().CheckURL; got != "https://mx.example.net/check" {
		t.Fatalf("check_url = %q", got)
	}
	c, err := Load(write(t, `[reputation]
rdns = "reject-unconfirmed"
[[reputation.dnsbl]]
zone = "zen.example"
url = "https://zen.example/lookup?ip={ip}"
action = "reject"
codes = ["127.0.0.2", "127.0.0.4/30"]
[[reputation.dnsbl]]
zone = "weak.example"
url = "https://weak.example/"
action = "score"
score = 1.5
servers = ["127.0.0.1:5353"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Reputation.DNSBL) != 2 || c.Reputation.DNSBL[1].Score != 1.5 || c.Reputation.RDNS != "reject-unconfirmed" {
		t.Fatalf("loaded: %+v", c.Reputation)
	}
}

func TestReputationRefusesBadValues(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"[reputation]\ndynamic = \"maybe\"", "reputation.dynamic"},
		{"[reputation]\nrdns = \"reject\"", "reputation.rdns"},
		{"[reputation]\ndnsbl_timeout = \"10s\"", "reputation.dnsbl_timeout"},
		{"[reputation]\nconnect_wait = \"1m\"", "reputation.connect_wait"},
		{"[reputation]\nconnect_wait = \"1ms\"", "reputation.connect_wait"},
		{"[reputation]\ncheck_url = \"mx.example/check\"", "reputation.check_url"},
		{"[[reputation.dnsbl]]\nzone = \"zen.example\"\naction = \"reject\"", "reputation.dnsbl[0].url"},
		{"[[reputation.dnsbl]]\nzone = \"zen\"\nurl = \"https://x/\"\naction = \"reject\"", "reputation.dnsbl[0].zone"},
		{"[[reputation.dnsbl]]\nzone = \"zen.example\"\nurl = \"https://x/\"\naction = \"score\"", "reputation.dnsbl[0].score"},
		{"[[reputation.dnsbl]]\nzone = \"zen.example\"\nurl = \"https://x/\"\naction = \"drop\"", "reputation.dnsbl[0].action"},
		{"[[reputation.dnsbl]]\nzone = \"zen.example\"\nurl = \"https://x/\"\naction = \"reject\"\ncodes = [\"127.255.255.254\"]", "error codes"},
		{"[[reputation.dnsbl]]\nzone = \"zen.example\"\nurl = \"https://x/\"\naction = \"reject\"\ncodes = [\"10.0.0.2\"]", "127.0.0.0/8"},
		{"[[reputation.dnsbl]]\nzone = \"zen.example\"\nurl = \"https://x/\"\naction = \"reject\"\n[[reputation.dnsbl]]\nzone = \"ZEN.example.\"\nurl = \"https://x/\"\naction = \"reject\"", "twice"},
	} {
		_, err := Load(write(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v; want an error naming %s", c.body, err, c.want)
		}
	}
}

// TestExampleDNSBLLoads: the commented [[reputation.dnsbl]] table of the
// example is valid once uncommented.
func TestExampleDNSBLLoads(t *testing.T) {
	head, table, ok := strings.Cut(Example, "# [[reputation.dnsbl]]\n")
	if !ok {
		t.Fatal("the example has no commented [[reputation.dnsbl]] table")
	}
	var b strings.Builder
	b.WriteString(head + "[[reputation.dnsbl]]\n")
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "#") {
			break // the table's comment block ends; other sections follow
		}
		if strings.HasPrefix(line, "# ") && !strings.HasPrefix(line, "# # ") {
			b.WriteString(strings.TrimPrefix(line, "# ") + "\n")
		}
	}
	c, err := Load(write(t, b.String()))
	if err != nil {
		t.Fatalf("uncommented example table: %v\n%s", err, b.String())
	}
	if l := c.Reputation.DNSBL; len(l) != 1 || l[0].Zone != "zen.spamhaus.org" || len(l[0].Codes) != 4 || len(l[0].DynamicCodes) != 2 {
		t.Fatalf("loaded %+v", l)
	}
}
