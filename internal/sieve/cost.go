package sieve

import (
	"fmt"
	"regexp"
	"regexp/syntax"
)

// What one comparison may cost. A test is one step however long its
// comparisons take, and Limits.Timeout is only looked at between steps, so
// the comparisons themselves are bounded here. Go's regexp runs in time
// linear in its input, but the factor is the size of the compiled program
// (and, for the submatches the variables extension reads, the number of
// groups): "(a|b|c|d|e|f|g|h|i|j| ){1000}Q" took 40 s on a 1 MB body, 3,000
// groups 17 s on 10 KB. A :matches key is matched in len(value)×len(key).
// draft-ietf-sieve-regex §4 (Security Considerations) warns of exactly
// this: "an attacker may be able to craft regular expressions that
// consume excessive resources"; RFC 5228 §10 lets an implementation limit
// what a script may use.

// maxRegexInsts and maxRegexGroups bound one :regex key: far above what
// a filter needs ("(?i)unsubscribe.*list" is 19 instructions, a phone
// number a few dozen), far below what makes a run take minutes.
const (
	maxRegexInsts  = 2000
	maxRegexGroups = 32
)

// maxScriptRegexInsts bounds the programs of all a script's :regex keys
// together. A compiled program takes about 50 bytes an instruction, and a
// compiled script stays in memory (delivery caches it): 64 KiB of keys
// of 1,800 instructions each compiled to 103 MB in 0.6 s. 20,000 is 100
// keys of 200 instructions, about 1 MB.
const maxScriptRegexInsts = 20000

// maxMatchCost is what the comparisons of one run may cost together, in
// units of one byte of a value against one instruction of a regular
// expression's program (scaled up for its groups) or one byte of a
// wildcard key: a :regex of 20 instructions on a 4 MiB body (the most the
// body test reads) is 8e7; the slowest programs measured take about 20
// ns a unit, so a run stays within seconds. Past it the run fails with
// ErrLimit, which keeps the message (RFC 5228 §2.10.6).
const maxMatchCost = 200_000_000

// keyRegex is a compiled :regex key with the size its matching costs.
type keyRegex struct {
	*regexp.Regexp
	insts  int // instructions of its program
	groups int // capture groups
}

// compileRegex compiles a :regex key. RFC draft-ietf-sieve-regex §3 asks
// for POSIX extended regular expressions; this package uses Go's RE2 syntax
// with leftmost-longest matching, which agrees with ERE on the common core
// (see doc.go for the differences). i;ascii-casemap makes it case
// insensitive, as REG_ICASE does in Pigeonhole. Keys past maxRegexInsts
// or maxRegexGroups are refused.
func compileRegex(key, comparator string) (*keyRegex, error) {
	if comparator == "i;ascii-casemap" {
		key = "(?i)" + key
	}
	// The program as regexp.Compile makes it (syntax.Perl, simplified),
	// sized before regexp builds its own: regexp does not say its size,
	// and an oversized key is refused without the larger work of
	// compiling it twice over.
	parsed, err := syntax.Parse(key, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, err
	}
	if n := len(prog.Inst); n > maxRegexInsts {
		return nil, fmt.Errorf("too large: %d instructions compiled, at most %d", n, maxRegexInsts)
	}
	if n := parsed.MaxCap(); n > maxRegexGroups {
		return nil, fmt.Errorf("too many groups: %d, at most %d", n, maxRegexGroups)
	}
	re, err := regexp.Compile(key)
	if err != nil {
		return nil, err
	}
	re.Longest()
	return &keyRegex{Regexp: re, insts: len(prog.Inst), groups: re.NumSubexp()}, nil
}

// matchCost is what comparing value with key costs under a's match type,
// in maxMatchCost's units.
func matchCost(a *checkedArgs, value, key string, re *keyRegex) int64 {
	n := int64(len(value)) + 1
	switch a.match {
	case "regex":
		if re != nil {
			return n * int64(re.insts) * int64(32+re.groups) / 32
		}
	case "matches":
		return n * (int64(len(key)) + 1)
	}
	return n + int64(len(key))
}

// spend counts a comparison's cost against maxMatchCost.
func (r *run) spend(cost int64) error {
	r.cost += cost
	if r.cost > maxMatchCost {
		return fmt.Errorf("%s: comparisons past their budget (%d units; a long value against a large regular expression or wildcard key): %w",
			r.at, int64(maxMatchCost), ErrLimit)
	}
	return nil
}
