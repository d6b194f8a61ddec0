package loadgen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"mailgate/internal/atomicfile"
)

// Fsync measures the durable-write rate the spool is bound by: each
// operation writes size bytes to a new file, fsyncs it, links it into
// another directory and fsyncs that directory, through the same
// atomicfile spool.Put uses (without Put's directory fsync shared between
// writers). writers run concurrently, each with its own pair of
// directories under dir.
func Fsync(ctx context.Context, dir string, size, writers int, d time.Duration) (*Result, error) {
	if writers <= 0 {
		writers = 1
	}
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	var (
		tl    tally
		wg    sync.WaitGroup
		errOn atomic.Value
		seq   atomic.Int64
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < writers; w++ {
		tmp, dst := filepath.Join(dir, fmt.Sprintf("tmp%d", w)), filepath.Join(dir, fmt.Sprintf("dst%d", w))
		for _, p := range []string{tmp, dst} {
			if err := os.MkdirAll(p, 0o700); err != nil {
				return nil, err
			}
		}
		dstDir, err := os.Open(dst)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer dstDir.Close()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				name := filepath.Join(dst, fmt.Sprintf("%d", seq.Add(1)))
				if err := durableWrite(tmp, dstDir, name, buf); err != nil {
					errOn.CompareAndSwap(nil, err)
					return
				}
				tl.ok(time.Since(t0))
				os.Remove(name)
			}
		}()
	}
	wg.Wait()
	tl.res.Elapsed = time.Since(start)
	err, _ := errOn.Load().(error)
	return &tl.res, err
}

// durableWrite is spool.Put's write: an unnamed file in tmpDir, fsynced,
// linked in as name, then its directory (dstDir) fsynced.
func durableWrite(tmpDir string, dstDir *os.File, name string, b []byte) error {
	f, err := atomicfile.Create(tmpDir)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Abort()
		return err
	}
	if err := f.Commit(name); err != nil {
		return err
	}
	return dstDir.Sync()
}
