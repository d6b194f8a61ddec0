package spool

import (
	"os"
)

// dirSyncer fsyncs one directory on behalf of many writers. A writer
// renames its file into the directory, then calls sync; the syncer takes
// every request waiting at that moment and answers them all with one fsync.
// Since each rename happened before its request was sent, that fsync makes
// each of them durable. Under load this turns N directory fsyncs into a few.
type dirSyncer struct {
	dir  *os.File
	reqs chan chan error
	done chan struct{}
}

func newDirSyncer(path string) (*dirSyncer, error) {
	d, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	ds := &dirSyncer{dir: d, reqs: make(chan chan error, 1024), done: make(chan struct{})}
	go ds.loop()
	return ds, nil
}

func (ds *dirSyncer) loop() {
	defer close(ds.done)
	batch := make([]chan error, 0, 64)
	for first := range ds.reqs {
		batch = append(batch[:0], first)
	drain:
		for {
			select {
			case r, ok := <-ds.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		err := ds.dir.Sync()
		for _, r := range batch {
			r <- err
		}
	}
}

// sync returns once the directory, with every entry changed before the
// call, is on stable storage.
func (ds *dirSyncer) sync() error {
	r := make(chan error, 1)
	ds.reqs <- r
	return <-r
}

func (ds *dirSyncer) close() {
	close(ds.reqs)
	<-ds.done
	ds.dir.Close()
}
