package smtp

import (
	"errors"
	"time"
)

// mailgate: Transaction sends a transaction's envelope (MAIL, RCPT...,
// DATA) pipelined when the server offers PIPELINING (RFC 2920), as
// Postfix's smtp client does: on a path with a 100 ms round trip a
// message to five recipients waited for seven replies one after the
// other, where a pipelined client waits for one group of replies.

// pipelineWindow bounds the commands written before their replies are
// read. RFC 2920 §3.1: a client that does not read while it writes "MUST
// also check the TCP window size and make sure that each group of
// commands fits entirely within the window. The window size is usually,
// but not always, 4K octets"; otherwise client and server can both block
// writing, each waiting for the other to read. A group that fits in 4 KiB
// (MAIL and some 50 recipients) is one write; a larger one goes in
// several, each after the replies to the one before.
const pipelineWindow = 4096

// ErrNoRecipient is the Data reply of a transaction where no recipient
// was accepted: DATA was not sent or, pipelined, the server answered it
// 354 anyway and the client ended the content at once.
var ErrNoRecipient = errors.New("smtp: no recipient was accepted")

// EnvelopeReplies are what the server answered to a transaction's
// envelope. An entry is nil when the command was accepted, the server's
// *SMTPError when it was refused, or, when the connection failed before
// the reply came, the error Transaction returns.
type EnvelopeReplies struct {
	// Mail is the reply to MAIL.
	Mail error
	// Rcpt holds one reply per recipient, in the order given. When MAIL
	// was refused every recipient has Mail's reply: the server refused
	// the transaction, whatever it answered each RCPT (RFC 2920 §3.1:
	// MAIL and RCPT may share a group, their replies are checked all).
	Rcpt []error
	// Data is the reply to DATA: nil (354) when the returned DataCommand
	// takes the content, ErrNoRecipient when no recipient was accepted
	// and DATA's reply did not refuse, or Mail's reply when MAIL was
	// refused and DATA was not sent.
	Data error
	// Pipelined says the commands went in groups (the server offers
	// PIPELINING), not one at a time.
	Pipelined bool
}

// Transaction starts a mail transaction: MAIL FROM:<from> with mailOpts,
// RCPT TO for each of to (with rcptOpts[i] when rcptOpts is not nil), and
// DATA. When the server advertises PIPELINING (RFC 2920 §3.1) MAIL, the
// RCPTs and DATA leave in one write and the replies are read afterwards,
// in order; otherwise each command waits for its reply, and DATA is sent
// only when a recipient was accepted. For LMTP, RFC 2033 §5 requires the
// server to implement PIPELINING; it is used when the LHLO reply offers
// it.
//
// When DATA is accepted for at least one recipient, the DataCommand takes
// the content as after Data; its Close reads the final reply (LMTP: one
// per accepted recipient, RFC 2033 §4.2). Otherwise the DataCommand is
// nil and the replies say why; the transaction is over, and a client may
// send RSET before the next one (RFC 2920 §3.1).
//
// A non-nil error means the connection is unusable: a network failure, an
// over-long reply (ErrReplyTooLong) or a protocol violation; replies read
// before it are kept. Refusals are not errors: they are in the replies.
func (c *Client) Transaction(from string, mailOpts *MailOptions, to []string, rcptOpts []*RcptOptions) (*DataCommand, *EnvelopeReplies, error) {
	if len(to) == 0 {
		return nil, nil, errors.New("smtp: a transaction needs a recipient")
	}
	if rcptOpts != nil && len(rcptOpts) != len(to) {
		return nil, nil, errors.New("smtp: rcptOpts must have one entry per recipient")
	}
	if err := c.hello(); err != nil {
		return nil, nil, err
	}
	mail, err := c.mailLine(from, mailOpts)
	if err != nil {
		return nil, nil, err
	}
	lines := make([]string, 0, len(to)+2)
	lines = append(lines, mail)
	for i, rcpt := range to {
		var opts *RcptOptions
		if rcptOpts != nil {
			opts = rcptOpts[i]
		}
		line, err := c.rcptLine(rcpt, opts)
		if err != nil {
			return nil, nil, err
		}
		lines = append(lines, line)
	}
	lines = append(lines, "DATA")

	c.rcpts = nil
	res := &EnvelopeReplies{Rcpt: make([]error, len(to))}
	defer c.conn.SetDeadline(time.Time{})
	if _, ok := c.ext["PIPELINING"]; ok {
		res.Pipelined = true
		err = c.pipelineEnvelope(lines, res)
	} else {
		err = c.stepEnvelope(lines, res)
	}
	if err != nil || res.Data != nil {
		return nil, res, err
	}
	for i, rcpt := range to {
		if res.Rcpt[i] == nil {
			c.rcpts = append(c.rcpts, rcpt)
		}
	}
	return &DataCommand{client: c, wc: c.text.DotWriter()}, res, nil
}

