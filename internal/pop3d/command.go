package pop3d

import (
	"errors"
	"strconv"
	"strings"
)

// Line limits. RFC 2449 §4: a command line is at most 255 octets with its
// CRLF; RFC 5034 §4 lets an AUTH continuation line be longer, so the
// reader allows maxLine and the parser checks the command's own limit.
const (
	maxCommandLine = 255
	maxLine        = 8192
	maxArg         = 40 // RFC 2449 §4: arguments up to 40 characters
)

var (
	errEmpty    = errors.New("empty command")
	errTooLong  = errors.New("command line too long")
	errBadChar  = errors.New("invalid character in command")
	errKeyword  = errors.New("invalid command keyword")
	errArgument = errors.New("invalid argument")
)

// command is one parsed POP3 command line.
type command struct {
	Name string   // upper-cased keyword
	Args []string // space-separated arguments
}

// parseCommand parses a line without or with its CRLF. RFC 1939 §3:
// a case-insensitive keyword of 3 or 4 characters, then arguments
// separated by single spaces. The AUTH initial response (RFC 5034 §4)
// may be longer than the 40-character argument limit.
func parseCommand(line string) (command, error) {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if len(line)+2 > maxCommandLine {
		return command{}, errTooLong
	}
	if line == "" {
		return command{}, errEmpty
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c > 0x7e {
			return command{}, errBadChar
		}
	}
	parts := strings.Split(line, " ")
	name := strings.ToUpper(parts[0])
	if len(name) < 3 || len(name) > 4 {
		return command{}, errKeyword
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 'A' || name[i] > 'Z' {
			return command{}, errKeyword
		}
	}
	args := parts[1:]
	// Tolerate one trailing space, which some clients send ("LIST ").
	if n := len(args); n > 0 && args[n-1] == "" {
		args = args[:n-1]
	}
	for i, a := range args {
		if a == "" || (len(a) > maxArg && !(name == "AUTH" && i == 1) && name != "PASS") {
			return command{}, errArgument
		}
	}
	return command{Name: name, Args: args}, nil
}

// parseMsgNum parses a message number: RFC 1939 §3 decimal, 1-based.
func parseMsgNum(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// parseLines parses TOP's line count: a non-negative decimal.
func parseLines(s string) (int, bool) {
	if s == "0" {
		return 0, true
	}
	return parseMsgNum(s)
}
