package managesieve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The command syntax of RFC 5804 §4:
//
//	command = atom *(SP (string / number)) CRLF
//	string  = quoted / literal
//	quoted  = DQUOTE *(QUOTED-CHAR / "\" QUOTED-SPECIALS) DQUOTE
//	literal = "{" number [ "+" ] "}" CRLF *OCTET
//
// A literal is read in full before the command runs; one larger than any
// script may be is refused after it was read past, or the connection
// closed when it is absurdly large.

const (
	maxLineLength = 8 << 10
	// literalRoom: a literal may be this many times the script quota,
	// room for a NO answer to a script just past it.
	literalRoom = 4
)

var (
	errLineTooLong = errors.New("line too long")
	errSyntax      = errors.New("syntax error")
	errTooLarge    = errors.New("literal too large")
)

type token struct {
	text     string
	isString bool // quoted or literal (else an atom or number)
}

// readCommand reads one command: its name (upper case) and arguments,
// refusing a literal over maxLiteral bytes, and a command whose lines and
// literals together pass maxLiteral and one line (a line ending in a
// literal continues the command, so a bound on each literal alone would
// let one command grow without end). It returns a syntax error only
// after consuming the command's line(s).
func readCommand(r *bufio.Reader, maxLiteral int) (string, []token, error) {
	var toks []token
	room := maxLiteral + maxLineLength
	for {
		line, err := readLine(r)
		if err != nil {
			return "", nil, err
		}
		if room -= len(line); room < 0 {
			return "", nil, errTooLarge
		}
		lit, err := tokenize(line, &toks)
		if err != nil {
			return "", nil, err
		}
		if lit < 0 {
			break
		}
		if lit > maxLiteral || lit > room {
			return "", nil, errTooLarge
		}
		room -= lit
		buf := make([]byte, lit)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", nil, err
		}
		toks = append(toks, token{text: string(buf), isString: true})
	}
	if len(toks) == 0 || toks[0].isString {
		return "", nil, errSyntax
	}
	return strings.ToUpper(toks[0].text), toks[1:], nil
}

func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, chunk...)
		if len(b) > maxLineLength {
			return "", errLineTooLong
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

// tokenize appends the tokens of one line. If the line ends with a
// literal's "{N}" or "{N+}", it returns N (the octets follow the line);
// otherwise -1.
func tokenize(line string, toks *[]token) (int, error) {
	i := 0
	for i < len(line) {
		switch c := line[i]; {
		case c == ' ':
			i++
		case c == '"':
			var b strings.Builder
			i++
			for {
				if i >= len(line) {
					return 0, errSyntax
				}
				c := line[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' && i+1 < len(line) {
					i++
					c = line[i]
				}
				b.WriteByte(c)
				i++
			}
			*toks = append(*toks, token{text: b.String(), isString: true})
		case c == '{':
			end := strings.IndexByte(line[i:], '}')
			if end < 0 || i+end != len(line)-1 {
				return 0, errSyntax
			}
			num := strings.TrimSuffix(line[i+1:i+end], "+")
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 {
				return 0, errSyntax
			}
			return n, nil
		default:
			j := i
			for j < len(line) && line[j] != ' ' && line[j] != '"' && line[j] != '{' {
				j++
			}
			*toks = append(*toks, token{text: line[i:j]})
			i = j
		}
	}
	return -1, nil
}

// quote writes s as a ManageSieve string: quoted when it can be, a
// literal when it holds CR, LF or is long (RFC 5804 §4).
func quote(s string) string {
	if len(s) > 1024 || strings.ContainsAny(s, "\r\n\x00") {
		return fmt.Sprintf("{%d}\r\n%s", len(s), s)
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
