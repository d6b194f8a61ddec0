package sieve

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Script is a parsed and checked script, ready to run.
type Script struct {
	Commands []*Command
	Requires map[string]bool
}

// DefaultMaxScriptSize bounds the text of a script Compile accepts.
const DefaultMaxScriptSize = 1 << 20

// Compile parses and checks a script. Errors name the line and column; a
// script that uses an extension without requiring it, or requires one this
// package does not know, is refused as Pigeonhole refuses it.
func Compile(src string) (*Script, error) {
	if len(src) > DefaultMaxScriptSize {
		return nil, errorf(Pos{1, 1}, "script too large (%d bytes, the limit is %d)", len(src), DefaultMaxScriptSize)
	}
	if !utf8.ValidString(src) {
		return nil, errorf(Pos{1, 1}, "script is not valid UTF-8")
	}
	cmds, err := Parse(src)
	if err != nil {
		return nil, err
	}
	c := &checker{req: map[string]bool{}}
	if err := c.commands(cmds, true); err != nil {
		return nil, err
	}
	return &Script{Commands: cmds, Requires: c.req}, nil
}

type checker struct {
	req map[string]bool
	// regexInsts sums the programs of the script's :regex keys, held
	// to maxScriptRegexInsts (cost.go).
	regexInsts int
}

func (c *checker) has(ext string) bool { return ext == "" || c.req[ext] }

func (c *checker) commands(cmds []*Command, top bool) error {
	prev := ""
	seenOther := false
	for _, cmd := range cmds {
		if cmd.Name == "require" {
			// RFC 5228 §3.2: require comes before any other command.
			if !top || seenOther {
				return errorf(cmd.Pos, "require must come before any other command, at the top of the script")
			}
		} else {
			seenOther = true
		}
		if (cmd.Name == "elsif" || cmd.Name == "else") && prev != "if" && prev != "elsif" {
			return errorf(cmd.Pos, "'%s' must follow 'if' or 'elsif'", cmd.Name)
		}
		if err := c.command(cmd); err != nil {
			return err
		}
		prev = cmd.Name
	}
	return nil
}

// decodeArgs applies encoded-character to a node's string arguments and
// refuses references to variable namespaces (RFC 5229 §3: an error, as no
// extension here defines one).
func (c *checker) decodeArgs(args []Arg) error {
	for i := range args {
		for j, s := range args[i].Strings {
			if c.req["encoded-character"] {
				args[i].Strings[j] = decodeEncodedCharacters(s)
			}
			if c.req["variables"] {
				if ns := unknownNamespace(s); ns != "" {
					return errorf(args[i].Pos, "variable in unknown namespace '%s'", ns)
				}
			}
		}
	}
	return nil
}

func (c *checker) command(cmd *Command) error {
	if err := c.decodeArgs(cmd.Args); err != nil {
		return err
	}
	spec, ok := commandSpecs[cmd.Name]
	if !ok || !c.has(spec.ext) {
		if ok {
			return errorf(cmd.Pos, "command '%s' needs require \"%s\"", cmd.Name, spec.ext)
		}
		return errorf(cmd.Pos, "unknown command '%s'", cmd.Name)
	}
	args, err := c.args("command", cmd.Name, cmd.Pos, spec, cmd.Args)
	if err != nil {
		return err
	}
	cmd.args = args
	if err := c.testCount("command", cmd.Name, cmd.Pos, spec, cmd.Tests); err != nil {
		return err
	}
	for _, t := range cmd.Tests {
		if err := c.test(t); err != nil {
			return err
		}
	}
	if spec.block != cmd.HasBlock {
		if spec.block {
			return errorf(cmd.Pos, "command '%s' needs a block { ... }", cmd.Name)
		}
		return errorf(cmd.Pos, "command '%s' takes no block; end it with ';'", cmd.Name)
	}
	if err := c.commandRules(cmd); err != nil {
		return err
	}
	return c.commands(cmd.Block, false)
}

func (c *checker) test(t *Test) error {
	if err := c.decodeArgs(t.Args); err != nil {
		return err
	}
	spec, ok := testSpecs[t.Name]
	if ok && t.Name == "spamtest" && c.req["spamtestplus"] {
		spec.ext = "spamtestplus" // RFC 5235 §3.2: spamtestplus implies spamtest
	}
	if !ok || !c.has(spec.ext) {
		if ok {
			return errorf(t.Pos, "test '%s' needs require \"%s\"", t.Name, spec.ext)
		}
		return errorf(t.Pos, "unknown test '%s'", t.Name)
	}
	args, err := c.args("test", t.Name, t.Pos, spec, t.Args)
	if err != nil {
		return err
	}
	t.args = args
	if err := c.testCount("test", t.Name, t.Pos, spec, t.Tests); err != nil {
		return err
	}
	for _, sub := range t.Tests {
		if err := c.test(sub); err != nil {
			return err
		}
	}
	return c.testRules(t)
}

