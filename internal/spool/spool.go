// Package spool is the durable queue between receiving and delivering: the
// only hand-off between the SMTP sessions and the delivery agents.
//
// Layout under the spool directory:
//
//	tmp/      messages being written: unnamed O_TMPFILE inodes, or, where
//	          the file system lacks those, temporary names removed at start
//	msg/ID    a complete message: a header line, the envelope as JSON, the
//	          message bytes (CRLF line ends)
//	state/ID  its delivery progress (per-recipient status, attempts); absent
//	          means every recipient is still to do
//
// Put returns only when msg/ID and the directory entry naming it are on
// stable storage (file fsync, link, directory fsync), so an SMTP 250 given
// after Put survives a crash or power loss. Directory fsyncs are shared by
// concurrent Puts (group commit): one fsync covers every link before it.
package spool

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"mailgate/internal/atomicfile"
	"mailgate/internal/dirsync"
)

const magic = "MAILGATE-SPOOL 1"

// Envelope is what SMTP said about a message, as opposed to its content.
type Envelope struct {
	ID       string    `json:"id"`
	From     string    `json:"from"`
	To       []string  `json:"to"`
	Received time.Time `json:"received"`
	// Origin is the service that accepted it: submission, mx, bounce,
	// webmail (smtpd.Submit).
	Origin string `json:"origin"`
	// Auth is the authenticated account, for submissions.
	Auth string `json:"auth,omitempty"`
	// Client is the connecting IP address.
	Client string `json:"client,omitempty"`
	// Size is the message size in bytes.
	Size int64 `json:"size"`
	// Junk says the verdict before the 250 judged it spam (or a DMARC
	// quarantine): local recipients get it in their Junk folder.
	Junk bool `json:"junk,omitempty"`
	// Unverified says the sender failed SPF or DMARC: no automatic reply
	// (Sieve reject, vacation) goes to it (no backscatter).
	Unverified bool `json:"unverified,omitempty"`
}

// ErrNotFound is returned for an ID not in the spool.
var ErrNotFound = errors.New("spool: no such message")

// Spool is a queue directory. It is safe for concurrent use.
type Spool struct {
	dir    string
	msgDir *dirsync.Syncer
	stDir  *dirsync.Syncer
	notify chan string
	lock   *os.File

	closeOnce sync.Once

	freshMu sync.Mutex
	fresh   map[string]bool // Put by this process, first delivery not yet begun
}

// Open opens (creating if needed) the spool at dir and, when no other
// process has it open, recovers it: files left in tmp/ by a crash are
// partial and removed; state files whose message is gone are removed.
func Open(dir string) (*Spool, error) {
	for _, sub := range []string{"tmp", "msg", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
	}
	s := &Spool{dir: dir, notify: make(chan string, 4096), fresh: map[string]bool{}}
	// Files in tmp/ are partial only if nobody else has the spool open: a
	// running node writes there, and a CLI command (`queue list`) must not
	// delete its in-flight files. So recover only under an exclusive lock,
	// then hold the lock shared for as long as the spool is open.
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.lock = lock
	if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		err = s.recover()
	}
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_SH)
	}
	if err == nil {
		s.msgDir, err = dirsync.New(filepath.Join(dir, "msg"))
	}
	if err == nil {
		if s.stDir, err = dirsync.New(filepath.Join(dir, "state")); err != nil {
			s.msgDir.Close()
		}
	}
	if err != nil {
		lock.Close() // releases the flock too
		return nil, err
	}
	return s, nil
}

// Close stops the directory syncers and releases the lock; a second Close
// does nothing.
func (s *Spool) Close() {
	s.closeOnce.Do(func() {
		s.msgDir.Close()
		s.stDir.Close()
		s.lock.Close()
	})
}

func (s *Spool) recover() error {
	tmp, err := os.ReadDir(filepath.Join(s.dir, "tmp"))
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for _, e := range tmp {
		os.Remove(filepath.Join(s.dir, "tmp", e.Name()))
	}
	states, err := os.ReadDir(filepath.Join(s.dir, "state"))
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for _, e := range states {
		if _, err := os.Stat(s.msgPath(e.Name())); errors.Is(err, os.ErrNotExist) {
			os.Remove(filepath.Join(s.dir, "state", e.Name()))
		}
	}
	return nil
}

// Arrivals carries the ID of each message Put, for a delivery agent to
// start on it at once. When nobody keeps up the ID is dropped; the agent's
// periodic scan of the queue finds it instead.
func (s *Spool) Arrivals() <-chan string { return s.notify }

// NewID returns a fresh queue ID: microsecond time then randomness, so IDs
// sort by arrival and never collide between sessions or restarts.
func NewID() string {
	var r [4]byte
	rand.Read(r[:])
	return strconv.FormatInt(time.Now().UnixMicro(), 16) + hex.EncodeToString(r[:])
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Spool) msgPath(id string) string   { return filepath.Join(s.dir, "msg", id) }
func (s *Spool) statePath(id string) string { return filepath.Join(s.dir, "state", id) }

