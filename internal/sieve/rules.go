package sieve

import (
	"fmt"
	"strings"
)

// Rules are the simple filter form the seed ISP offers ("mail whose
// Subject matches this regular expression goes to that folder"), kept as
// a managed section of the account's script so the CLI and, later, the
// web portal edit the same rules while the rest of the script stays the
// user's own. The section is two marked pieces: a require line at the top
// of the script and the rules after the script's own require commands
// (RFC 5228 §3.2: require comes before every other command).

// Rule files mail whose header field matches a regular expression.
type Rule struct {
	Header string // a field name, e.g. Subject
	Regex  string // draft-ietf-sieve-regex, case-insensitive
	Folder string
}

const (
	rulesRequire = `require ["fileinto", "mailbox", "regex"]; # mailgate rules: require`
	rulesBegin   = "# BEGIN mailgate rules (managed by `mailgate filter`; edits here are replaced)"
	rulesEnd     = "# END mailgate rules"
	rulePrefix   = "# rule "
)

// CheckRule validates a rule's parts (the regular expression by the same
// compiler scripts use).
func CheckRule(r Rule) error {
	if r.Header == "" {
		return fmt.Errorf("rule: a header field name is needed")
	}
	for i := 0; i < len(r.Header); i++ {
		// RFC 5322 §2.2: printable US-ASCII except ":".
		if c := r.Header[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("rule: %q is not a header field name", r.Header)
		}
	}
	if r.Folder == "" || strings.ContainsAny(r.Folder, "\r\n") {
		return fmt.Errorf("rule: a folder name on one line is needed")
	}
	if strings.ContainsAny(r.Regex, "\r\n") {
		return fmt.Errorf("rule: the regular expression must be on one line")
	}
	if _, err := compileRegex(r.Regex, "i;ascii-casemap"); err != nil {
		return fmt.Errorf("rule: invalid regular expression %q: %v", r.Regex, err)
	}
	return nil
}

func sieveQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Rules reads the managed rules of a script (none when it has no section).
// Each rule is on one line after a "# rule" comment holding its fields, so
// the section reads back exactly what was written.
func Rules(script string) ([]Rule, error) {
	_, section, _, ok := splitRules(script)
	if !ok {
		return nil, nil
	}
	var out []Rule
	for _, line := range strings.Split(section, "\n") {
		line = strings.TrimRight(line, "\r")
		if !strings.HasPrefix(line, rulePrefix) {
			continue
		}
		// # rule <header> <quoted regex> <quoted folder>
		cmds, err := Parse("x " + strings.TrimPrefix(line, rulePrefix) + ";")
		if err != nil || len(cmds) != 1 || len(cmds[0].Args) != 3 {
			return nil, fmt.Errorf("managed rule %q is damaged; remove the section and add the rules again", line)
		}
		a := cmds[0].Args
		out = append(out, Rule{Header: a[0].Strings[0], Regex: a[1].Strings[0], Folder: a[2].Strings[0]})
	}
	return out, nil
}

// WithRules returns script with its managed section replaced by rules
// (removed when rules is empty). The result still has to compile; the
// store checks it as any script.
func WithRules(script string, rules []Rule) (string, error) {
	for _, r := range rules {
		if err := CheckRule(r); err != nil {
			return "", err
		}
	}
	before, _, after, ok := splitRules(script)
	user := script
	if ok {
		user = before + after
	}
	user = strings.Replace(user, rulesRequire+"\n", "", 1)
	if len(rules) == 0 {
		return user, nil
	}
	var b strings.Builder
	b.WriteString(rulesBegin + "\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "%s%s %s %s\n", rulePrefix, sieveQuote(r.Header), sieveQuote(r.Regex), sieveQuote(r.Folder))
		fmt.Fprintf(&b, "if header :regex %s %s { fileinto :create %s; stop; }\n", sieveQuote(r.Header), sieveQuote(r.Regex), sieveQuote(r.Folder))
	}
	b.WriteString(rulesEnd + "\n")
	at, err := afterRequires(user)
	if err != nil {
		return "", fmt.Errorf("the script does not parse, so rules cannot be added to it: %v", err)
	}
	return rulesRequire + "\n" + user[:at] + b.String() + user[at:], nil
}

// splitRules cuts script around its managed section (markers included).
func splitRules(script string) (before, section, after string, ok bool) {
	i := strings.Index(script, rulesBegin)
	j := strings.Index(script, rulesEnd)
	if i < 0 || j < i {
		return script, "", "", false
	}
	end := j + len(rulesEnd)
	if end < len(script) && script[end] == '\n' {
		end++
	}
	return script[:i], script[i:end], script[end:], true
}

// afterRequires is the byte offset where the first command other than
// require starts (at the start of its line), or the end of the script.
func afterRequires(src string) (int, error) {
	cmds, err := Parse(src)
	if err != nil {
		return 0, err
	}
	for _, c := range cmds {
		if c.Name != "require" {
			return lineStart(src, c.Pos.Line), nil
		}
	}
	return len(src), nil
}

func lineStart(src string, line int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(src[off:], '\n')
		if i < 0 {
			return len(src)
		}
		off += i + 1
	}
	return off
}
