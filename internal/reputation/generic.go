package reputation

import (
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Generic reverse DNS: the per-address names access providers give their
// subscribers' addresses ("c-73-15-200-3.hsd1.ca.comcast.net",
// "p5dd2f7a1.dip0.t-ipconnect.de", "softbank126012034056.bbtec.net").
// A mail server has a name of its own; mail from a generically named
// address is far more likely from a bot (Spamhaus, "Generic rDNS";
// M3AAWG's "Best Practices for Reverse DNS"; SpamAssassin's RDNS_DYNAMIC).
// The heuristic only adds to a score, never refuses on its own.

// genericPrefixes mark end-user space at the start of a word ("dynamic",
// "pppoe", "customer"); genericWords only as whole words, as they are
// also ordinary English.
var (
	genericPrefixes = []string{"dyn", "ppp", "dhcp", "dial", "cust", "pool", "dsl", "adsl", "vdsl", "xdsl", "sdsl"}
	genericWords    = map[string]bool{
		"client": true, "clients": true, "cable": true, "cpe": true, "broadband": true, "res": true,
		"residential": true, "subscriber": true, "user": true, "users": true, "nat": true, "mobile": true,
		"wireless": true, "ftth": true, "hsd": true, "catv": true, "modem": true, "dip": true,
	}
)

// GenericName reports whether name, the PTR name of ip, looks generic and
// why: the address embedded in it (dotted or dashed, either order,
// zero-padded, hex, or one decimal number), or an end-user word (dyn, pool,
// ppp, dsl, cust, dhcp, client ...) in one label with a number, left of the
// registered domain.
func GenericName(name string, ip netip.Addr) (string, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	ip = ip.Unmap()
	if name == "" || len(name) > 255 {
		return "", false
	}
	if form, ok := embedsAddress(name, ip); ok {
		return "the address is embedded in the name (" + form + ")", true
	}
	host := name
	if reg, err := publicsuffix.EffectiveTLDPlusOne(name); err == nil {
		host = strings.TrimSuffix(strings.TrimSuffix(name, reg), ".")
	}
	for _, label := range strings.Split(host, ".") {
		if word := genericWord(label); word != "" {
			return "end-user word " + strconv.Quote(word) + " beside a number", true
		}
	}
	return "", false
}

// genericWord returns the end-user word of a label that also holds a
// number ("dynamic-12", "adsl34", "cust123"), or "".
func genericWord(label string) string {
	word, number := "", false
	for _, tok := range tokens(label) {
		if tok[0] >= '0' && tok[0] <= '9' {
			number = true
			continue
		}
		if word != "" {
			continue
		}
		if genericWords[tok] {
			word = tok
		}
		for _, p := range genericPrefixes {
			if strings.HasPrefix(tok, p) {
				word = tok
			}
		}
	}
	if !number {
		return ""
	}
	return word
}

// runs splits a name into its letter-and-digit runs ("host86-142" →
// "host86", "142").
func runs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !isAlnum(r) })
}

func isAlnum(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }

// tokens splits runs further where letters meet digits ("host86" →
// "host", "86").
func tokens(s string) []string {
	var out []string
	for _, r := range runs(s) {
		start := 0
		for i := 1; i < len(r); i++ {
			if (r[i] >= '0' && r[i] <= '9') != (r[i-1] >= '0' && r[i-1] <= '9') {
				out = append(out, r[start:i])
				start = i
			}
		}
		out = append(out, r[start:])
	}
	return out
}

func embedsAddress(name string, ip netip.Addr) (string, bool) {
	if ip.Is4() {
		return embeds4(name, ip)
	}
	if ip.Is6() {
		return embeds6(name, ip)
	}
	return "", false
}

func embeds4(name string, ip netip.Addr) (string, bool) {
	b := ip.As4()
	// Numbers in order, with what separated them: "1-2-3-4", "1.2.3.4",
	// "host1-2-3-4", in either order (reverse-style "4.3.2.1.dyn...").
	var seq []int
	for _, tok := range tokens(name) {
		if tok[0] < '0' || tok[0] > '9' {
			continue
		}
		n, err := strconv.Atoi(tok)
		if err != nil || len(tok) > 3 {
			seq = append(seq, -1)
			continue
		}
		seq = append(seq, n)
	}
	fwd := []int{int(b[0]), int(b[1]), int(b[2]), int(b[3])}
	rev := []int{int(b[3]), int(b[2]), int(b[1]), int(b[0])}
	for i := 0; i+4 <= len(seq); i++ {
		if equalInts(seq[i:i+4], fwd) {
			return "its four numbers", true
		}
		if equalInts(seq[i:i+4], rev) {
			return "its four numbers, reversed", true
		}
	}
	padded := ""
	for _, o := range b {
		padded += leftPad(strconv.Itoa(int(o)), 3)
	}
	hexForm := hex.EncodeToString(b[:])
	decimal := strconv.FormatUint(uint64(b[0])<<24|uint64(b[1])<<16|uint64(b[2])<<8|uint64(b[3]), 10)
	for _, r := range runs(name) {
		switch {
		case strings.Contains(r, padded):
			return "zero-padded " + padded, true
		case strings.Contains(r, hexForm):
			return "hex " + hexForm, true
		case len(decimal) >= 8 && strings.Contains(r, decimal) && !digitBefore(r, decimal):
			return "decimal " + decimal, true
		}
	}
	return "", false
}

// digitBefore keeps the decimal form from matching inside a longer number.
func digitBefore(run, sub string) bool {
	i := strings.Index(run, sub)
	return i > 0 && run[i-1] >= '0' && run[i-1] <= '9' || i+len(sub) < len(run) && run[i+len(sub)] >= '0' && run[i+len(sub)] <= '9'
}

func embeds6(name string, ip netip.Addr) (string, bool) {
	b := ip.As16()
	full := hex.EncodeToString(b[:])
	var groups [8]uint64
	for i := range groups {
		groups[i] = uint64(b[2*i])<<8 | uint64(b[2*i+1])
	}
	// Groups as separate words: "2001-db8-0-0-0-0-0-1", either order.
	var seq []int64
	for _, r := range runs(name) {
		v, err := strconv.ParseUint(r, 16, 16)
		if err != nil || len(r) > 4 {
			seq = append(seq, -1)
			continue
		}
		seq = append(seq, int64(v))
	}
	for i := 0; i+8 <= len(seq); i++ {
		fwd, rev := true, true
		for j := 0; j < 8; j++ {
			fwd = fwd && seq[i+j] == int64(groups[j])
			rev = rev && seq[i+j] == int64(groups[7-j])
		}
		if fwd || rev {
			return "its eight groups", true
		}
	}
	joined := strings.Join(runs(name), "")
	iid := full[16:]
	switch {
	case strings.Contains(joined, full):
		return "hex " + full, true
	case strings.Count(iid, "0") < 12 && strings.Contains(joined, iid):
		return "interface identifier " + iid, true
	}
	return "", false
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}
