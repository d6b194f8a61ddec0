package sieve

// What each command and test accepts (RFC 5228 §2.6, §3-5 and the
// extensions' RFCs), and which extension brings it.

type argType int

const (
	tNone argType = iota
	tString
	tStringList
	tNumber
)

func (t argType) String() string {
	return [...]string{"nothing", "string", "string list", "number"}[t]
}

type tagSpec struct {
	ext   string  // the extension that must be required ("" = core)
	param argType // what follows the tag
	group string  // tags of one group exclude each other
}

type nodeSpec struct {
	ext   string
	tags  map[string]tagSpec
	forms [][]argType // the allowed sequences of positional arguments
	tests int         // 0: none; 1: exactly one; -1: a list of one or more
	block bool        // takes a block (if/elsif/else)
	need  string      // a tag group one of which must be present
}

// Extensions lists what "require" accepts.
var Extensions = []string{
	"body", "comparator-i;ascii-numeric", "copy", "encoded-character", "envelope", "ereject", "fileinto",
	"imap4flags", "mailbox", "regex", "reject", "relational", "spamtest", "spamtestplus",
	"subaddress", "vacation", "variables", "virustest",
}

func knownExtension(name string) bool {
	for _, e := range Extensions {
		if e == name {
			return true
		}
	}
	// RFC 5228 §2.7.3: built-in comparators may be required too.
	return name == "comparator-i;octet" || name == "comparator-i;ascii-casemap"
}

func merge(sets ...map[string]tagSpec) map[string]tagSpec {
	m := map[string]tagSpec{}
	for _, s := range sets {
		for k, v := range s {
			m[k] = v
		}
	}
	return m
}

var (
	comparatorTags = map[string]tagSpec{"comparator": {param: tString, group: "comparator"}}
	matchTags      = map[string]tagSpec{
		"is":       {group: "match"},
		"contains": {group: "match"},
		"matches":  {group: "match"},
		"regex":    {ext: "regex", group: "match"},
		"value":    {ext: "relational", param: tString, group: "match"},
		"count":    {ext: "relational", param: tString, group: "match"},
	}
	addressPartTags = map[string]tagSpec{
		"all":       {group: "addrpart"},
		"localpart": {group: "addrpart"},
		"domain":    {group: "addrpart"},
		"user":      {ext: "subaddress", group: "addrpart"},
		"detail":    {ext: "subaddress", group: "addrpart"},
	}
	flagsTag = map[string]tagSpec{"flags": {ext: "imap4flags", param: tStringList}}
	copyTag  = map[string]tagSpec{"copy": {ext: "copy"}}
)

var commandSpecs = map[string]nodeSpec{
	"require":  {forms: [][]argType{{tStringList}}},
	"if":       {tests: 1, block: true},
	"elsif":    {tests: 1, block: true},
	"else":     {block: true},
	"stop":     {},
	"keep":     {tags: flagsTag},
	"discard":  {},
	"redirect": {tags: copyTag, forms: [][]argType{{tString}}},
	"fileinto": {ext: "fileinto", forms: [][]argType{{tString}},
		tags: merge(copyTag, flagsTag, map[string]tagSpec{"create": {ext: "mailbox"}})},
	"reject":  {ext: "reject", forms: [][]argType{{tString}}},
	"ereject": {ext: "ereject", forms: [][]argType{{tString}}},
	"vacation": {ext: "vacation", forms: [][]argType{{tString}}, tags: map[string]tagSpec{
		"days": {param: tNumber}, "subject": {param: tString}, "from": {param: tString},
		"addresses": {param: tStringList}, "mime": {}, "handle": {param: tString},
	}},
	// RFC 5229 §4.1: two modifiers of one precedence may not be combined.
	"set": {ext: "variables", forms: [][]argType{{tString, tString}}, tags: map[string]tagSpec{
		"lower": {group: "case"}, "upper": {group: "case"},
		"lowerfirst": {group: "first"}, "upperfirst": {group: "first"},
		"quotewildcard": {}, "length": {},
	}},
	"addflag":    {ext: "imap4flags", forms: flagForms},
	"setflag":    {ext: "imap4flags", forms: flagForms},
	"removeflag": {ext: "imap4flags", forms: flagForms},
}

// RFC 5232 §3: the variable name is optional.
var flagForms = [][]argType{{tStringList}, {tString, tStringList}}

var testSpecs = map[string]nodeSpec{
	"address":  {tags: merge(comparatorTags, matchTags, addressPartTags), forms: [][]argType{{tStringList, tStringList}}},
	"envelope": {ext: "envelope", tags: merge(comparatorTags, matchTags, addressPartTags), forms: [][]argType{{tStringList, tStringList}}},
	"header":   {tags: merge(comparatorTags, matchTags), forms: [][]argType{{tStringList, tStringList}}},
	"exists":   {forms: [][]argType{{tStringList}}},
	"size": {need: "size", tags: map[string]tagSpec{
		"over": {param: tNumber, group: "size"}, "under": {param: tNumber, group: "size"},
	}},
	"allof": {tests: -1},
	"anyof": {tests: -1},
	"not":   {tests: 1},
	"true":  {},
	"false": {},
	"body": {ext: "body", forms: [][]argType{{tStringList}}, tags: merge(comparatorTags, matchTags, map[string]tagSpec{
		"raw": {group: "transform"}, "text": {group: "transform"}, "content": {param: tStringList, group: "transform"},
	})},
	"string":        {ext: "variables", tags: merge(comparatorTags, matchTags), forms: [][]argType{{tStringList, tStringList}}},
	"hasflag":       {ext: "imap4flags", tags: merge(comparatorTags, matchTags), forms: flagForms},
	"mailboxexists": {ext: "mailbox", forms: [][]argType{{tStringList}}},
	"spamtest": {ext: "spamtest", forms: [][]argType{{tString}}, tags: merge(comparatorTags, matchTags,
		map[string]tagSpec{"percent": {ext: "spamtestplus"}})},
	"virustest": {ext: "virustest", forms: [][]argType{{tString}}, tags: merge(comparatorTags, matchTags)},
}
