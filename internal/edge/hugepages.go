package edge

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The fast path's tables are megabytes read at random: with 4 KiB pages
// nearly every cold lookup also misses the TLB. They are therefore copied
// into anonymous mappings advised for transparent huge pages
// (MADV_HUGEPAGE, honoured where THP is "madvise" or "always"). Best
// effort: when mmap fails, or without THP, the Go slice is kept as it is.
// Whether the kernel granted them shows in AnonHugePages
// (hugePageBytes), which bench-edge.sh prints beside the figures.

const hugePage = 2 << 20 // x86-64 and arm64 (4 KiB base pages) PMD size

// hugeCopy returns s copied into a huge-page mapping owned by owner: the
// mapping is released when owner becomes unreachable. T must hold no
// pointers: the garbage collector does not see the mapping.
func hugeCopy[T any, O any](owner *O, s []T) []T {
	size := len(s) * int(unsafe.Sizeof(*new(T)))
	if size < hugePage {
		return s
	}
	// One huge page more than needed, so the table can start on a huge
	// page boundary wherever the kernel puts the mapping; the length a
	// multiple of huge pages, so no small-page tail.
	span := (size+hugePage-1)/hugePage*hugePage + hugePage
	mem, err := unix.Mmap(-1, 0, span, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return s
	}
	unix.Madvise(mem, unix.MADV_HUGEPAGE)
	skip := (hugePage - int(uintptr(unsafe.Pointer(&mem[0])))%hugePage) % hugePage
	c := unsafe.Slice((*T)(unsafe.Pointer(&mem[skip])), len(s))
	copy(c, s)
	runtime.AddCleanup(owner, func(m []byte) { unix.Munmap(m) }, mem)
	return c
}

// hugePageBytes is the process's anonymous memory in transparent huge
// pages (AnonHugePages of /proc/self/smaps_rollup); -1 if unknown.
func hugePageBytes() int64 {
	f, err := os.Open("/proc/self/smaps_rollup")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "AnonHugePages:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}