func (c *checker) testCount(kind, name string, at Pos, spec nodeSpec, tests []*Test) error {
	switch {
	case spec.tests == 0 && len(tests) > 0:
		return errorf(at, "%s '%s' takes no test", kind, name)
	case spec.tests == 1 && len(tests) != 1:
		return errorf(at, "%s '%s' needs exactly one test", kind, name)
	case spec.tests == -1 && len(tests) == 0:
		return errorf(at, "%s '%s' needs a list of tests ( ... )", kind, name)
	}
	return nil
}

// args sorts arguments into tagged and positional (RFC 5228 §2.6.2: tagged
// arguments come first) and checks them against the spec.
func (c *checker) args(kind, name string, at Pos, spec nodeSpec, in []Arg) (checkedArgs, error) {
	out := checkedArgs{tags: map[string]Arg{}, comparator: "i;ascii-casemap", match: "is", addrPart: "all"}
	groups := map[string]string{}
	i := 0
	for ; i < len(in) && in[i].Kind == ArgTag; i++ {
		a := in[i]
		ts, ok := spec.tags[a.Tag]
		if !ok {
			return out, errorf(a.Pos, "unknown tagged argument ':%s' for %s '%s'", a.Tag, kind, name)
		}
		if !c.has(ts.ext) {
			return out, errorf(a.Pos, "tagged argument ':%s' needs require \"%s\"", a.Tag, ts.ext)
		}
		if _, dup := out.tags[a.Tag]; dup {
			return out, errorf(a.Pos, "tagged argument ':%s' given twice", a.Tag)
		}
		if ts.group != "" {
			if other, dup := groups[ts.group]; dup {
				return out, errorf(a.Pos, "tagged arguments ':%s' and ':%s' exclude each other", other, a.Tag)
			}
			groups[ts.group] = a.Tag
		}
		param := a
		if ts.param != tNone {
			if i+1 >= len(in) || !fits(in[i+1], ts.param) {
				return out, errorf(a.Pos, "tagged argument ':%s' needs a %s after it", a.Tag, ts.param)
			}
			i++
			param = in[i]
		}
		out.tags[a.Tag] = param
		switch ts.group {
		case "match":
			out.match = a.Tag
			if ts.param != tNone {
				out.relation = strings.ToLower(param.Strings[0])
				if !validRelation(out.relation) {
					return out, errorf(param.Pos, "unknown relation '%s' (use gt, ge, lt, le, eq or ne)", param.Strings[0])
				}
			}
		case "addrpart":
			out.addrPart = a.Tag
		case "comparator":
			out.comparator = param.Strings[0]
		}
	}
	if spec.need != "" && groups[spec.need] == "" {
		return out, errorf(at, "%s '%s' needs one of its tagged arguments (:over or :under)", kind, name)
	}
	out.pos = in[i:]
	for _, a := range out.pos {
		if a.Kind == ArgTag {
			return out, errorf(a.Pos, "tagged argument ':%s' after a positional argument", a.Tag)
		}
	}
	if len(spec.forms) == 0 && len(out.pos) == 0 {
		return out, c.comparator(at, out)
	}
	for _, form := range spec.forms {
		if len(form) != len(out.pos) {
			continue
		}
		ok := true
		for j, t := range form {
			ok = ok && fits(out.pos[j], t)
		}
		if ok {
			return out, c.comparator(at, out)
		}
	}
	want := make([]string, 0, len(spec.forms))
	for _, form := range spec.forms {
		var parts []string
		for _, t := range form {
			parts = append(parts, t.String())
		}
		want = append(want, strings.Join(parts, ", "))
	}
	if len(want) == 0 {
		want = []string{"no positional argument"}
	}
	return out, errorf(at, "%s '%s' takes %s", kind, name, strings.Join(want, " or "))
}

func fits(a Arg, t argType) bool {
	switch t {
	case tString:
		return a.Kind == ArgStrings && len(a.Strings) == 1 && !a.List
	case tStringList:
		return a.Kind == ArgStrings
	case tNumber:
		return a.Kind == ArgNumber
	}
	return false
}

func validRelation(r string) bool {
	switch r {
	case "gt", "ge", "lt", "le", "eq", "ne":
		return true
	}
	return false
}

// comparator checks the comparator exists, is required when it must be
// (RFC 5228 §2.7.3), and supports the match type (RFC 4790 §9.1).
func (c *checker) comparator(at Pos, a checkedArgs) error {
	switch a.comparator {
	case "i;octet", "i;ascii-casemap":
	case "i;ascii-numeric":
		if !c.req["comparator-i;ascii-numeric"] {
			return errorf(at, "comparator 'i;ascii-numeric' needs require \"comparator-i;ascii-numeric\"")
		}
		switch a.match {
		case "contains", "matches", "regex":
			return errorf(at, "comparator 'i;ascii-numeric' does not support the :%s match type", a.match)
		}
	default:
		return errorf(at, "unknown comparator '%s'", a.comparator)
	}
	return nil
}

