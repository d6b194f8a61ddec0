package smtp

import (
	"bytes"
	"errors"
	"io"
)

var ErrTooLongLine = errors.New("smtp: too long a line in input stream")

// lineLimitReader reads from the underlying Reader but restricts
// line length of lines in input stream to a certain length.
//
// If line length exceeds the limit - Read returns ErrTooLongLine
type lineLimitReader struct {
	R         io.Reader
	LineLimit int

	curLineLength int

	// mailgate: the first bytes of the current line, so that the reply to
	// a line over the limit can tell an AUTH command (RFC 4954 §4).
	lineStart    [len("AUTH ")]byte
	lineStartLen int
}

func (r *lineLimitReader) Read(b []byte) (int, error) {
	if r.curLineLength > r.LineLimit && r.LineLimit > 0 {
		return 0, ErrTooLongLine
	}

	n, err := r.R.Read(b)
	if err != nil {
		return n, err
	}

	if r.LineLimit == 0 {
		return n, nil
	}

	for _, chr := range b[:n] {
		if chr == '\n' {
			r.curLineLength = 0
			r.lineStartLen = 0
		} else if r.lineStartLen < len(r.lineStart) {
			r.lineStart[r.lineStartLen] = chr
			r.lineStartLen++
		}
		r.curLineLength++

		if r.curLineLength > r.LineLimit {
			return 0, ErrTooLongLine
		}
	}

	return n, nil
}

// mailgate: inAuthCommand reports whether the line being read is an AUTH
// command (its verb and a space seen), for the reply to a line over the
// limit.
func (r *lineLimitReader) inAuthCommand() bool {
	return r.lineStartLen == len(r.lineStart) && bytes.EqualFold(r.lineStart[:], []byte("AUTH "))
}
