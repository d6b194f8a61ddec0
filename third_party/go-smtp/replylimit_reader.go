package smtp

import (
	"errors"
	"io"
)

// mailgate: MaxReplySize bounds one reply a client reads: the greeting,
// or the answer to one command, of any number of lines. RFC 5321
// §4.5.3.1.5 caps a reply line at 512 octets (the client's line reader
// allows twice that, with slack), but nothing caps the lines of a
// multiline reply (§4.2.1), so a broken or hostile server streaming
// "250-" lines grew the client's memory until the command timeout. Real
// replies stay well under 4 KiB; an LMTP client reads one reply per
// recipient after DATA (RFC 2033 §4.2), each with its own budget.
const MaxReplySize = 64 << 10

// ErrReplyTooLong is the error of a read past MaxReplySize. Like
// ErrTooLongLine it is sticky: the connection is mid-reply and only
// closing it recovers.
var ErrReplyTooLong = errors.New("smtp: the server's reply is longer than 64 KiB: a broken or hostile server")

// replyLimitReader reads from R and fails with ErrReplyTooLong once more
// than MaxReplySize bytes were read since the last reset. It sits under
// the textproto reader's buffer, so a reply may also use what was
// buffered before its reset (at most one buffer, 4 KiB): the cap errs
// towards the server, never refusing a reply of MaxReplySize or less.
type replyLimitReader struct {
	R      io.Reader
	left   int
	failed bool
}

func newReplyLimitReader(r io.Reader) *replyLimitReader {
	return &replyLimitReader{R: r, left: MaxReplySize}
}

// reset starts the budget of the next reply.
func (r *replyLimitReader) reset() {
	r.left = MaxReplySize
}

func (r *replyLimitReader) Read(b []byte) (int, error) {
	if r.failed || r.left <= 0 {
		r.failed = true
		return 0, ErrReplyTooLong
	}
	if len(b) > r.left {
		b = b[:r.left]
	}
	n, err := r.R.Read(b)
	r.left -= n
	return n, err
}
