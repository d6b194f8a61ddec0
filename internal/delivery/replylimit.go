package delivery

import (
	"net"

	"github.com/emersion/go-smtp"
)

// replyLimited holds the replies dialSession reads itself (the greeting,
// EHLO or HELO, STARTTLS: net/textproto, before go-smtp's client takes
// over) to go-smtp's rule for the client's own: at most smtp.MaxReplySize
// bytes per reply, else smtp.ErrReplyTooLong (see MaxReplySize for why).
// Once go-smtp's client has the connection, its reply reader enforces the
// rule and this wrapper is not in the way.
//
// The reads and writes come from one goroutine, command then reply, so a
// write starts the next reply's budget.
type replyLimited struct {
	net.Conn
	left int
}

func limitReplies(c net.Conn) *replyLimited {
	return &replyLimited{Conn: c, left: smtp.MaxReplySize}
}

func (c *replyLimited) Write(b []byte) (int, error) {
	c.left = smtp.MaxReplySize
	return c.Conn.Write(b)
}

func (c *replyLimited) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, smtp.ErrReplyTooLong
	}
	n, err := c.Conn.Read(b[:min(len(b), c.left)])
	c.left -= n
	return n, err
}
