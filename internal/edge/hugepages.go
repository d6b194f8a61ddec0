package edge

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The fast path's tables are tens of megabytes read at random: with 4 KiB
// pages nearly every lookup also misses the TLB. They are therefore copied
// into anonymous mappings advised for transparent huge pages
// (MADV_HUGEPAGE, honoured where THP is "madvise" or "always"). Best
// effort: when mmap fails, or without THP, the Go slice is kept as it is.

const hugeMin = 4 << 20 // below this the TLB copes

// hugeCopy returns s copied into a huge-page mapping owned by owner: the
// mapping is released when owner becomes unreachable.
func hugeCopy[T uint32 | uint64, O any](owner *O, s []T) []T {
	size := len(s) * int(unsafe.Sizeof(T(0)))
	if size < hugeMin {
		return s
	}
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return s
	}
	unix.Madvise(mem, unix.MADV_HUGEPAGE)
	c := unsafe.Slice((*T)(unsafe.Pointer(&mem[0])), len(s))
	copy(c, s)
	runtime.AddCleanup(owner, func(m []byte) { unix.Munmap(m) }, mem)
	return c
}
