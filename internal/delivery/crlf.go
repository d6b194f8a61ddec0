package delivery

import "io"

// crlfWriter passes bytes on with every line ending made CRLF: a bare CR
// or bare LF becomes CRLF. Under the SMTP client's dot-stuffing writer this
// guarantees the only "." line on the wire is the one ending DATA, so we
// can never be the outbound half of an SMTP smuggling attack
// (CVE-2023-51764): "<LF>.<LF>" or "<CR>.<CR>" in a body reach the next
// hop as "<CRLF>..<CRLF>". The spool already holds normalized bytes; this
// keeps the guarantee on the client path whatever the source.
type crlfWriter struct {
	w      io.Writer
	lastCR bool // the previous byte written was a CR whose LF was emitted
	buf    []byte
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	c.buf = c.buf[:0]
	for _, b := range p {
		switch b {
		case '\r':
			c.buf = append(c.buf, '\r', '\n')
			c.lastCR = true
			continue
		case '\n':
			if !c.lastCR {
				c.buf = append(c.buf, '\r', '\n')
			}
		default:
			c.buf = append(c.buf, b)
		}
		c.lastCR = false
	}
	if _, err := c.w.Write(c.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}
