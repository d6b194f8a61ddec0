package certs

import "crypto/tls"

// TicketKeys encrypts and decrypts the session tickets of every config it
// is applied to with one set of keys, changed at any time by Set. Go's
// tls.Config keeps its ticket keys per config, and a copy made by Clone
// (as net/http's ServeTLS makes) would never see a later
// SetSessionTicketKeys; WrapSession and UnwrapSession are functions, which
// Clone copies, so every copy reads the keys set here.
type TicketKeys struct {
	keys tls.Config // only its ticket keys are used
}

// Set makes keys[0] encrypt new tickets; every key decrypts.
// SetSessionTicketKeys may be called while handshakes run.
func (k *TicketKeys) Set(keys [][32]byte) { k.keys.SetSessionTicketKeys(keys) }

// Apply makes conf's tickets those of k. Until the first Set, Go's own
// random per-process key is used.
func (k *TicketKeys) Apply(conf *tls.Config) {
	conf.WrapSession = k.keys.EncryptTicket
	// A ticket no key decrypts (older than the kept keys, another
	// server's) is (nil, nil): a full handshake, not an error.
	conf.UnwrapSession = k.keys.DecryptTicket
}
