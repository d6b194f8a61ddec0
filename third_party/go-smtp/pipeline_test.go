package smtp

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// mailgate: Transaction pipelines MAIL, RCPT... and DATA in one write
// when the server offers PIPELINING (RFC 2920) and maps every reply to
// its command; without PIPELINING it sends one command at a time.

// writesConn records each Write the client makes.
type writesConn struct {
	net.Conn
	mu     sync.Mutex
	writes []string
}

func (c *writesConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, string(b))
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// take returns the writes since the last take.
func (c *writesConn) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.writes
	c.writes = nil
	return w
}

// scriptServer plays a server on the far end of a pipe. Its EHLO (or
// LHLO) reply offers ext; every other command line gets reply(line), the
// end of the content reply("."). Like a pipelining server (and go-smtp's
// and Postfix's smtpd) it holds its replies until it has read all the
// client wrote, then sends them in one write. A reply "" closes the
// connection.
type scriptServer struct {
	mu       sync.Mutex
	commands []string
	contents []string
	done     chan struct{}
}

func startScript(t *testing.T, sc net.Conn, ext []string, reply func(line string) string) *scriptServer {
	t.Helper()
	s := &scriptServer{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer sc.Close()
		br := bufio.NewReader(sc)
		var out strings.Builder
		out.WriteString("220 mx.test ESMTP\r\n")
		var content *strings.Builder
		for {
			if br.Buffered() == 0 && out.Len() > 0 {
				if _, err := sc.Write([]byte(out.String())); err != nil {
					return
				}
				out.Reset()
			}
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if content != nil {
				if line != ".\r\n" {
					content.WriteString(line)
					continue
				}
				s.mu.Lock()
				s.contents = append(s.contents, content.String())
				s.mu.Unlock()
				content = nil
				line = ".\r\n"
			}
			cmd := strings.TrimSuffix(line, "\r\n")
			s.mu.Lock()
			s.commands = append(s.commands, cmd)
			s.mu.Unlock()
			var r string
			switch {
			case strings.HasPrefix(cmd, "EHLO "), strings.HasPrefix(cmd, "LHLO "):
				r = "250-mx.test\r\n"
				for _, e := range ext {
					r += "250-" + e + "\r\n"
				}
				r += "250 ENHANCEDSTATUSCODES\r\n"
			case cmd == "QUIT":
				r = "221 2.0.0 bye\r\n"
			case cmd == "RSET":
				r = "250 2.0.0 reset\r\n"
			default:
				r = reply(cmd)
			}
			if r == "" {
				return
			}
			out.WriteString(r)
			if cmd == "DATA" && strings.HasPrefix(r, "354") {
				content = &strings.Builder{}
			}
		}
	}()
	return s
}

func (s *scriptServer) seen() ([]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...), append([]string(nil), s.contents...)
}

// replies answers each command from table, by its first word or whole
// line, whichever is listed (the line wins).
func replies(table map[string]string) func(string) string {
	return func(cmd string) string {
		if r, ok := table[cmd]; ok {
			return r
		}
		verb, _, _ := strings.Cut(cmd, " ")
		return table[verb]
	}
}

// dial connects a client to a scriptServer offering ext and says hello.
func dialScript(t *testing.T, lmtp bool, ext []string, reply func(string) string) (*Client, *writesConn, *scriptServer) {
	t.Helper()
	cc, sc := net.Pipe()
	wc := &writesConn{Conn: cc}
	s := startScript(t, sc, ext, reply)
	c := NewClient(wc)
	c.lmtp = lmtp
	c.CommandTimeout = 10 * time.Second
	c.SubmissionTimeout = 10 * time.Second
	t.Cleanup(func() { c.Close(); <-s.done })
	if err := c.Hello("client.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	wc.take()
	return c, wc, s
}

var fiveRcpts = []string{"r1@far.test", "r2@far.test", "r3@far.test", "r4@far.test", "r5@far.test"}

// group is the command lines of a transaction as one string.
func group(from string, to []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "MAIL FROM:<%s>\r\n", from)
	for _, rc := range to {
		fmt.Fprintf(&b, "RCPT TO:<%s>\r\n", rc)
	}
	b.WriteString("DATA\r\n")
	return b.String()
}

