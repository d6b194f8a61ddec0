package delivery

import "io"

// maxLine is RFC 5322 §2.1.1's limit on a line: 998 octets before CRLF.
const maxLine = 998

// crlfWriter passes bytes on with every line ending made CRLF: a bare CR
// or bare LF becomes CRLF. Under the SMTP client's dot-stuffing writer this
// guarantees the only "." line on the wire is the one ending DATA, so we
// can never be the outbound half of an SMTP smuggling attack
// (CVE-2023-51764): "<LF>.<LF>" or "<CR>.<CR>" in a body reach the next
// hop as "<CRLF>..<CRLF>". The spool already holds normalized bytes; this
// keeps the guarantee on the client path whatever the source.
//
// Lines longer than 998 octets, which RFC 5321 §4.5.3.1.6 lets a server
// refuse, are broken by inserting CRLF SP, as Postfix's
// smtp_line_length_limit does. The DKIM signature is computed over the
// same transformed bytes, so it still verifies.
type crlfWriter struct {
	w      io.Writer
	lastCR bool // the previous byte written was a CR whose LF was emitted
	col    int  // octets on the current line so far
	buf    []byte
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	c.buf = c.buf[:0]
	for _, b := range p {
		switch b {
		case '\r':
			c.buf = append(c.buf, '\r', '\n')
			c.lastCR, c.col = true, 0
			continue
		case '\n':
			if !c.lastCR {
				c.buf = append(c.buf, '\r', '\n')
			}
			c.col = 0
		default:
			if c.col == maxLine {
				c.buf = append(c.buf, '\r', '\n', ' ')
				c.col = 1
			}
			c.buf = append(c.buf, b)
			c.col++
		}
		c.lastCR = false
	}
	if _, err := c.w.Write(c.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}
