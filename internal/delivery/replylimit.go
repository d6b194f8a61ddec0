package delivery

import (
	"errors"
	"net"
)

// maxReplyBytes bounds what a server may send in answer to one command:
// its greeting, or one reply of any number of lines. RFC 5321 §4.5.3.1.5
// caps a reply line at 512 octets, but not the lines of a multiline
// reply, and a hostile MX streaming "250-" lines (or one endless line,
// before go-smtp's own per-line limit applies) would grow the client's
// memory until the command timeout. Real replies are well under 4 KiB.
const maxReplyBytes = 64 << 10

var errReplyTooLong = errors.New("the server's reply is longer than 64 KiB: a broken or hostile server")

// replyLimited is a connection whose reads fail once more than
// maxReplyBytes arrived since the client last wrote. The client reads
// and writes from one goroutine, command then reply, so a write starts
// the next reply's budget.
type replyLimited struct {
	net.Conn
	left int
}

func limitReplies(c net.Conn) *replyLimited {
	return &replyLimited{Conn: c, left: maxReplyBytes}
}

func (c *replyLimited) Write(b []byte) (int, error) {
	c.left = maxReplyBytes
	return c.Conn.Write(b)
}

func (c *replyLimited) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errReplyTooLong
	}
	n, err := c.Conn.Read(b[:min(len(b), c.left)])
	c.left -= n
	return n, err
}
