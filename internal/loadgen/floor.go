package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// Floor measures what one-message-per-connection submission costs when
// the server does nothing but the protocol: the same client as Run, with
// pipelining on implicit TLS (the cheapest session RFC 2920, RFC 4954 §4
// and RFC 8314 allow), against an in-process server with serverConf (the
// node's certificate and TLS settings, as Handshakes uses) that answers
// every command with a canned reply, accepts any AUTH, and takes the
// content up to CRLF.CRLF. With durableDir the content is also written as
// spool.Put writes a message (unnamed file, fsync, link, directory fsync)
// before the 250; without it the content is dropped.
//
// It is the floor under any real server's one-message rate on the
// machine, as Handshakes is the floor under a connection's: the two
// together say how far a ratio of the two can go before any mail logic
// (password, sender, limits, quota, delivery) is counted.
func Floor(ctx context.Context, serverConf *tls.Config, durableDir string, l Load) (*Result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	var store func([]byte) error
	if durableDir != "" {
		dstDir, err := durableDirs(durableDir)
		if err != nil {
			return nil, err
		}
		defer dstDir.Close()
		store = durableStore(dstDir)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveFloor(tls.Server(c, serverConf), store)
		}
	}()
	l.Target.Addr, l.Target.ImplicitTLS, l.Target.Pipelining = ln.Addr().String(), true, true
	if l.Target.User == "" {
		l.Target.User, l.Target.Password = "floor@floor.invalid", "floor"
	}
	if l.From == "" {
		l.From, l.To = l.Target.User, []string{l.Target.User}
	}
	return Run(ctx, l)
}

// durableDirs makes dir's tmp and new directories and opens new, which
// stays open for the run as spool's message directory does: opening it
// per message would count a cost spool.Put does not have.
func durableDirs(dir string) (*os.File, error) {
	for _, d := range []string{"tmp", "new"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	return os.Open(filepath.Join(dir, "new"))
}

// durableStore returns a function that writes a message durably into
// dstDir (durableDirs' new), each one a new file that stays, as
// deliveries into a Maildir do. Names carry the process and a counter, so
// runs never collide.
func durableStore(dstDir *os.File) func([]byte) error {
	tmp := filepath.Join(filepath.Dir(dstDir.Name()), "tmp")
	prefix := filepath.Join(dstDir.Name(), fmt.Sprintf("%d.%d.", time.Now().Unix(), os.Getpid()))
	var seq atomic.Int64
	return func(b []byte) error {
		return durableWrite(tmp, dstDir, prefix+strconv.FormatInt(seq.Add(1), 10), b)
	}
}

// Canned replies: what a server that accepts everything says.
var (
	floorGreeting = []byte("220 floor.invalid ESMTP\r\n")
	floorEhlo     = []byte("250-floor.invalid\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SIZE 52428800\r\n")
	floorReplies  = map[string][]byte{
		"AUTH": []byte("235 2.7.0 Authentication successful\r\n"),
		"MAIL": []byte("250 2.1.0 Ok\r\n"),
		"RCPT": []byte("250 2.1.5 Ok\r\n"),
		"RSET": []byte("250 2.0.0 Ok\r\n"),
		"NOOP": []byte("250 2.0.0 Ok\r\n"),
		"DATA": []byte("354 End data with <CR><LF>.<CR><LF>\r\n"),
		"QUIT": []byte("221 2.0.0 Bye\r\n"),
	}
	floorQueued  = []byte("250 2.0.0 Ok: queued\r\n")
	floorFailed  = []byte("451 4.3.0 Local error\r\n")
	floorUnknown = []byte("500 5.5.2 Error: command not recognized\r\n")
)

// serveFloor speaks the canned side of a session on c. Replies wait in
// the write buffer until the server has read all that the client sent
// (as mailgate's and Postfix's servers do), so a pipelined group's
// replies leave in one TLS record.
func serveFloor(c *tls.Conn, store func([]byte) error) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	// A line longer than the read buffer (ReadSlice's ErrBufferFull) ends
	// the session: the benchmark's client never sends one.
	br, bw := bufio.NewReaderSize(c, 16<<10), bufio.NewWriterSize(c, 4096)
	readLine := func() ([]byte, error) {
		if br.Buffered() == 0 && bw.Flush() != nil {
			return nil, net.ErrClosed
		}
		return br.ReadSlice('\n')
	}
	bw.Write(floorGreeting)
	var msg bytes.Buffer
	for {
		line, err := readLine()
		if err != nil {
			return
		}
		verb := string(bytes.ToUpper(bytes.TrimRight(line[:min(4, len(line))], "\r\n")))
		switch verb {
		case "EHLO":
			bw.Write(floorEhlo)
		case "DATA":
			bw.Write(floorReplies[verb])
			msg.Reset()
			if err := readContent(readLine, &msg); err != nil {
				return
			}
			reply := floorQueued
			if store != nil && store(msg.Bytes()) != nil {
				reply = floorFailed
			}
			bw.Write(reply)
		case "QUIT":
			bw.Write(floorReplies[verb])
			bw.Flush()
			return
		default:
			if r, ok := floorReplies[verb]; ok {
				bw.Write(r)
			} else {
				bw.Write(floorUnknown)
			}
		}
	}
}

// readContent reads DATA's content up to the line "." (RFC 5321 §4.1.1.4),
// undoing the dot-stuffing (§4.5.2).
func readContent(readLine func() ([]byte, error), msg *bytes.Buffer) error {
	for {
		line, err := readLine()
		if err != nil {
			return fmt.Errorf("floor: content: %w", err)
		}
		if bytes.Equal(line, []byte(".\r\n")) {
			return nil
		}
		msg.Write(bytes.TrimPrefix(line, []byte(".")))
	}
}