// replyText renders a reply as "550 5.1.1 text", or "accepted" for nil.
func replyText(err error) string {
	if err == nil {
		return "accepted"
	}
	var se *SMTPError
	if errors.As(err, &se) {
		return fmt.Sprintf("%d %d.%d.%d %s", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
	}
	return "error: " + err.Error()
}

func rcptTexts(res *EnvelopeReplies) []string {
	var out []string
	for _, err := range res.Rcpt {
		out = append(out, replyText(err))
	}
	return out
}

func sameStrings(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

func TestTransaction_PipelinedIsOneWrite(t *testing.T) {
	c, wc, s := dialScript(t, false, []string{"PIPELINING"}, replies(map[string]string{
		"MAIL": "250 2.1.0 sender ok\r\n", "RCPT": "250 2.1.5 recipient ok\r\n",
		"DATA": "354 go ahead\r\n", ".": "250 2.0.0 queued as 1A2B\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts, nil)
	if err != nil || dc == nil {
		t.Fatalf("Transaction: %v, data command %v", err, dc)
	}
	if w := wc.take(); !sameStrings(w, []string{group("s@ours.test", fiveRcpts)}) {
		t.Fatalf("writes = %q, want MAIL, 5 RCPT and DATA in one", w)
	}
	if !res.Pipelined || res.Mail != nil || res.Data != nil {
		t.Fatalf("replies = %+v", res)
	}
	if got := rcptTexts(res); !sameStrings(got, []string{"accepted", "accepted", "accepted", "accepted", "accepted"}) {
		t.Fatalf("RCPT replies = %q", got)
	}
	dc.Write([]byte("Subject: hi\r\n\r\n.dot\r\n"))
	resp, err := dc.CloseWithResponse()
	if err != nil || resp.StatusText != "2.0.0 queued as 1A2B" {
		t.Fatalf("end of data: %v %+v", err, resp)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	<-s.done
	if _, contents := s.seen(); !sameStrings(contents, []string{"Subject: hi\r\n\r\n..dot\r\n"}) {
		t.Fatalf("server got content %q", contents)
	}
}

func TestTransaction_MixedRepliesGoToTheirRecipients(t *testing.T) {
	c, wc, _ := dialScript(t, false, []string{"PIPELINING"}, replies(map[string]string{
		"MAIL":                  "250 2.1.0 ok\r\n",
		"RCPT TO:<r1@far.test>": "250 2.1.5 ok\r\n",
		"RCPT TO:<r2@far.test>": "550 5.1.1 no such user r2\r\n",
		"RCPT TO:<r3@far.test>": "452 4.5.3 too many recipients\r\n",
		"RCPT TO:<r4@far.test>": "250 2.1.5 ok\r\n",
		"RCPT TO:<r5@far.test>": "550-5.7.1 r5 refuses\r\n550 5.7.1 mail from you\r\n",
		"DATA":                  "354 go ahead\r\n", ".": "250 2.0.0 queued\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts, nil)
	if err != nil || dc == nil {
		t.Fatalf("Transaction: %v, data command %v", err, dc)
	}
	if w := wc.take(); len(w) != 1 {
		t.Fatalf("writes = %q, want one", w)
	}
	want := []string{"accepted", "550 5.1.1 no such user r2", "452 4.5.3 too many recipients", "accepted", "550 5.7.1 r5 refuses\nmail from you"}
	if got := rcptTexts(res); !sameStrings(got, want) {
		t.Fatalf("RCPT replies = %q, want %q", got, want)
	}
	if !sameStrings(c.rcpts, []string{"r1@far.test", "r4@far.test"}) {
		t.Fatalf("recipients of the content = %q", c.rcpts)
	}
	if _, err := dc.CloseWithResponse(); err != nil {
		t.Fatal(err)
	}
}

func TestTransaction_MailRefusedFailsEveryRecipient(t *testing.T) {
	c, wc, _ := dialScript(t, false, []string{"PIPELINING"}, replies(map[string]string{
		"MAIL": "451 4.3.0 sender check failed, try later\r\n",
		"RCPT": "503 5.5.1 MAIL first\r\n", "DATA": "503 5.5.1 no valid recipients\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts[:3], nil)
	if err != nil || dc != nil {
		t.Fatalf("Transaction: %v, data command %v", err, dc)
	}
	mail := "451 4.3.0 sender check failed, try later"
	if replyText(res.Mail) != mail || !sameStrings(rcptTexts(res), []string{mail, mail, mail}) {
		t.Fatalf("MAIL %q, RCPT %q: want MAIL's reply for all", replyText(res.Mail), rcptTexts(res))
	}
	if replyText(res.Data) != "503 5.5.1 no valid recipients" {
		t.Fatalf("DATA reply = %q", replyText(res.Data))
	}
	// DATA was refused: no dot, the session goes on in step.
	if w := wc.take(); !sameStrings(w, []string{group("s@ours.test", fiveRcpts[:3])}) {
		t.Fatalf("writes = %q", w)
	}
	if err := c.Reset(); err != nil {
		t.Fatalf("RSET after the refused transaction: %v", err)
	}
}

// TestTransaction_NoRecipientDataRefused: RFC 2920 §3.1, DATA properly
// refused after every RCPT was: nothing more is sent.
func TestTransaction_NoRecipientDataRefused(t *testing.T) {
	c, wc, s := dialScript(t, false, []string{"PIPELINING"}, replies(map[string]string{
		"MAIL": "250 2.1.0 ok\r\n", "RCPT": "550 5.1.1 no such user\r\n",
		"DATA": "554 5.5.1 no valid recipients\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts[:2], nil)
	if err != nil || dc != nil {
		t.Fatalf("Transaction: %v, data command %v", err, dc)
	}
	if replyText(res.Data) != "554 5.5.1 no valid recipients" || !sameStrings(rcptTexts(res), []string{"550 5.1.1 no such user", "550 5.1.1 no such user"}) {
		t.Fatalf("replies: DATA %q RCPT %q", replyText(res.Data), rcptTexts(res))
	}
	if w := wc.take(); len(w) != 1 {
		t.Fatalf("writes = %q, want the group only", w)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	<-s.done
	if cmds, _ := s.seen(); cmds[len(cmds)-1] != "QUIT" || cmds[len(cmds)-2] != "DATA" {
		t.Fatalf("server saw %q", cmds)
	}
}

// TestTransaction_NoRecipientDataAcceptedGetsADot: RFC 2920 §3.1, "if the
// DATA command was accepted the client SMTP should send a single dot",
// and the session stays in step.
func TestTransaction_NoRecipientDataAcceptedGetsADot(t *testing.T) {
	for _, mail := range []string{"250 2.1.0 ok\r\n", "451 4.3.0 try later\r\n"} {
		t.Run(mail[:3], func(t *testing.T) {
			c, wc, s := dialScript(t, false, []string{"PIPELINING"}, replies(map[string]string{
				"MAIL": mail, "RCPT": "550 5.1.1 no such user\r\n",
				"DATA": "354 go ahead\r\n", ".": "554 5.5.1 no valid recipients\r\n",
			}))
			dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts[:2], nil)
			if err != nil || dc != nil {
				t.Fatalf("Transaction: %v, data command %v", err, dc)
			}
			if res.Data != ErrNoRecipient {
				t.Fatalf("DATA = %v, want ErrNoRecipient", res.Data)
			}
			if w := wc.take(); !sameStrings(w, []string{group("s@ours.test", fiveRcpts[:2]), ".\r\n"}) {
				t.Fatalf("writes = %q, want the group then a lone dot", w)
			}
			// The dot's reply was read: RSET gets its own.
			if err := c.Reset(); err != nil {
				t.Fatalf("RSET after the dot: %v", err)
			}
			if err := c.Quit(); err != nil {
				t.Fatal(err)
			}
			<-s.done
			if _, contents := s.seen(); !sameStrings(contents, []string{""}) {
				t.Fatalf("server got content %q, want one empty", contents)
			}
		})
	}
}

func TestTransaction_WithoutPipeliningOneCommandAtATime(t *testing.T) {
	c, wc, _ := dialScript(t, false, nil, replies(map[string]string{
		"MAIL": "250 2.1.0 ok\r\n", "RCPT TO:<r1@far.test>": "250 2.1.5 ok\r\n",
		"RCPT TO:<r2@far.test>": "550 5.1.1 no such user\r\n",
		"DATA":                  "354 go ahead\r\n", ".": "250 2.0.0 queued\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts[:2], nil)
	if err != nil || dc == nil {
		t.Fatalf("Transaction: %v, data command %v", err, dc)
	}
	want := []string{"MAIL FROM:<s@ours.test>\r\n", "RCPT TO:<r1@far.test>\r\n", "RCPT TO:<r2@far.test>\r\n", "DATA\r\n"}
	if w := wc.take(); !sameStrings(w, want) {
		t.Fatalf("writes = %q, want %q", w, want)
	}
	if res.Pipelined || !sameStrings(rcptTexts(res), []string{"accepted", "550 5.1.1 no such user"}) {
		t.Fatalf("replies = %+v, RCPT %q", res, rcptTexts(res))
	}
	if _, err := dc.CloseWithResponse(); err != nil {
		t.Fatal(err)
	}
}

func TestTransaction_WithoutPipeliningNoDataWithoutRecipient(t *testing.T) {
	c, wc, _ := dialScript(t, false, nil, replies(map[string]string{
		"MAIL": "250 2.1.0 ok\r\n", "RCPT": "550 5.1.1 no such user\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts[:2], nil)
	if err != nil || dc != nil || res.Data != ErrNoRecipient {
		t.Fatalf("Transaction: %v, data command %v, DATA %v", err, dc, res.Data)
	}
	if w := wc.take(); len(w) != 3 {
		t.Fatalf("writes = %q, want MAIL and two RCPT, no DATA", w)
	}
}

func TestTransaction_WithoutPipeliningMailRefused(t *testing.T) {
	c, wc, _ := dialScript(t, false, nil, replies(map[string]string{
		"MAIL": "550 5.7.1 sender refused\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts[:2], nil)
	if err != nil || dc != nil {
		t.Fatalf("Transaction: %v, data command %v", err, dc)
	}
	mail := "550 5.7.1 sender refused"
	if !sameStrings(rcptTexts(res), []string{mail, mail}) || replyText(res.Data) != mail {
		t.Fatalf("RCPT %q DATA %q, want MAIL's reply", rcptTexts(res), replyText(res.Data))
	}
	if w := wc.take(); len(w) != 1 {
		t.Fatalf("writes = %q, want MAIL only", w)
	}
}

// TestTransaction_LMTPPipelined: LHLO offers PIPELINING (RFC 2033 §5);
// after the content one reply per accepted recipient (§4.2).
func TestTransaction_LMTPPipelined(t *testing.T) {
	c, wc, _ := dialScript(t, true, []string{"PIPELINING"}, replies(map[string]string{
		"MAIL": "250 2.1.0 ok\r\n", "RCPT TO:<r1@far.test>": "250 2.1.5 ok\r\n",
		"RCPT TO:<r2@far.test>": "451 4.2.0 mailbox being moved\r\n",
		"RCPT TO:<r3@far.test>": "250 2.1.5 ok\r\n",
		"DATA":                  "354 go ahead\r\n",
		".":                     "250 2.0.0 r1 stored\r\n552 5.2.2 r3 over quota\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts[:3], nil)
	if err != nil || dc == nil {
		t.Fatalf("Transaction: %v, data command %v", err, dc)
	}
	if w := wc.take(); !sameStrings(w, []string{group("s@ours.test", fiveRcpts[:3])}) {
		t.Fatalf("writes = %q", w)
	}
	if got := rcptTexts(res); !sameStrings(got, []string{"accepted", "451 4.2.0 mailbox being moved", "accepted"}) {
		t.Fatalf("RCPT replies = %q", got)
	}
	resp, err := dc.CloseWithLMTPResponse()
	var lerr LMTPDataError
	if !errors.As(err, &lerr) || len(lerr) != 1 || lerr["r3@far.test"] == nil || lerr["r3@far.test"].Code != 552 {
		t.Fatalf("LMTP errors = %v", err)
	}
	if len(resp) != 1 || resp["r1@far.test"] == nil || resp["r1@far.test"].StatusText != "2.0.0 r1 stored" {
		t.Fatalf("LMTP replies = %+v", resp)
	}
}

// TestTransaction_LMTPDataWithoutRecipientIsBroken: an LMTP server must
// refuse DATA without a recipient (RFC 2033 §4.2); one that accepts it
// cannot be followed after the dot.
func TestTransaction_LMTPDataWithoutRecipientIsBroken(t *testing.T) {
	c, wc, _ := dialScript(t, true, []string{"PIPELINING"}, replies(map[string]string{
		"MAIL": "250 2.1.0 ok\r\n", "RCPT": "550 5.1.1 no such user\r\n", "DATA": "354 go ahead\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts[:1], nil)
	if err == nil || dc != nil {
		t.Fatalf("Transaction: %v, data command %v, want an error", err, dc)
	}
	if replyText(res.Rcpt[0]) != "550 5.1.1 no such user" {
		t.Fatalf("RCPT reply = %q", replyText(res.Rcpt[0]))
	}
	if w := wc.take(); len(w) != 2 || w[1] != ".\r\n" {
		t.Fatalf("writes = %q, want the group and a dot", w)
	}
}

// TestTransaction_ReplyTooLongInGroup: MaxReplySize applies to each reply
// of a pipelined group; the replies before the long one are kept.
func TestTransaction_ReplyTooLongInGroup(t *testing.T) {
	c, _, _ := dialScript(t, false, []string{"PIPELINING"}, replies(map[string]string{
		"MAIL": "250 2.1.0 ok\r\n", "RCPT TO:<r1@far.test>": "250 2.1.5 ok\r\n",
		"RCPT TO:<r2@far.test>": multiline("550", 70<<10/400),
		"RCPT":                  "250 2.1.5 ok\r\n", "DATA": "354 go ahead\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts[:3], nil)
	if !errors.Is(err, ErrReplyTooLong) || dc != nil {
		t.Fatalf("Transaction: %v, data command %v, want ErrReplyTooLong", err, dc)
	}
	if res.Mail != nil || res.Rcpt[0] != nil || res.Rcpt[1] != ErrReplyTooLong || res.Rcpt[2] != ErrReplyTooLong || res.Data != ErrReplyTooLong {
		t.Fatalf("replies = %+v", res)
	}
}

// TestTransaction_EachReplyHasItsOwnBudget: replies of 40 KiB each, 120
// KiB together in one group, are all read.
func TestTransaction_EachReplyHasItsOwnBudget(t *testing.T) {
	big := multiline("250", 40<<10/402)
	c, _, _ := dialScript(t, false, []string{"PIPELINING"}, replies(map[string]string{
		"MAIL": big, "RCPT": big, "DATA": "354 go ahead\r\n", ".": "250 2.0.0 queued\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts[:2], nil)
	if err != nil || dc == nil {
		t.Fatalf("Transaction: %v, data command %v, replies %+v", err, dc, res)
	}
	if _, err := dc.CloseWithResponse(); err != nil {
		t.Fatal(err)
	}
}

// TestTransaction_GroupOverWindowIsSplit: RFC 2920 §3.1, a group that
// does not fit in the window goes in several writes, each after the
// replies to the one before.
func TestTransaction_GroupOverWindowIsSplit(t *testing.T) {
	var to []string
	for i := 0; i < 150; i++ {
		to = append(to, fmt.Sprintf("recipient-number-%03d@far.test", i))
	}
	c, wc, _ := dialScript(t, false, []string{"PIPELINING"}, replies(map[string]string{
		"MAIL": "250 2.1.0 ok\r\n", "RCPT": "250 2.1.5 ok\r\n",
		"DATA": "354 go ahead\r\n", ".": "250 2.0.0 queued\r\n",
	}))
	dc, res, err := c.Transaction("s@ours.test", nil, to, nil)
	if err != nil || dc == nil {
		t.Fatalf("Transaction: %v, data command %v", err, dc)
	}
	w := wc.take()
	if len(w) != 2 || strings.Join(w, "") != group("s@ours.test", to) {
		t.Fatalf("%d writes, want the group in 2", len(w))
	}
	for _, g := range w {
		if len(g) > pipelineWindow {
			t.Fatalf("a write of %d bytes, over the %d window", len(g), pipelineWindow)
		}
	}
	for i, err := range res.Rcpt {
		if err != nil {
			t.Fatalf("RCPT %d: %v", i, err)
		}
	}
	dc.CloseWithResponse()
}

// TestTransaction_ConnectionLost: no reply at all is a network error in
// every reply (a pooled connection the server had closed).
func TestTransaction_ConnectionLost(t *testing.T) {
	c, _, _ := dialScript(t, false, []string{"PIPELINING"}, replies(map[string]string{}))
	dc, res, err := c.Transaction("s@ours.test", nil, fiveRcpts[:2], nil)
	if err == nil || dc != nil || isSMTPError(err) {
		t.Fatalf("Transaction: %v, data command %v, want a network error", err, dc)
	}
	if res.Mail != err || res.Rcpt[0] != err || res.Rcpt[1] != err || res.Data != err {
		t.Fatalf("replies = %+v, want the error in each", res)
	}
}
