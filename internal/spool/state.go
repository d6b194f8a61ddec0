package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Recipient status values.
const (
	Pending   = "pending"   // not yet delivered; will be tried
	Delivered = "delivered" // in a mailbox or accepted by the next hop
	Failed    = "failed"    // permanently failed; a bounce was queued
)

// RcptState is one recipient's delivery progress.
type RcptState struct {
	Addr   string `json:"addr"`
	Status string `json:"status"`
	// Error is the last reply or failure for this recipient.
	Error string `json:"error,omitempty"`
	// Remote is the host that gave Error, for remote recipients.
	Remote string `json:"remote,omitempty"`
	// Forwarded marks a recipient added by a Sieve redirect: mail we
	// forward, whose sender remote delivery rewrites (SRS).
	Forwarded bool `json:"forwarded,omitempty"`
	// Mailbox is the account a local recipient resolved to when it was
	// last tried: a later attempt delivers no second copy into a mailbox
	// another recipient of the message already got it in.
	Mailbox string `json:"mailbox,omitempty"`
	// PassedOn marks a local recipient whose delivery stored no copy and
	// redirected the message on (Sieve): a redirect back to its Mailbox
	// in a later attempt closes a loop (delivery's closesLoop).
	PassedOn bool `json:"passed_on,omitempty"`
	// Via is the account whose Sieve script forwarded a Forwarded
	// recipient: its domain DKIM-signs and ARC-seals the copy ([arc]).
	Via string `json:"via,omitempty"`
}

// State is a message's delivery progress.
type State struct {
	Rcpts       []RcptState `json:"rcpts"`
	Attempts    int         `json:"attempts"`
	NextAttempt time.Time   `json:"next_attempt"`
	LastError   string      `json:"last_error,omitempty"`
	Held        bool        `json:"held,omitempty"`
	// Warned is set once the sender got a "delayed" notice.
	Warned bool `json:"warned,omitempty"`
}

// Pending lists the recipients still to deliver.
func (st *State) Pending() []string {
	var out []string
	for _, r := range st.Rcpts {
		if r.Status == Pending {
			out = append(out, r.Addr)
		}
	}
	return out
}

// Set records the outcome for one recipient.
func (st *State) Set(addr, status, errText string) {
	for i := range st.Rcpts {
		if st.Rcpts[i].Addr == addr {
			st.Rcpts[i].Status, st.Rcpts[i].Error = status, errText
			return
		}
	}
}

// State reads a message's delivery state; a message without a state file
// has every envelope recipient pending.
func (s *Spool) State(env *Envelope) (*State, error) {
	b, err := os.ReadFile(s.statePath(env.ID))
	if errors.Is(err, os.ErrNotExist) {
		st := &State{NextAttempt: env.Received}
		for _, r := range env.To {
			st.Rcpts = append(st.Rcpts, RcptState{Addr: r, Status: Pending})
		}
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("spool: state %s: %w", env.ID, err)
	}
	return &st, nil
}

// SaveState writes a message's state durably (temporary file, fsync,
// rename, directory fsync), so a delivery recorded is never repeated after
// a crash, except for the one in flight.
func (s *Spool) SaveState(id string, st *State) error {
	if !validID(id) {
		return ErrNotFound
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, "tmp", id+".state")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.statePath(id))
	}
	if err == nil {
		err = s.stDir.Sync()
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: save state %s: %w", id, err)
	}
	return nil
}

// StateStamp returns the modification time and size of a message's state
// file, ok false when it has none (never attempted). A queue scan uses it
// to skip re-reading states that did not change.
func (s *Spool) StateStamp(id string) (mod time.Time, size int64, ok bool) {
	if !validID(id) {
		return time.Time{}, 0, false
	}
	fi, err := os.Stat(s.statePath(id))
	if err != nil {
		return time.Time{}, 0, false
	}
	return fi.ModTime(), fi.Size(), true
}
