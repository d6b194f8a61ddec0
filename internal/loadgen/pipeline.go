package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/textproto"
	"strings"
)

// pipeClient is the submission client of a mail client that saves round
// trips the way the protocol allows, as Postfix's smtp client and the
// larger mail clients do: it sends a group of commands in one write
// and reads their replies afterwards (PIPELINING, RFC 2920 §3.1).
//
//   - AUTH PLAIN with its initial response goes in the group with the
//     first MAIL, RCPT and DATA: RFC 4954 §4 lets AUTH lead a group when
//     the mechanism finishes in one round trip without a security layer,
//     and names PLAIN.
//   - The message content is the first "command" of the next group
//     (RFC 2920 §3.1), and on a connection's last message QUIT follows it
//     in the same write.
//
// go-smtp's client pipelines only MAIL, RCPT... and DATA (Transaction),
// not AUTH before them nor QUIT after the content, so this one speaks the
// protocol itself over net/textproto; it is only as complete as the
// benchmark needs.
type pipeClient struct {
	conn    net.Conn
	text    *textproto.Conn
	pending []owed // replies owed for commands sent and not yet read
}

// openPipelined connects, secures the connection, reads the greeting and
// EHLO reply, and queues AUTH PLAIN for the first message's group.
func openPipelined(ctx context.Context, t Target, conn net.Conn, cfg *tls.Config, helo string) (*pipeClient, bool, error) {
	var tc *tls.Conn
	if t.ImplicitTLS {
		tc = tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, false, err
		}
	}
	p := &pipeClient{conn: conn, text: newText(conn)}
	if tc != nil {
		p.text = newText(tc)
	}
	if err := p.expect(220); err != nil {
		return nil, false, fmt.Errorf("greeting: %w", err)
	}
	ext, err := p.ehlo(helo)
	if err != nil {
		return nil, false, err
	}
	if tc == nil {
		if !ext["STARTTLS"] {
			return nil, false, fmt.Errorf("the server offers no STARTTLS")
		}
		// RFC 3207 §4.2: nothing pipelined after STARTTLS survives it, so
		// the client waits for the 220, then EHLO anew.
		p.text.PrintfLine("STARTTLS")
		if err := p.expect(220); err != nil {
			return nil, false, fmt.Errorf("STARTTLS: %w", err)
		}
		tc = tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, false, err
		}
		p.text = newText(tc)
		if ext, err = p.ehlo(helo); err != nil {
			return nil, false, err
		}
	}
	if !ext["PIPELINING"] {
		return nil, false, fmt.Errorf("the server does not offer PIPELINING (RFC 2920)")
	}
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + t.User + "\x00" + t.Password))
	p.send(235, "AUTH PLAIN "+resp)
	return p, tc.ConnectionState().DidResume, nil
}

// newText reads and writes the protocol on c, with a write buffer that
// holds a whole group and a 10 KiB message: one TLS record and one write
// (textproto's default 4 KiB split the message into three).
func newText(c net.Conn) *textproto.Conn {
	return &textproto.Conn{
		Reader: *textproto.NewReader(bufio.NewReader(c)),
		Writer: *textproto.NewWriter(bufio.NewWriterSize(c, 16<<10)),
	}
}

// ehlo says EHLO and returns the extensions offered (RFC 5321 §4.1.1.1).
func (p *pipeClient) ehlo(helo string) (map[string]bool, error) {
	p.text.PrintfLine("EHLO %s", helo)
	_, msg, err := p.text.ReadResponse(250)
	if err != nil {
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	ext := map[string]bool{}
	for _, line := range strings.Split(msg, "\n")[1:] {
		kw, _, _ := strings.Cut(line, " ")
		ext[strings.ToUpper(kw)] = true
	}
	return ext, nil
}

// owed is a reply the client waits for: the code it must have and the
// command it answers, for the error.
type owed struct {
	code int
	what string
}

// send queues a command in the write buffer; its reply is read later.
func (p *pipeClient) send(code int, format string, args ...any) {
	fmt.Fprintf(p.text.W, format+"\r\n", args...)
	what, _, _ := strings.Cut(format, " ")
	p.pending = append(p.pending, owed{code, what})
}

// expect reads one reply and checks its code.
func (p *pipeClient) expect(code int) error {
	_, _, err := p.text.ReadResponse(code)
	return err
}

// flushAndRead sends the queued group and reads every reply owed, in
// order; the first unexpected one is the error (RFC 2920 §3.1: replies
// come in the order of the commands).
func (p *pipeClient) flushAndRead() error {
	if err := p.text.W.Flush(); err != nil {
		return err
	}
	var first error
	for _, o := range p.pending {
		if err := p.expect(o.code); err != nil && first == nil {
			first = fmt.Errorf("%s: %w", o.what, err)
			if te, ok := err.(*textproto.Error); ok {
				first = fmt.Errorf("%s: %d %s", o.what, te.Code, te.Msg)
			}
		}
	}
	p.pending = p.pending[:0]
	return first
}

// sendMail submits one message; with quit, QUIT follows the content in
// the same write and its reply is read too.
func (p *pipeClient) sendMail(from string, to []string, msg []byte, quit bool) error {
	p.send(250, "MAIL FROM:<%s>", from)
	for _, rcpt := range to {
		p.send(250, "RCPT TO:<%s>", rcpt)
	}
	p.send(354, "DATA")
	if err := p.flushAndRead(); err != nil {
		return err
	}
	writeDotStuffed(p.text.W, msg)
	p.pending = append(p.pending, owed{250, "end of data"})
	if quit {
		p.send(221, "QUIT")
	}
	return p.flushAndRead()
}

// quit says QUIT and reads whatever is owed.
func (p *pipeClient) quit() error {
	p.send(221, "QUIT")
	return p.flushAndRead()
}

// writeDotStuffed writes msg as DATA content and the final ".": a line
// starting with "." gets one more (RFC 5321 §4.5.2), and content not
// ending in CRLF gets one.
func writeDotStuffed(w *bufio.Writer, msg []byte) {
	ends := bytes.HasSuffix(msg, []byte("\r\n"))
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line = msg[:i+1]
		}
		if line[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(line)
		msg = msg[len(line):]
	}
	if !ends {
		w.WriteString("\r\n")
	}
	w.WriteString(".\r\n")
}
