// Package atomicfile writes a file that appears under its final name only
// complete and on stable storage. On Linux it is created with O_TMPFILE:
// an inode with no name, so nothing partial is ever visible, a crash leaves
// nothing to clean up, and no temporary name takes the directory lock that
// every concurrent writer contends for. Commit fsyncs it and links it into
// place in one step. Where O_TMPFILE is not supported the file is written
// under a temporary name and linked from there (Maildir's tmp/ protocol).
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// File is a file being written; Commit or Abort it.
type File struct {
	*os.File
	tmpName string // "" for an O_TMPFILE inode
}

var seq atomic.Uint64

// openTmpfile opens an unnamed file in dir; tests replace it to take the
// fallback path.
var openTmpfile = func(dir string) (int, error) {
	return unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
}

// Create starts a file in tmpDir, a directory on the file system of the
// final name.
func Create(tmpDir string) (*File, error) {
	fd, err := openTmpfile(tmpDir)
	if err == nil {
		return &File{File: os.NewFile(uintptr(fd), tmpDir+"/(unnamed)")}, nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EINVAL) {
		return nil, &os.PathError{Op: "open", Path: tmpDir, Err: err}
	}
	name := filepath.Join(tmpDir, strconv.Itoa(os.Getpid())+"."+strconv.FormatUint(seq.Add(1), 10))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return &File{File: f, tmpName: name}, nil
}

// ErrExist is returned by Commit when dest already exists; the new file
// is discarded and the existing one left as it was.
var ErrExist = os.ErrExist

// Commit fsyncs the file, closes it and links it in as dest. It never
// replaces an existing dest. The caller fsyncs dest's directory (see
// package dirsync) before relying on the name.
func (f *File) Commit(dest string) error {
	err := f.Sync()
	if err == nil && f.tmpName == "" {
		// linkat of /proc/self/fd/N names the unnamed inode without the
		// CAP_DAC_READ_SEARCH that AT_EMPTY_PATH needs.
		err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), unix.AT_FDCWD, dest, unix.AT_SYMLINK_FOLLOW)
		if errors.Is(err, unix.EEXIST) {
			err = ErrExist
		} else if err != nil {
			err = &os.LinkError{Op: "link", Old: f.Name(), New: dest, Err: err}
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && f.tmpName != "" {
		err = os.Link(f.tmpName, dest)
		if errors.Is(err, os.ErrExist) {
			err = ErrExist
		}
	}
	if f.tmpName != "" {
		os.Remove(f.tmpName)
	}
	if err != nil && !errors.Is(err, ErrExist) {
		return fmt.Errorf("atomicfile: %w", err)
	}
	return err
}

// Link gives the file, already written and fsynced by the caller, the
// name dest, and leaves it open so that it can be given more names: one
// message delivered into several Maildirs is one inode linked into each
// (as Dovecot's LMTP does). A file on another file system cannot be
// linked there (the error is EXDEV, errors.Is(err, ErrCrossDevice)). It
// never replaces an existing dest (ErrExist). Abort releases the file
// afterwards; the names given stay. The caller fsyncs dest's directory.
func (f *File) Link(dest string) error {
	var err error
	if f.tmpName == "" {
		err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), unix.AT_FDCWD, dest, unix.AT_SYMLINK_FOLLOW)
	} else {
		err = unix.Link(f.tmpName, dest)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST):
		return ErrExist
	}
	return &os.LinkError{Op: "link", Old: f.Name(), New: dest, Err: err}
}

// ErrCrossDevice is Link's error for a name on another file system.
var ErrCrossDevice error = unix.EXDEV

// Abort discards the file.
func (f *File) Abort() {
	f.Close()
	if f.tmpName != "" {
		os.Remove(f.tmpName)
	}
}
