package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"mailgate/internal/store"
)

// Table is the one nftables table mailgate owns. Nothing else is touched.
const Table = "op25b"

// Set names. Interval sets hold the policy; the dynamic sets count
// blocked attempts per source in the kernel (RFC-free, but see the
// secrecy-of-communications note in report.go: addresses only).
var intervalSets = []struct{ Name, Type string }{
	{"dyn4", "ipv4_addr"}, {"dyn6", "ipv6_addr"},
	{"exempt4", "ipv4_addr"}, {"exempt6", "ipv6_addr"},
	{"relay4", "ipv4_addr"}, {"relay6", "ipv6_addr"},
	{"carrier4", "ipv4_addr"}, {"carrier6", "ipv6_addr"},
}

// counterSets: hits (add: the timeout runs from the first attempt, the
// counter counts all), last (update: the timeout restarts at every attempt)
// and pairs (source . destination, for distinct destinations).
var counterSets = []struct{ Name, Type string }{
	{"hits4", "ipv4_addr"}, {"hits6", "ipv6_addr"},
	{"last4", "ipv4_addr"}, {"last6", "ipv6_addr"},
	{"pairs4", "ipv4_addr . ipv4_addr"}, {"pairs6", "ipv6_addr . ipv6_addr"},
}

// CounterSize bounds each counting set; when full, new sources are not
// counted (still blocked).
const CounterSize = 262144

// Ruleset is what the kernel should hold.
type Ruleset struct {
	Sets   map[string][]Range
	Scope  string
	Action string
	// Window is how long the kernel remembers a source's attempts.
	Window time.Duration

	digest string // memo of Digest; a Ruleset is not changed after use
}

// Ruleset returns the kernel view of the policy.
func (p *Policy) Ruleset(window time.Duration) *Ruleset {
	if window <= 0 {
		window = 7 * 24 * time.Hour
	}
	return &Ruleset{
		Sets: map[string][]Range{
			"dyn4": p.Dyn4, "dyn6": p.Dyn6, "exempt4": p.Exempt4, "exempt6": p.Exempt6,
			"relay4": p.Relay4, "relay6": p.Relay6, "carrier4": p.Carrier4, "carrier6": p.Carrier6,
		},
		Scope: p.Scope, Action: p.Action, Window: window,
	}
}

// chainRules are the rules of chain port25, reached only for TCP dport 25.
// Order mirrors Policy.Decide.
func (r *Ruleset) chainRules() []string {
	rules := []string{
		"ip saddr @exempt4 counter accept",
		"ip6 saddr @exempt6 counter accept",
		"ip daddr @relay4 counter accept",
		"ip6 daddr @relay6 counter accept",
	}
	if r.Scope == store.ScopeCarriers {
		rules = append(rules,
			"ip daddr != @carrier4 counter accept",
			"ip6 daddr != @carrier6 counter accept")
	}
	// A SYN without ACK is one connection attempt; counting it (rather
	// than every packet) keeps the numbers meaningful for drop, where the
	// client retransmits.
	rules = append(rules,
		"ip saddr @dyn4 tcp flags & (syn | ack) == syn add @hits4 { ip saddr counter } update @last4 { ip saddr } update @pairs4 { ip saddr . ip daddr }",
		"ip6 saddr @dyn6 tcp flags & (syn | ack) == syn add @hits6 { ip6 saddr counter } update @last6 { ip6 saddr } update @pairs6 { ip6 saddr . ip6 daddr }")
	v4, v6 := "reject with tcp reset", "reject with tcp reset"
	switch r.Action {
	case store.ActionDrop:
		v4, v6 = "drop", "drop"
	case store.ActionICMP:
		// RFC 792 type 3 code 13 / RFC 4443 type 1 code 1.
		v4, v6 = "reject with icmp type admin-prohibited", "reject with icmpv6 type admin-prohibited"
	}
	return append(rules, "ip saddr @dyn4 counter "+v4, "ip6 saddr @dyn6 counter "+v6)
}

// forwardRule is the only rule in the hooked chain: nothing but TCP 25
// ever enters port25, so 587 and 465 cannot be affected. Its comment
// carries a hash of the chain so apply can tell whether rules changed.
func (r *Ruleset) forwardRule() string {
	return fmt.Sprintf("tcp dport %d counter jump port25 comment %q", SMTPPort, "mailgate "+r.RulesHash())
}

// RulesHash identifies the chain contents (not the set elements).
func (r *Ruleset) RulesHash() string {
	h := sha256.Sum256([]byte(strings.Join(r.chainRules(), "\n") + "\n" + r.Window.String()))
	return hex.EncodeToString(h[:6])
}

func (r *Ruleset) setDecl(typ string) string {
	return fmt.Sprintf("{ type %s; flags interval; }", typ)
}

func (r *Ruleset) counterDecl(typ string) string {
	return fmt.Sprintf("{ type %s; size %d; flags dynamic,timeout; timeout %ds; }", typ, CounterSize, int64(r.Window/time.Second))
}

