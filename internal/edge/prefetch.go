//go:build amd64 || arm64

package edge

import "unsafe"

// prefetch starts loading the cache line of every pointer in lines
// without waiting for any (prefetch_amd64.s, prefetch_arm64.s): Go has no
// prefetch of its own outside the runtime. The pointers must be into
// live memory; nothing is read or written through them.
//
//go:noescape
func prefetch(lines []unsafe.Pointer)
