package sieve

// The syntax tree of RFC 5228 §8.2. The checker (check.go) fills in the
// fields after the first blank line of Command and Test: arguments sorted
// into tagged and positional ones, resolved against the command's spec.

// ArgKind says what an argument is.
type ArgKind int

const (
	ArgStrings ArgKind = iota // a string or a string list
	ArgNumber
	ArgTag
)

// Arg is one argument of a command or test.
type Arg struct {
	Pos     Pos
	Kind    ArgKind
	Strings []string // ArgStrings
	List    bool     // written as [ ... ] rather than a single string
	Num     uint64   // ArgNumber
	Tag     string   // ArgTag, lower case, without ':'
}

// Test is a test (RFC 5228 §5), possibly with nested tests.
type Test struct {
	Pos   Pos
	Name  string // lower case
	Args  []Arg
	Tests []*Test

	args checkedArgs
}

// Command is a command (RFC 5228 §3, §4) with an optional block.
type Command struct {
	Pos      Pos
	Name     string // lower case
	Args     []Arg
	Tests    []*Test
	HasBlock bool
	Block    []*Command

	args checkedArgs
}

// checkedArgs are a node's arguments as the checker resolved them.
type checkedArgs struct {
	tags       map[string]Arg // tag name → its parameter (or the tag itself when it takes none)
	pos        []Arg
	comparator string
	match      string // "is", "contains", "matches", "regex", "value", "count"
	relation   string // for value/count: gt ge lt le eq ne
	addrPart   string // "all", "localpart", "domain", "user", "detail"
	regexps    []*keyRegex
}
