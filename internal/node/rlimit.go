package node

import (
	"syscall"
)

// raiseOpenFileLimit lifts the soft RLIMIT_NOFILE to the hard limit (every
// connection is a file descriptor; Debian's soft default is 1024) and
// returns the limit the node runs with. The Go runtime does the same at
// start on Linux; doing it here states it and survives a runtime that
// stops doing it.
func raiseOpenFileLimit() (limit uint64, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < rl.Max {
		raised := rl
		raised.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			return rl.Cur, err
		}
		rl = raised
	}
	return rl.Cur, nil
}
