package spool

import (
	"fmt"
	"time"
)

// Actions are the operator's changes to a queued message's delivery state
// (`mailgate queue retry|hold|release`, the admin API). A running node
// reads state afresh before each attempt, so a change takes effect at the
// next queue scan.
var Actions = map[string]func(*State){
	// retry makes the message due now (still not tried while held).
	"retry": func(st *State) { st.NextAttempt = time.Time{} },
	// hold keeps it queued without attempts.
	"hold": func(st *State) { st.Held = true },
	// release undoes hold and makes it due.
	"release": func(st *State) { st.Held = false; st.NextAttempt = time.Time{} },
}

// Change applies change to message id's state and saves it durably.
func (s *Spool) Change(id string, change func(*State)) error {
	m, err := s.Open(id)
	if err != nil {
		return fmt.Errorf("%s: %w (see `mailgate queue list`)", id, err)
	}
	st, err := s.State(&m.Envelope)
	m.Close()
	if err != nil {
		return err
	}
	change(st)
	return s.SaveState(id, st)
}

// Entry is one queued message as the queue list shows it.
type Entry struct {
	Envelope Envelope
	State    *State
	Err      error // the state could not be read
}

// Entries lists the queued messages with their state; a message
// delivered while the list is made is left out.
func (s *Spool) Entries() ([]Entry, error) {
	ids, err := s.IDs()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(ids))
	for _, id := range ids {
		m, err := s.Open(id)
		if err != nil {
			continue
		}
		st, err := s.State(&m.Envelope)
		m.Close()
		out = append(out, Entry{Envelope: m.Envelope, State: st, Err: err})
	}
	return out, nil
}
