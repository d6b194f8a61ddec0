package sieve

import (
	"fmt"
	"strings"
)

// Pos is a place in a script: 1-based line and column (in bytes).
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is a problem found in a script, at the place it was found.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

func errorf(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokTag
	tokNumber
	tokString // quoted or multi-line; text holds the value
	tokSpecial
)

func (k tokKind) String() string {
	return [...]string{"end of script", "identifier", "tagged argument", "number", "string", "character"}[k]
}

type token struct {
	kind tokKind
	pos  Pos
	text string // identifier, tag name (without ':'), string value, special char
	num  uint64
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of script"
	case tokSpecial:
		return "'" + t.text + "'"
	case tokString:
		return "string"
	case tokNumber:
		return "number"
	case tokTag:
		return "tag ':" + t.text + "'"
	}
	return "identifier '" + t.text + "'"
}

// lexer turns a script into tokens per the grammar of RFC 5228 §8.1.
type lexer struct {
	src       string
	off       int
	line, col int
}

func newLexer(src string) *lexer { return &lexer{src: src, line: 1, col: 1} }

func (l *lexer) pos() Pos { return Pos{l.line, l.col} }

func (l *lexer) peekByte(ahead int) byte {
	if l.off+ahead < len(l.src) {
		return l.src[l.off+ahead]
	}
	return 0
}

func (l *lexer) advance(n int) {
	for i := 0; i < n && l.off < len(l.src); i++ {
		if l.src[l.off] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.off++
	}
}

// skipSpace skips white space and both kinds of comment (RFC 5228 §2.3).
func (l *lexer) skipSpace() error {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.advance(1)
		case c == '#':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance(1)
			}
		case c == '/' && l.peekByte(1) == '*':
			start := l.pos()
			end := strings.Index(l.src[l.off+2:], "*/")
			if end < 0 {
				return errorf(start, "unterminated comment: a /* comment needs a closing */")
			}
			l.advance(end + 4)
		default:
			return nil
		}
	}
	return nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) identifier() string {
	start := l.off
	for l.off < len(l.src) {
		c := l.src[l.off]
		if !isAlpha(c) && !isDigit(c) && c != '_' {
			break
		}
		l.advance(1)
	}
	return l.src[start:l.off]
}

func (l *lexer) next() (token, error) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: p}, nil
	}
	c := l.src[l.off]
	switch {
	case strings.IndexByte("[](){},;", c) >= 0:
		l.advance(1)
		return token{kind: tokSpecial, pos: p, text: string(c)}, nil
	case c == '"':
		s, err := l.quoted()
		return token{kind: tokString, pos: p, text: s}, err
	case c == ':':
		l.advance(1)
		if l.off >= len(l.src) || !(isAlpha(l.src[l.off]) || l.src[l.off] == '_') {
			return token{}, errorf(p, "expected a tag name after ':'")
		}
		return token{kind: tokTag, pos: p, text: strings.ToLower(l.identifier())}, nil
	case isDigit(c):
		return l.number()
	case isAlpha(c) || c == '_':
		id := l.identifier()
		if strings.EqualFold(id, "text") && l.peekByte(0) == ':' {
			l.advance(1)
			s, err := l.multiline(p)
			return token{kind: tokString, pos: p, text: s}, err
		}
		return token{kind: tokIdent, pos: p, text: strings.ToLower(id)}, nil
	}
	return token{}, errorf(p, "unexpected character %q", c)
}

// number reads 1*DIGIT [QUANTIFIER] (RFC 5228 §2.4.1): K, M and G multiply
// by 2^10, 2^20 and 2^30.
func (l *lexer) number() (token, error) {
	p := l.pos()
	var n uint64
	for l.off < len(l.src) && isDigit(l.src[l.off]) {
		d := uint64(l.src[l.off] - '0')
		if n > (maxNumber-d)/10 {
			return token{}, errorf(p, "number too large (the largest is %d)", uint64(maxNumber))
		}
		n = n*10 + d
		l.advance(1)
	}
	var shift uint
	switch l.peekByte(0) {
	case 'K', 'k':
		shift = 10
	case 'M', 'm':
		shift = 20
	case 'G', 'g':
		shift = 30
	}
	if shift > 0 {
		l.advance(1)
		if n > maxNumber>>shift {
			return token{}, errorf(p, "number too large (the largest is %d)", uint64(maxNumber))
		}
		n <<= shift
	}
	if c := l.peekByte(0); isAlpha(c) || c == '_' {
		return token{}, errorf(l.pos(), "unexpected %q after a number", c)
	}
	return token{kind: tokNumber, pos: p, num: n}, nil
}

// maxNumber is the largest number a script may write: Pigeonhole's limit
// (sieve_number_t is 64 bits, but comparisons go through signed types).
const maxNumber = 1<<63 - 1

// quoted reads a quoted string. RFC 5228 §2.4.2: a backslash escapes the
// next character; only \" and \\ are defined, and other escapes yield the
// character itself. Line breaks inside are kept (as CRLF).
func (l *lexer) quoted() (string, error) {
	start := l.pos()
	l.advance(1)
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return "", errorf(start, "unterminated string: a quoted string needs a closing '\"'")
		}
		c := l.src[l.off]
		switch c {
		case '"':
			l.advance(1)
			return b.String(), nil
		case '\\':
			if l.off+1 >= len(l.src) {
				return "", errorf(start, "unterminated string: a quoted string needs a closing '\"'")
			}
			l.advance(1)
			c = l.src[l.off]
			if c == '\r' || c == '\n' {
				// A backslash before a line break escapes nothing.
				b.WriteByte('\\')
				continue
			}
			b.WriteByte(c)
			l.advance(1)
		case '\r':
			l.advance(1)
		case '\n':
			b.WriteString("\r\n")
			l.advance(1)
		default:
			b.WriteByte(c)
			l.advance(1)
		}
	}
}

// multiline reads the rest of a text: string (RFC 5228 §2.4.2): white
// space and an optional comment to the end of the "text:" line, then lines
// up to one holding a single ".". A line starting with "." has it doubled
// ("dot-stuffing"), which is undone here.
func (l *lexer) multiline(start Pos) (string, error) {
	for l.off < len(l.src) && (l.src[l.off] == ' ' || l.src[l.off] == '\t') {
		l.advance(1)
	}
	switch {
	case l.peekByte(0) == '#':
		for l.off < len(l.src) && l.src[l.off] != '\n' {
			l.advance(1)
		}
	case l.peekByte(0) == '\r' && l.peekByte(1) == '\n', l.peekByte(0) == '\n':
	default:
		return "", errorf(l.pos(), "text: must be followed by a line break (or a # comment)")
	}
	if l.off >= len(l.src) {
		return "", errorf(start, "unterminated text: string: it ends with a line holding only '.'")
	}
	l.advance(1) // the \n (a \r before it was consumed above or is skipped here)
	if l.off > 1 && l.src[l.off-1] == '\r' {
		l.advance(1)
	}
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return "", errorf(start, "unterminated text: string: it ends with a line holding only '.'")
		}
		end := strings.IndexByte(l.src[l.off:], '\n')
		var line string
		if end < 0 {
			line = l.src[l.off:]
			end = len(line) - 1
		} else {
			line = l.src[l.off : l.off+end]
		}
		line = strings.TrimSuffix(line, "\r")
		l.advance(end + 1)
		if line == "." {
			// RFC 5228 wants CRLF after the dot; the end of the script
			// is accepted too.
			return b.String(), nil
		}
		if strings.HasPrefix(line, ".") {
			line = line[1:]
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
}
