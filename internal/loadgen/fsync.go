package loadgen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
	// Every writer's directories are ready before the clock starts.
	type dirs struct {
		tmp string
		dst *os.File
	}
	all := make([]dirs, writers)
	for w := range all {
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
		defer dstDir.Close()
		all[w] = dirs{tmp, dstDir}
	}
	deadline := time.Now().Add(d)
	start := time.Now()
	for _, ds := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				name := filepath.Join(ds.dst.Name(), strconv.FormatInt(seq.Add(1), 10))
				if err := durableWrite(ds.tmp, ds.dst, name, buf); err != nil {
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