// RenderNft prints the whole table for `nft -f`: a fresh, self-contained
// definition (it flushes the table first, counters included). `mailgate
// edge apply` is the incremental path that keeps counters.
func (r *Ruleset) RenderNft() string {
	var b strings.Builder
	b.WriteString("# mailgate OP25B ruleset: port 25 only; 587 and 465 are never matched (RFC 5068 §3.2, RFC 8314).\n")
	b.WriteString("# scope " + r.Scope + " (" + Phase(r.Scope) + "), action " + r.Action + ". Load atomically with: nft -f FILE\n")
	b.WriteString("table inet " + Table + "\nflush table inet " + Table + "\n")
	b.WriteString("table inet " + Table + " {\n")
	for _, s := range intervalSets {
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n\t\tflags interval\n", s.Name, s.Type)
		if els := r.Sets[s.Name]; len(els) > 0 {
			b.WriteString("\t\telements = { ")
			for i, e := range els {
				if i > 0 {
					b.WriteString(",\n\t\t\t")
				}
				b.WriteString(e.String())
			}
			b.WriteString(" }\n")
		}
		b.WriteString("\t}\n")
	}
	for _, s := range counterSets {
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n\t\tsize %d\n\t\tflags dynamic,timeout\n\t\ttimeout %ds\n\t}\n", s.Name, s.Type, CounterSize, int64(r.Window/time.Second))
	}
	b.WriteString("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\t" + r.forwardRule() + "\n\t}\n")
	b.WriteString("\tchain port25 {\n")
	for _, rule := range r.chainRules() {
		b.WriteString("\t\t" + rule + "\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// RenderIptables prints an iptables + ipset equivalent as a shell script
// for routers without nftables. Sets are rebuilt and swapped in (ipset
// swap is atomic per set); the OP25B chain is rebuilt with
// iptables-restore --noflush, atomic per table.
func (r *Ruleset) RenderIptables() string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# mailgate OP25B for iptables + ipset: port 25 only; 587 and 465 are never matched.\n")
	b.WriteString("# scope " + r.Scope + " (" + Phase(r.Scope) + "), action " + r.Action + ".\nset -e\n")
	for _, s := range intervalSets {
		fam := "inet"
		if strings.HasSuffix(s.Name, "6") {
			fam = "inet6"
		}
		name := "op25b-" + s.Name
		els := r.Sets[s.Name]
		max := 65536
		for max < 2*len(els)+1024 {
			max *= 2
		}
		fmt.Fprintf(&b, "ipset -exist create %s hash:net family %s maxelem %d\n", name, fam, max)
		fmt.Fprintf(&b, "ipset -exist create %s-new hash:net family %s maxelem %d\nipset flush %s-new\n", name, fam, max, name)
		if len(els) > 0 {
			fmt.Fprintf(&b, "ipset restore -exist <<'EOF'\n")
			for _, e := range els {
				for _, c := range e.CIDRs() {
					fmt.Fprintf(&b, "add %s-new %s\n", name, c)
				}
			}
			b.WriteString("EOF\n")
		}
		fmt.Fprintf(&b, "ipset swap %s-new %s\nipset destroy %s-new\n", name, name, name)
	}
	for _, v := range []struct{ cmd, fam, rst string }{
		{"iptables", "4", "--reject-with tcp-reset"}, {"ip6tables", "6", "--reject-with tcp-reset"},
	} {
		fmt.Fprintf(&b, "%s-restore --noflush <<'EOF'\n*filter\n:OP25B - [0:0]\n-F OP25B\n", v.cmd)
		fmt.Fprintf(&b, "-A OP25B -m set --match-set op25b-exempt%s src -j ACCEPT\n", v.fam)
		fmt.Fprintf(&b, "-A OP25B -m set --match-set op25b-relay%s dst -j ACCEPT\n", v.fam)
		if r.Scope == store.ScopeCarriers {
			fmt.Fprintf(&b, "-A OP25B -m set ! --match-set op25b-carrier%s dst -j ACCEPT\n", v.fam)
		}
		target := "REJECT " + v.rst
		switch r.Action {
		case store.ActionDrop:
			target = "DROP"
		case store.ActionICMP:
			if v.fam == "4" {
				target = "REJECT --reject-with icmp-admin-prohibited"
			} else {
				target = "REJECT --reject-with icmp6-adm-prohibited"
			}
		}
		fmt.Fprintf(&b, "-A OP25B -m set --match-set op25b-dyn%s src -p tcp --syn -j NFLOG --nflog-group 25 --nflog-prefix OP25B\n", v.fam)
		fmt.Fprintf(&b, "-A OP25B -p tcp -m set --match-set op25b-dyn%s src -j %s\nCOMMIT\nEOF\n", v.fam, target)
		fmt.Fprintf(&b, "%s -C FORWARD -p tcp --dport 25 -j OP25B 2>/dev/null || %s -I FORWARD -p tcp --dport 25 -j OP25B\n", v.cmd, v.cmd)
	}
	return b.String()
}