// Put writes a message durably and returns when it is on stable storage.
// env.ID is set if empty. body is the message with CRLF line ends.
func (s *Spool) Put(env *Envelope, body []byte) error {
	if env.ID == "" {
		env.ID = NewID()
	}
	if !validID(env.ID) {
		return fmt.Errorf("spool: invalid id %q", env.ID)
	}
	env.Size = int64(len(body))
	head, err := json.Marshal(env)
	if err != nil {
		return err
	}
	f, err := atomicfile.Create(filepath.Join(s.dir, "tmp"))
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	// The header line and envelope line, then the message.
	hdr := append(append(append([]byte(magic), '\n'), head...), '\n')
	if _, err = f.Write(hdr); err == nil {
		_, err = f.Write(body)
	}
	if err != nil {
		f.Abort()
		return fmt.Errorf("spool: write %s: %w", env.ID, err)
	}
	err = f.Commit(s.msgPath(env.ID))
	if err == nil {
		err = s.msgDir.Sync()
	}
	if err != nil {
		return fmt.Errorf("spool: write %s: %w", env.ID, err)
	}
	s.freshMu.Lock()
	s.fresh[env.ID] = true
	s.freshMu.Unlock()
	select {
	case s.notify <- env.ID:
	default:
	}
	return nil
}

// PutWithState is Put for a message part of whose recipients are already
// settled (delivered to their Maildir before the 250): st, with every
// recipient still to do Pending, is written durably before the message.
// A crash between the two leaves a state file without its message, which
// Open removes; never a message whose settled recipients look pending.
func (s *Spool) PutWithState(env *Envelope, body []byte, st *State) error {
	if env.ID == "" {
		env.ID = NewID()
	}
	if err := s.SaveState(env.ID, st); err != nil {
		return err
	}
	return s.Put(env, body)
}

// Message is an open spooled message.
type Message struct {
	Envelope Envelope
	f        *os.File
	offset   int64
	mem      []byte // the body of a message not (yet) spooled; f is nil
}

// InMemory is a message still held by the session that received it, as
// delivery before the 250 sees it: the same Envelope and Body as a spooled
// one, so local delivery has one code path for both.
func InMemory(env Envelope, body []byte) *Message {
	env.Size = int64(len(body))
	return &Message{Envelope: env, mem: body}
}

// Body returns a reader over the message bytes from the start.
func (m *Message) Body() io.Reader {
	if m.f == nil {
		return bytes.NewReader(m.mem)
	}
	return io.NewSectionReader(m.f, m.offset, m.Envelope.Size)
}

// Close releases the file.
func (m *Message) Close() error {
	if m.f == nil {
		return nil
	}
	return m.f.Close()
}

// Open opens a spooled message for reading.
func (s *Spool) Open(id string) (*Message, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	f, err := os.Open(s.msgPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	env, off, err := readHeader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: %s: %w", id, err)
	}
	return &Message{Envelope: env, f: f, offset: off}, nil
}

func readHeader(f *os.File) (Envelope, int64, error) {
	var env Envelope
	br := bufio.NewReaderSize(f, 16<<10)
	line, err := br.ReadString('\n')
	if err != nil || strings.TrimSuffix(line, "\n") != magic {
		return env, 0, errors.New("not a spool file")
	}
	js, err := br.ReadBytes('\n')
	if err != nil {
		return env, 0, errors.New("truncated envelope")
	}
	if err := json.Unmarshal(js, &env); err != nil {
		return env, 0, fmt.Errorf("bad envelope: %w", err)
	}
	return env, int64(len(line) + len(js)), nil
}

// IDs lists the queued message IDs, oldest first.
func (s *Spool) IDs() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "msg"))
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		if validID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Remove deletes a message and its state. The message goes first, and is
// made durable before the state goes: a crash between the two leaves an
// orphan state file (cleaned at Open), never a message that would be
// delivered again from scratch. A message without state (delivered at its
// first attempt) is unlinked without a directory fsync: a crash in the
// next moments may bring it back, and then local delivery finds its own
// Maildir copy (DeliveryName) and a remote one is sent again — at least
// once, as with Postfix — never lost.
func (s *Spool) Remove(id string) error {
	if !validID(id) {
		return ErrNotFound
	}
	_, statErr := os.Stat(s.statePath(id))
	hasState := statErr == nil
	err := os.Remove(s.msgPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	s.forget(id)
	if !hasState {
		return nil
	}
	if err := s.msgDir.Sync(); err != nil {
		return err
	}
	os.Remove(s.statePath(id))
	return nil
}

// TakeFresh reports, once, whether id was Put by this process and not yet
// taken: such a message cannot have been delivered by an earlier process,
// so its first delivery need not look for an earlier copy.
func (s *Spool) TakeFresh(id string) bool {
	s.freshMu.Lock()
	defer s.freshMu.Unlock()
	if s.fresh[id] {
		delete(s.fresh, id)
		return true
	}
	return false
}

func (s *Spool) forget(id string) {
	s.freshMu.Lock()
	delete(s.fresh, id)
	s.freshMu.Unlock()
}