// commandRules are the checks particular to one command.
func (c *checker) commandRules(cmd *Command) error {
	a := &cmd.args
	switch cmd.Name {
	case "require":
		for _, ext := range a.pos[0].Strings {
			if !knownExtension(ext) {
				return errorf(a.pos[0].Pos, "unsupported extension '%s' (supported: %s)", ext, strings.Join(Extensions, " "))
			}
			c.req[ext] = true
		}
	case "redirect":
		if s := a.pos[0].Strings[0]; !hasVariables(c, s) {
			if _, err := parseRedirectAddress(s); err != nil {
				return errorf(a.pos[0].Pos, "redirect address '%s' is not a valid address", s)
			}
		}
	case "fileinto":
		if !utf8.ValidString(a.pos[0].Strings[0]) {
			return errorf(a.pos[0].Pos, "mailbox name is not valid UTF-8")
		}
	case "set":
		if name := a.pos[0].Strings[0]; !validVariableName(name) {
			return errorf(a.pos[0].Pos, "invalid variable name '%s'", name)
		}
	case "addflag", "setflag", "removeflag":
		if len(a.pos) == 2 && !c.req["variables"] {
			return errorf(a.pos[0].Pos, "'%s' with a variable name needs require \"variables\" (RFC 5232 §3)", cmd.Name)
		}
		if len(a.pos) == 2 && !validVariableName(a.pos[0].Strings[0]) {
			return errorf(a.pos[0].Pos, "invalid variable name '%s'", a.pos[0].Strings[0])
		}
	case "vacation":
		if s, ok := a.tags["from"]; ok && !hasVariables(c, s.Strings[0]) {
			if _, err := mail.ParseAddress(s.Strings[0]); err != nil {
				return errorf(s.Pos, "vacation :from '%s' is not a valid address", s.Strings[0])
			}
		}
	}
	return nil
}

func (c *checker) testRules(t *Test) error {
	a := &t.args
	switch t.Name {
	case "hasflag":
		if len(a.pos) == 2 && !c.req["variables"] {
			return errorf(a.pos[0].Pos, "'hasflag' with variable names needs require \"variables\" (RFC 5232 §4)")
		}
		if len(a.pos) == 2 {
			for _, n := range a.pos[0].Strings {
				if !validVariableName(n) {
					return errorf(a.pos[0].Pos, "invalid variable name '%s'", n)
				}
			}
		}
	case "address":
		// RFC 5228 §5.1: the address test is for header fields that
		// hold addresses.
		for _, h := range a.pos[0].Strings {
			if !hasVariables(c, h) && !addressHeaders[strings.ToLower(h)] {
				return errorf(a.pos[0].Pos, "header '%s' holds no addresses: the address test takes From, To, Cc, Bcc, Sender, Reply-To, Resent-* and the like", h)
			}
		}
	case "envelope":
		for _, part := range a.pos[0].Strings {
			if p := strings.ToLower(part); p != "from" && p != "to" && !hasVariables(c, part) {
				return errorf(a.pos[0].Pos, "unknown envelope part '%s' (use \"from\" or \"to\")", part)
			}
		}
	}
	if a.match == "regex" {
		keys := a.pos[len(a.pos)-1]
		for _, k := range keys.Strings {
			if hasVariables(c, k) {
				a.regexps = append(a.regexps, nil) // compiled when run
				continue
			}
			re, err := compileRegex(k, a.comparator)
			if err != nil {
				return errorf(keys.Pos, "invalid regular expression '%s': %v", k, err)
			}
			if c.regexInsts += re.insts; c.regexInsts > maxScriptRegexInsts {
				return errorf(keys.Pos, "the script's regular expressions are too large together (more than %d instructions compiled): use fewer or simpler ones", maxScriptRegexInsts)
			}
			a.regexps = append(a.regexps, re)
		}
	}
	return nil
}

// hasVariables says whether s may change when variables are expanded.
func hasVariables(c *checker, s string) bool { return c.req["variables"] && strings.Contains(s, "${") }

// addressHeaders are the fields the address test accepts: RFC 5228 §5.1's
// required ones and the others Pigeonhole allows.
var addressHeaders = map[string]bool{}

func init() {
	for _, h := range strings.Fields(`from to cc bcc sender resent-from resent-to reply-to
		resent-reply-to resent-sender resent-cc resent-bcc for-approval for-handling
		for-comment apparently-to errors-to delivered-to return-receipt-to x-admin
		read-receipt-to x-confirm-reading-to return-receipt-requested
		registered-mail-reply-requested-by mail-followup-to mail-reply-to
		abuse-reports-to x-complaints-to x-report-abuse-to x-beenthere
		x-original-from x-original-to`) {
		addressHeaders[h] = true
	}
}
