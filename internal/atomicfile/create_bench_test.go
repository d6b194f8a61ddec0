package atomicfile

import (
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkCreateCommit10KiB compares the two ways Create makes a file
// (O_TMPFILE, and a temporary name where that is missing) under 20
// concurrent writers, as the MX has: on ext4 an O_TMPFILE inode goes on
// the journaled orphan list at open and off it at link, a global lock.
func BenchmarkCreateCommit10KiB(b *testing.B) {
	for _, tc := range []struct {
		name string
		open func(string) (int, error)
	}{
		{"tmpfile", openTmpfileOS},
		{"named", func(string) (int, error) { return -1, unix.EOPNOTSUPP }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			openTmpfile = tc.open
			defer func() { openTmpfile = openTmpfileOS }()
			dir := b.TempDir()
			os.Mkdir(filepath.Join(dir, "tmp"), 0o700)
			os.Mkdir(filepath.Join(dir, "new"), 0o700)
			body := make([]byte, 10240)
			var n atomic.Int64
			b.SetParallelism(10)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					f, err := Create(filepath.Join(dir, "tmp"))
					if err != nil {
						b.Fatal(err)
					}
					f.Write(body)
					if err := f.Commit(filepath.Join(dir, "new", strconv.FormatInt(n.Add(1), 10))); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
