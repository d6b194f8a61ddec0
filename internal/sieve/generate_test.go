package sieve

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// generatedScripts makes n random scripts from the pieces below, the same
// ones for the same seed: tests of every kind with keys that hit and miss
// the corpus messages, nested in anyof/allof/not, with every action. The
// regular expressions stay within what POSIX ERE and RE2 agree on.
func generatedScripts(seed uint64, n int) []string {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed*7+1))}
	out := make([]string, n)
	for i := range out {
		out[i] = g.script()
	}
	return out
}

type gen struct{ r *rand.Rand }

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

var (
	genHeaders  = []string{"subject", "from", "to", "cc", "x-multi", "list-id", "x-priority", "content-type", "x-missing"}
	genAddrHdrs = []string{"from", "to", "cc", "sender", "reply-to"}
	genKeys     = []string{"hi", "Hello", "acme", "[acme-users]", "example.com", "EXAMPLE.COM", "alice", "news",
		"me", "3", "10", "", "café", "*acme*", "?i", "*@example.com", `\\*`, "a*b", "*", "?", "*.*", "[*] *",
		"alice+news@example.com", "me@example.net", "bob", "text/plain", "*users*", "one", "two", "*o",
		"secret", "*photos*", "line 5?", "*meeting*", "Hi,", "h*llo"}
	genRegexes = []string{"^[a-z]+$", "acme|users", "[0-9]+", "^Re: ", "(ex|am)ple[.]com$", "a.c", "^$", ".*",
		"[[:digit:]]+", "x{2,3}", "(ab)+", "^[^@]+@example[.](com|net)$", "l+", "version [0-9][.][0-9]"}
	genMatch  = []string{":is", ":contains", ":matches", ":regex", ":value \"gt\"", ":value \"le\"", ":count \"ge\"", ":count \"eq\""}
	genCmp    = []string{"", ":comparator \"i;octet\"", ":comparator \"i;ascii-casemap\"", ":comparator \"i;ascii-numeric\""}
	genParts  = []string{"", ":all", ":localpart", ":domain", ":user", ":detail"}
	genCounts = []string{"0", "1", "2", "3"}
)

func (g *gen) keys(match string) string {
	pool := genKeys
	switch {
	case match == ":regex":
		pool = genRegexes
	case strings.HasPrefix(match, ":count"):
		pool = genCounts
	}
	k := g.r.IntN(3) + 1
	var ks []string
	for i := 0; i < k; i++ {
		ks = append(ks, fmt.Sprintf("%q", g.pick(pool)))
	}
	if len(ks) == 1 {
		return ks[0]
	}
	return "[" + strings.Join(ks, ", ") + "]"
}

func (g *gen) matchAndCmp() (string, string) {
	m := g.pick(genMatch)
	c := g.pick(genCmp)
	if c == `:comparator "i;ascii-numeric"` && (m == ":contains" || m == ":matches" || m == ":regex") {
		c = ""
	}
	if strings.HasPrefix(m, ":count") {
		c = `:comparator "i;ascii-numeric"`
	}
	return m, c
}

func (g *gen) test(depth int) string {
	kind := g.r.IntN(10)
	if depth > 2 && kind >= 6 {
		kind = g.r.IntN(6)
	}
	switch kind {
	case 9:
		m, c := g.matchAndCmp()
		if strings.HasPrefix(m, ":count") {
			m, c = ":contains", ""
		}
		return fmt.Sprintf("body %s %s %s %s", g.pick([]string{"", ":text", ":raw", `:content "text/html"`, `:content "text"`}), m, c, g.keys(m))
	case 0, 1:
		m, c := g.matchAndCmp()
		return fmt.Sprintf("header %s %s %q %s", m, c, g.pick(genHeaders), g.keys(m))
	case 2:
		m, c := g.matchAndCmp()
		return fmt.Sprintf("address %s %s %s %q %s", g.pick(genParts), m, c, g.pick(genAddrHdrs), g.keys(m))
	case 3:
		m, c := g.matchAndCmp()
		return fmt.Sprintf("envelope %s %s %s %q %s", g.pick(genParts), m, c, g.pick([]string{"from", "to"}), g.keys(m))
	case 4:
		return fmt.Sprintf("exists [%q, %q]", g.pick(genHeaders), g.pick(genHeaders))
	case 5:
		return fmt.Sprintf("size %s %d%s", g.pick([]string{":over", ":under"}), g.r.IntN(900)+1, g.pick([]string{"", "", "K"}))
	case 6:
		return "not " + g.test(depth+1)
	default:
		op := g.pick([]string{"anyof", "allof"})
		n := g.r.IntN(3) + 1
		var ts []string
		for i := 0; i < n; i++ {
			ts = append(ts, g.test(depth+1))
		}
		return op + " (" + strings.Join(ts, ", ") + ")"
	}
}

