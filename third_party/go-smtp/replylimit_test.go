package smtp

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
)

// mailgate: a reply is cut off at MaxReplySize however many continuation
// lines it has, each reply has its own budget, and a reply just under it
// is read whole.

// replyServer answers on the server end of a pipe: greeting, then one
// reply per command line read, each made by reply(n) for the n-th command.
// It returns how many bytes it managed to write in all.
func replyServer(conn net.Conn, greeting string, reply func(n int) string) <-chan int {
	written := make(chan int, 1)
	go func() {
		defer conn.Close()
		total := 0
		defer func() { written <- total }()
		br := bufio.NewReader(conn)
		write := func(s string) bool {
			n, err := conn.Write([]byte(s))
			total += n
			return err == nil
		}
		if !write(greeting) {
			return
		}
		for n := 0; ; n++ {
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
			if !write(reply(n)) {
				return
			}
		}
	}()
	return written
}

// multiline is a reply of code with lines continuation lines of 400 bytes.
func multiline(code string, lines int) string {
	var b strings.Builder
	for i := 0; i < lines; i++ {
		b.WriteString(code + "-" + strings.Repeat("x", 400) + "\r\n")
	}
	b.WriteString(code + " end\r\n")
	return b.String()
}

// endless is far more than MaxReplySize of continuation lines; the pipe
// makes each write wait for the client's read, so what was written is
// what the client took in.
var endless = multiline("250", 64<<20/400)

func TestClient_EndlessReplyRefused(t *testing.T) {
	for _, stage := range []string{"greeting", "EHLO", "MAIL"} {
		t.Run(stage, func(t *testing.T) {
			cc, sc := net.Pipe()
			greeting := "220 mx.test ESMTP\r\n"
			if stage == "greeting" {
				greeting = strings.Replace(endless, "250", "220", -1)
			}
			written := replyServer(sc, greeting, func(n int) string {
				if stage == "EHLO" || n == 1 {
					return endless
				}
				return "250 mx.test\r\n"
			})
			c := NewClient(cc)
			err := c.Hello("client.test")
			if err == nil {
				err = c.Mail("a@client.test", nil)
			}
			if !errors.Is(err, ErrReplyTooLong) {
				t.Fatalf("err = %v, want ErrReplyTooLong", err)
			}
			c.Close()
			// The client stopped reading within one bufio buffer and one
			// line of the cap.
			if n := <-written; n > MaxReplySize+8<<10 {
				t.Fatalf("the client read %d bytes, the cap is %d", n, MaxReplySize)
			}
		})
	}
}

func TestClient_EachReplyHasItsOwnBudget(t *testing.T) {
	cc, sc := net.Pipe()
	// Two replies of 60 KiB each: under the cap each, over it together.
	big := multiline("250", 60<<10/402)
	written := replyServer(sc, "220 mx.test ESMTP\r\n", func(n int) string {
		switch n {
		case 0, 1:
			return big
		}
		return "221 bye\r\n"
	})
	c := NewClient(cc)
	if err := c.Hello("client.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	if err := c.Mail("a@client.test", nil); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("QUIT: %v", err)
	}
	if n := <-written; n < 2*len(big) {
		t.Fatalf("the server wrote %d bytes, want at least %d", n, 2*len(big))
	}
}
