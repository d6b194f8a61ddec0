package imapserver

import (
	"io"
	"net"
	"testing"
)

// mailgate: a connection waiting for its client holds no read or write
// buffer (10,000 clients in IDLE would hold 80 MB of them).

// blockingReader signals each Read it enters, then returns what the test
// sends it.
type blockingReader struct {
	entered chan struct{}
	data    chan []byte
}

func (r *blockingReader) Read(p []byte) (int, error) {
	r.entered <- struct{}{}
	b, ok := <-r.data
	if !ok {
		return 0, io.EOF
	}
	return copy(p, b), nil
}

func (r *blockingReader) Write(p []byte) (int, error) { return len(p), nil }

func TestWaitingConnHoldsNoBuffers(t *testing.T) {
	rw := &blockingReader{entered: make(chan struct{}), data: make(chan []byte)}
	client, server := net.Pipe()
	defer client.Close()
	c := newConn(server, New(&Options{}))
	c.setReadWriter(rw)

	if err := c.writeContReq("idling"); err != nil {
		t.Fatal(err)
	}
	if c.bw != nil {
		t.Error("the write buffer is still held after the response went out")
	}

	done := make(chan struct{})
	go func() {
		c.waitInput()
		close(done)
	}()
	<-rw.entered // waitInput is reading the client's first byte
	if c.br != nil {
		t.Error("the read buffer is held while waiting for the client")
	}
	rw.data <- []byte("a")
	<-done
	go func() {
		<-rw.entered
		rw.data <- []byte(" NOOP\r\n")
	}()
	line, _, err := c.br.ReadLine()
	if err != nil || string(line) != "a NOOP" {
		t.Errorf("read %q, %v after the wait, want \"a NOOP\"", line, err)
	}

	// An error met while waiting is the next read's.
	close(rw.data)
	go func() { <-rw.entered }()
	c.waitInput()
	if _, _, err := c.br.ReadLine(); err != io.EOF {
		t.Errorf("read after a wait that met EOF: %v, want EOF", err)
	}
}