func (g *gen) action(i int) string {
	switch g.r.IntN(10) {
	case 0:
		return "keep;"
	case 1:
		return "discard;"
	case 2:
		return fmt.Sprintf("redirect \"r%d@example.org\";", g.r.IntN(3))
	case 3:
		return fmt.Sprintf("redirect :copy \"c%d@example.org\";", g.r.IntN(3))
	case 4:
		return fmt.Sprintf("fileinto :copy \"Copy%d\";", g.r.IntN(3))
	case 5:
		return fmt.Sprintf("addflag \"\\\\Flagged f%d\";", g.r.IntN(3))
	case 6:
		return "stop;"
	case 7:
		return fmt.Sprintf("fileinto :flags \"\\\\Seen\" \"Flagged%d\";", i)
	}
	return fmt.Sprintf("fileinto \"Box%d\";", g.r.IntN(4))
}

func (g *gen) script() string {
	var b strings.Builder
	b.WriteString(`require ["fileinto", "copy", "envelope", "subaddress", "regex", "relational", "comparator-i;ascii-numeric", "imap4flags", "body"];` + "\n")
	rules := g.r.IntN(4) + 1
	for i := 0; i < rules; i++ {
		fmt.Fprintf(&b, "if %s {\n  %s\n", g.test(0), g.action(i))
		if g.r.IntN(2) == 0 {
			fmt.Fprintf(&b, "  %s\n", g.action(i))
		}
		b.WriteString("}")
		if g.r.IntN(3) == 0 {
			fmt.Fprintf(&b, " elsif %s {\n  %s\n}", g.test(0), g.action(i))
		}
		if g.r.IntN(3) == 0 {
			fmt.Fprintf(&b, " else {\n  %s\n}", g.action(i))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// capturePatterns are :matches keys whose match variables the generated
// capture scripts file into folder names, so the test compares what each
// wildcard captured, not only whether it matched.
var capturePatterns = []string{"*", "*e*", "[*]*", "* *", "*-*", "*.*", "*@*", "*o*o*", "?*", "H*o*",
	"*[*] *", "*<*@*>*", "*re*", "* is *"}

// captureRegexes have one way to match, so POSIX's and RE2's submatch
// rules agree on them.
var captureRegexes = []string{"^([a-z]+)", "([0-9]+)[.]([0-9]+)", "@([a-z.]+)", "^\\[([a-z-]+)\\]", "([a-z]+)@([a-z]+)[.]"}

// captureScripts makes n scripts that file by match variables.
func captureScripts(seed uint64, n int) []string {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed*3+5))}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		b.WriteString(`require ["fileinto", "variables", "regex"];` + "\n")
		for j := 0; j < 3; j++ {
			h := g.pick([]string{"subject", "from", "to", "x-multi"})
			if g.r.IntN(3) == 0 {
				fmt.Fprintf(&b, "if header :regex %q %q { fileinto \"r${1}|${2}\"; }\n", h, g.pick(captureRegexes))
			} else {
				fmt.Fprintf(&b, "if header :matches %s %q %q { fileinto \"m${0}|${1}|${2}|${3}\"; }\n",
					g.pick([]string{"", `:comparator "i;octet"`}), h, g.pick(capturePatterns))
			}
		}
		out[i] = b.String()
	}
	return out
}
