//go:build !amd64 && !arm64

package edge

import "unsafe"

// prefetchSink keeps the loads below from being optimised away.
var prefetchSink uint8

// prefetch, where there is no prefetch instruction here, loads one byte
// of each line: the loads are independent, so their misses still
// overlap, but they must complete before the core retires past them.
func prefetch(lines []unsafe.Pointer) {
	var x uint8
	for _, p := range lines {
		x += *(*uint8)(p)
	}
	prefetchSink += x
}
