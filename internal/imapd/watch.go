package imapd

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirWatcher tells idling sessions that a folder changed, from inotify
// events on its new/ and cur/ directories, as Dovecot's IDLE does: a
// delivery shows up at once, and an idle folder costs no system calls at
// all (a poll every second is a stat and a readdir per folder, which for a
// hundred thousand idling clients is most of a CPU). One inotify instance
// serves the whole server. The poll stays as a slow fallback for what
// inotify cannot see (a Maildir on NFS, a queue overflow).
type dirWatcher struct {
	f  *os.File // the inotify fd, non-blocking in Go's poller: Close ends read
	fd int      // the same, for inotify_add_watch (File.Fd would make it blocking)

	mu      sync.Mutex
	byWD    map[int32]*folderWatch
	byDir   map[string]*folderWatch
	stopped bool
}

// folderWatch is one folder's watches and the channel its poller waits on.
type folderWatch struct {
	dir     string
	wds     []int32
	refs    int
	changed chan struct{} // capacity 1: events coalesce while a sync runs
}

const watchMask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_ONLYDIR

func newDirWatcher() (*dirWatcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	w := &dirWatcher{f: os.NewFile(uintptr(fd), "inotify"), fd: fd, byWD: map[int32]*folderWatch{}, byDir: map[string]*folderWatch{}}
	go w.read()
	return w, nil
}

// watch returns a channel that receives after each change in folder dir's
// new/ or cur/, and a function to call when done with it.
func (w *dirWatcher) watch(dir string) (<-chan struct{}, func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return nil, nil, errors.New("imapd: watcher closed")
	}
	fw := w.byDir[dir]
	if fw == nil {
		fw = &folderWatch{dir: dir, changed: make(chan struct{}, 1)}
		for _, sub := range []string{"new", "cur"} {
			wd, err := unix.InotifyAddWatch(w.fd, filepath.Join(dir, sub), watchMask)
			if err != nil {
				w.removeLocked(fw)
				return nil, nil, err
			}
			fw.wds = append(fw.wds, int32(wd))
			w.byWD[int32(wd)] = fw
		}
		w.byDir[dir] = fw
	}
	fw.refs++
	var once sync.Once
	return fw.changed, func() {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			if fw.refs--; fw.refs == 0 {
				w.removeLocked(fw)
			}
		})
	}, nil
}

func (w *dirWatcher) removeLocked(fw *folderWatch) {
	for _, wd := range fw.wds {
		if w.byWD[wd] == fw {
			delete(w.byWD, wd)
			unix.InotifyRmWatch(w.fd, uint32(wd))
		}
	}
	if w.byDir[fw.dir] == fw {
		delete(w.byDir, fw.dir)
	}
}

// read turns events into wake-ups until the watcher is closed.
func (w *dirWatcher) read() {
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return
		}
		w.mu.Lock()
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				for _, fw := range w.byDir { // events were lost: wake every folder
					wake(fw.changed)
				}
				continue
			}
			if fw := w.byWD[ev.Wd]; fw != nil {
				wake(fw.changed)
			}
		}
		w.mu.Unlock()
	}
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Close stops the watcher; channels already handed out stay open, silent.
func (w *dirWatcher) Close() error {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	return w.f.Close()
}
