package sieve

import "strings"

// maxNesting bounds block and test nesting, so a hostile script cannot
// exhaust the stack of the parser, checker or interpreter.
const maxNesting = 64

// parser builds the tree of RFC 5228 §8.2:
//
//	commands  = *command
//	command   = identifier arguments (";" / block)
//	block     = "{" commands "}"
//	arguments = *argument [ test / test-list ]
//	argument  = string-list / number / tag
//	test      = identifier arguments
//	test-list = "(" test *("," test) ")"
type parser struct {
	lex   *lexer
	tok   token
	depth int
}

// Parse parses a script without checking what its commands mean; Compile
// parses and checks.
func Parse(src string) ([]*Command, error) {
	p := &parser{lex: newLexer(src)}
	if err := p.advance(); err != nil {
		return nil, err
	}
	cmds, err := p.commands()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, errorf(p.tok.pos, "unexpected %s", p.tok.describe())
	}
	return cmds, nil
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) isSpecial(c string) bool { return p.tok.kind == tokSpecial && p.tok.text == c }

func (p *parser) expectSpecial(c, what string) error {
	if !p.isSpecial(c) {
		return errorf(p.tok.pos, "expected '%s' %s but found %s", c, what, p.tok.describe())
	}
	return p.advance()
}

func (p *parser) enter(at Pos) error {
	p.depth++
	if p.depth > maxNesting {
		return errorf(at, "nesting too deep (more than %d levels)", maxNesting)
	}
	return nil
}

func (p *parser) commands() ([]*Command, error) {
	var cmds []*Command
	for p.tok.kind == tokIdent {
		c, err := p.command()
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

func (p *parser) command() (*Command, error) {
	c := &Command{Pos: p.tok.pos, Name: p.tok.text}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var err error
	if c.Args, c.Tests, err = p.arguments(); err != nil {
		return nil, err
	}
	switch {
	case p.isSpecial(";"):
		return c, p.advance()
	case p.isSpecial("{"):
		if err := p.enter(p.tok.pos); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		c.HasBlock = true
		if c.Block, err = p.commands(); err != nil {
			return nil, err
		}
		p.depth--
		return c, p.expectSpecial("}", "to end the block of '"+c.Name+"'")
	}
	return nil, errorf(p.tok.pos, "expected ';' or '{' after command '%s' but found %s", c.Name, p.tok.describe())
}

func (p *parser) arguments() ([]Arg, []*Test, error) {
	var args []Arg
	for {
		a, ok, err := p.argument()
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			break
		}
		args = append(args, a)
	}
	switch {
	case p.tok.kind == tokIdent:
		t, err := p.test()
		if err != nil {
			return nil, nil, err
		}
		return args, []*Test{t}, nil
	case p.isSpecial("("):
		tests, err := p.testList()
		return args, tests, err
	}
	return args, nil, nil
}

func (p *parser) argument() (Arg, bool, error) {
	t := p.tok
	switch {
	case t.kind == tokNumber:
		return Arg{Pos: t.pos, Kind: ArgNumber, Num: t.num}, true, p.advance()
	case t.kind == tokTag:
		return Arg{Pos: t.pos, Kind: ArgTag, Tag: t.text}, true, p.advance()
	case t.kind == tokString:
		return Arg{Pos: t.pos, Kind: ArgStrings, Strings: []string{t.text}}, true, p.advance()
	case p.isSpecial("["):
		a := Arg{Pos: t.pos, Kind: ArgStrings, List: true}
		if err := p.advance(); err != nil {
			return a, false, err
		}
		for {
			if p.tok.kind != tokString {
				return a, false, errorf(p.tok.pos, "expected a string in the string list but found %s", p.tok.describe())
			}
			a.Strings = append(a.Strings, p.tok.text)
			if err := p.advance(); err != nil {
				return a, false, err
			}
			if p.isSpecial("]") {
				return a, true, p.advance()
			}
			if err := p.expectSpecial(",", "between strings of a list"); err != nil {
				return a, false, err
			}
		}
	}
	return Arg{}, false, nil
}

func (p *parser) test() (*Test, error) {
	if p.tok.kind != tokIdent {
		return nil, errorf(p.tok.pos, "expected a test but found %s", p.tok.describe())
	}
	t := &Test{Pos: p.tok.pos, Name: strings.ToLower(p.tok.text)}
	if err := p.enter(t.Pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if err := p.advance(); err != nil {
		return nil, err
	}
	var err error
	t.Args, t.Tests, err = p.arguments()
	return t, err
}

func (p *parser) testList() ([]*Test, error) {
	if err := p.advance(); err != nil { // "("
		return nil, err
	}
	var tests []*Test
	for {
		t, err := p.test()
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
		if p.isSpecial(")") {
			return tests, p.advance()
		}
		if err := p.expectSpecial(",", "between tests of a list"); err != nil {
			return nil, err
		}
	}
}