// set files the reply to lines[i] of n (MAIL, RCPT..., DATA).
func (res *EnvelopeReplies) set(i, n int, err error) {
	switch {
	case i == 0:
		res.Mail = err
	case i == n-1:
		res.Data = err
	default:
		res.Rcpt[i-1] = err
	}
}

// expectedCode is the reply code that accepts lines[i] of n: 250 to
// MAIL, 25x to RCPT as Rcpt takes it (RFC 5321 §4.3.2: 250 or 251), 354
// to DATA.
func expectedCode(i, n int) int {
	switch {
	case i == 0:
		return 250
	case i == n-1:
		return 354
	default:
		return 25
	}
}

// accepted reports whether MAIL and at least one RCPT were accepted.
func (res *EnvelopeReplies) accepted() bool {
	if res.Mail != nil {
		return false
	}
	for _, err := range res.Rcpt {
		if err == nil {
			return true
		}
	}
	return false
}

// fail files err as the reply to lines[from:n] and returns it.
func (res *EnvelopeReplies) fail(from, n int, err error) error {
	for i := from; i < n; i++ {
		res.set(i, n, err)
	}
	return err
}

// stepEnvelope sends the commands one at a time, each after the reply to
// the one before: MAIL, the RCPTs unless MAIL was refused, DATA if a
// recipient was accepted.
func (c *Client) stepEnvelope(lines []string, res *EnvelopeReplies) error {
	n := len(lines)
	for i, line := range lines {
		if i == n-1 && !res.accepted() {
			break
		}
		_, _, err := c.cmd(expectedCode(i, n), "%s", line)
		if err != nil && !isSMTPError(err) {
			return res.fail(i, n, err)
		}
		res.set(i, n, err)
		if i == 0 && err != nil {
			res.fail(1, n, err) // MAIL refused: no RCPT, no DATA
			return nil
		}
	}
	if !res.accepted() {
		res.Data = ErrNoRecipient
	}
	return nil
}

// pipelineEnvelope writes the commands in groups of at most
// pipelineWindow bytes, reading the replies to each group before the next
// (RFC 2920 §3.1: DATA ends the last group, its reply changes the state),
// then applies §3.1's rule for DATA when no recipient was accepted.
func (c *Client) pipelineEnvelope(lines []string, res *EnvelopeReplies) error {
	n := len(lines)
	sent := 0
	var group []byte
	for sent < n {
		group = group[:0]
		first := sent
		for sent < n && (sent == first || len(group)+len(lines[sent])+2 <= pipelineWindow) {
			group = append(group, lines[sent]...)
			group = append(group, '\r', '\n')
			sent++
		}
		if err := c.writeGroup(group); err != nil {
			return res.fail(first, n, err)
		}
		for i := first; i < sent; i++ {
			c.conn.SetDeadline(time.Now().Add(c.CommandTimeout))
			_, _, err := c.readResponse(expectedCode(i, n))
			if err != nil && !isSMTPError(err) {
				return res.fail(i, n, err)
			}
			res.set(i, n, err)
		}
		if res.Mail != nil && sent < n {
			// MAIL refused with commands still unsent: the
			// transaction is over, DATA is not sent.
			res.fail(sent, n, res.Mail)
			break
		}
	}
	if res.Mail != nil {
		for i := range res.Rcpt {
			res.Rcpt[i] = res.Mail
		}
	}
	if res.accepted() || res.Data != nil {
		return nil
	}
	return c.endEmptyData(res)
}

// endEmptyData handles a 354 to a pipelined DATA when no recipient was
// accepted. RFC 2920 §3.1: the client "cannot assume that the DATA
// command will be rejected just because none of the RCPT TO commands
// worked. If the DATA command was properly rejected the client SMTP can
// just issue RSET, but if the DATA command was accepted the client SMTP
// should send a single dot." The dot ends an empty content; its reply is
// read and dropped. An LMTP server sends one reply per accepted recipient
// after the dot (RFC 2033 §4.2), none here, and had to answer DATA 503:
// after such a violation nothing tells where its replies end, so the
// connection is given up.
func (c *Client) endEmptyData(res *EnvelopeReplies) error {
	res.Data = ErrNoRecipient
	if err := c.writeGroup([]byte(".\r\n")); err != nil {
		return err
	}
	if c.lmtp {
		return errors.New("smtp: the LMTP server accepted DATA without a recipient (RFC 2033 §4.2 requires 503)")
	}
	c.conn.SetDeadline(time.Now().Add(c.SubmissionTimeout))
	if _, _, err := c.readResponse(250); err != nil && !isSMTPError(err) {
		return err
	}
	return nil
}

// writeGroup writes a group of command lines in one write.
func (c *Client) writeGroup(b []byte) error {
	c.conn.SetDeadline(time.Now().Add(c.CommandTimeout))
	if _, err := c.text.W.Write(b); err != nil {
		return err
	}
	return c.text.W.Flush()
}

func isSMTPError(err error) bool {
	var smtpErr *SMTPError
	return errors.As(err, &smtpErr)
}
