package mailbox

import (
	"bytes"
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkCopyDeliver10KiB: one 10 KiB message into one Maildir per
// operation, 20 writers at once (the MX's sessions delivering before the
// 250); compare spool's BenchmarkPut10KiB, the same write into the queue.
func BenchmarkCopyDeliver10KiB(b *testing.B) {
	dir := b.TempDir()
	if err := Ensure(dir); err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 160)
	b.SetBytes(int64(len(body)))
	var n atomic.Int64
	b.SetParallelism(10)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := NewCopy(body)
			if err := c.Deliver(dir, strconv.FormatInt(n.Add(1), 10), ""); err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
}
