package delivery

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSTARTTLSResponseInjectionRefused: a reply smuggled in plaintext right
// after "220" to STARTTLS must not be read as if it came over TLS.
func TestSTARTTLSResponseInjectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		c.Write([]byte("220 mx.test ESMTP\r\n"))
		br.ReadString('\n') // EHLO
		c.Write([]byte("250-mx.test\r\n250 STARTTLS\r\n"))
		br.ReadString('\n') // STARTTLS
		c.Write([]byte("220 2.0.0 go ahead\r\n250 2.1.0 injected\r\n"))
		br.ReadString('\n')
	}()
	d := &net.Dialer{Timeout: 5 * time.Second}
	_, err = dialSession(context.Background(), d, "mx.test", l.Addr().String(), "mail.ours.example", tlsRequired,
		&tls.Config{InsecureSkipVerify: true}, 5*time.Second)
	var te errTLS
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "sent data after its STARTTLS reply") {
		t.Fatalf("err = %v, want the injection refused", err)
	}
}

// TestEndlessReplyRefused: a server answering with "250-" lines that never
// end (or a greeting that never ends) is cut off at smtp.MaxReplySize with a
// clear error, not read into memory until the command timeout. The
// greeting and EHLO are read by dialSession itself (replyLimited), MAIL by
// go-smtp's client (its own reply cap).
func TestEndlessReplyRefused(t *testing.T) {
	for _, stage := range []string{"greeting", "EHLO", "MAIL"} {
		t.Run(stage, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			sent := make(chan int, 1)
			go func() {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				endless := func(code string) {
					line := []byte(code + "-" + strings.Repeat("x", 400) + "\r\n")
					n := 0
					for n < 64<<20 {
						if _, err := c.Write(line); err != nil {
							break
						}
						n += len(line)
					}
					sent <- n
				}
				if stage == "greeting" {
					endless("220")
					return
				}
				c.Write([]byte("220 mx.test ESMTP\r\n"))
				br.ReadString('\n') // EHLO (ours)
				if stage == "EHLO" {
					endless("250")
					return
				}
				c.Write([]byte("250 mx.test\r\n"))
				br.ReadString('\n') // EHLO (go-smtp's, after the replayed greeting)
				c.Write([]byte("250 mx.test\r\n"))
				br.ReadString('\n') // MAIL
				endless("250")
			}()
			d := &net.Dialer{Timeout: 5 * time.Second}
			s, err := dialSession(context.Background(), d, "mx.test", l.Addr().String(), "mail.ours.example", tlsOpportunistic, &tls.Config{InsecureSkipVerify: true}, 20*time.Second)
			if err == nil {
				err = s.c.Mail("a@ours.example", nil)
				s.c.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "longer than 64 KiB") {
				t.Fatalf("err = %v, want the reply refused at 64 KiB", err)
			}
			l.Close()
			if n := <-sent; n >= 64<<20 {
				t.Fatalf("the client read all %d bytes", n)
			}
		})
	}
}
