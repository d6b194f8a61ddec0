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
