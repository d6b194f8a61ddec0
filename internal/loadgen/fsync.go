package loadgen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Fsync measures the durable-write rate the spool is bound by: each
// operation writes size bytes to a new file, fsyncs it, renames it into
// another directory and fsyncs that directory, which is what spool.Put
// does per message (without its shared directory fsync). writers run
// concurrently, each with its own pair of directories under dir.
func Fsync(ctx context.Context, dir string, size, writers int, d time.Duration) (*Result, error) {
	if writers <= 0 {
		writers = 1
	}
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	var (
		mu    sync.Mutex
		res   Result
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				name := fmt.Sprintf("%d", seq.Add(1))
				if err := durableWrite(tmp, dst, name, buf); err != nil {
					errOn.CompareAndSwap(nil, err)
					return
				}
				lat := time.Since(t0)
				mu.Lock()
				res.Sent++
				res.Latencies = append(res.Latencies, lat)
				mu.Unlock()
				os.Remove(filepath.Join(dst, name))
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if err, _ := errOn.Load().(error); err != nil {
		return &res, err
	}
	return &res, nil
}

func durableWrite(tmpDir, dstDir, name string, b []byte) error {
	p := filepath.Join(tmpDir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p, filepath.Join(dstDir, name))
	}
	if err != nil {
		return err
	}
	d, err := os.Open(dstDir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
