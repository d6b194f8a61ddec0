package imapserver_test

// mailgate: what an idle compressed connection costs (RFC 4978 keeps an
// inflater per connection; the compressor is pooled per response).

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCompressedIdleMemory opens 200 connections in IDLE, compressed and
// not, and compares the server's heap and stacks (this process also holds
// the clients, but they keep no per-connection buffers beyond their
// sockets: the compressed IDLE command is deflated once for all). It
// fails past 64 KiB more per compressed connection and logs the figure.
func TestCompressedIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 400 connections")
	}
	const n = 200
	addr := compressServer(t, compressCaps)
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.DefaultCompression)
	io.WriteString(fw, "c IDLE\r\n")
	fw.Flush()
	idleCmd := z.Bytes()

	open := func(compress bool) []net.Conn {
		var conns []net.Conn
		for i := 0; i < n; i++ {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conn.SetDeadline(time.Now().Add(60 * time.Second))
			r := bufio.NewReaderSize(conn, 16)
			expect := func(cmd, tag string) {
				if cmd != "" {
					io.WriteString(conn, cmd)
				}
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						t.Fatalf("%q: %v", cmd, err)
					}
					if strings.HasPrefix(l, tag) {
						return
					}
				}
			}
			expect("", "* OK")
			expect("a LOGIN u pw\r\n", "a OK")
			expect("b SELECT INBOX\r\n", "b OK")
			if compress {
				expect("z COMPRESS DEFLATE\r\n", "z OK")
				conn.Write(idleCmd)
				var got []byte
				buf := make([]byte, 64)
				for !bytes.HasSuffix(got, []byte{0, 0, 0xff, 0xff}) {
					k, err := conn.Read(buf)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, buf[:k]...)
				}
			} else {
				expect("c IDLE\r\n", "+ ")
			}
			conns = append(conns, conn)
		}
		return conns
	}
	measure := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	base := measure()
	plain := open(false)
	withPlain := measure()
	compressed := open(true)
	withBoth := measure()
	plainPer := float64(withPlain-base) / n / 1024
	compressedPer := float64(withBoth-withPlain) / n / 1024
	t.Logf("per idle connection (server and client sides, heap+stacks): plain %.1f KiB, compressed %.1f KiB (+%.1f KiB)", plainPer, compressedPer, compressedPer-plainPer)
	if compressedPer-plainPer > 64 {
		t.Errorf("a compressed idle connection costs %.1f KiB more than a plain one, want under 64 KiB", compressedPer-plainPer)
	}
	for _, c := range append(plain, compressed...) {
		c.Close()
	}
}
