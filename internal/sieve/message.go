package sieve

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"

	"mailgate/internal/message"
)

// Message is what a script reads of the message: header fields and body.
// Delivery feeds it from the stored message (ParseMessage).
type Message interface {
	// Header returns the values of every field with this name (any
	// case), in message order, as they are in the message (undecoded;
	// folding may remain).
	Header(name string) []string
	// Size is the message size in octets (RFC 5228 §5.9).
	Size() int64
	// Body returns the message body: everything after the header section.
	Body() io.Reader
}

// Envelope is the SMTP envelope of the delivery being filtered.
type Envelope struct {
	From string // the reverse-path, "" for the null sender
	To   string // the recipient this script runs for
}

// RawMessage is a Message read from the bytes of an RFC 5322 message.
type RawMessage struct {
	header textproto.Header
	body   []byte
	size   int64
}

// ParseMessage reads the header of raw; a malformed header gives the
// fields read up to the fault, so filtering still sees what it can.
func ParseMessage(raw []byte) *RawMessage {
	br := bufio.NewReader(bytes.NewReader(raw))
	h, _ := textproto.ReadHeader(br)
	rest, _ := io.ReadAll(br)
	return &RawMessage{header: h, body: rest, size: int64(len(raw))}
}

func (m *RawMessage) Header(name string) []string { return m.header.Values(name) }
func (m *RawMessage) Size() int64                 { return m.size }
func (m *RawMessage) Body() io.Reader             { return bytes.NewReader(m.body) }

// decodeHeader unfolds a field value, trims the white space around it and
// decodes RFC 2047 encoded words, as RFC 5228 §5.7 asks of the header test.
// The unfolding is sieve's own (only the line breaks go; a folded tab
// stays, as the RFC's unfolding keeps the WSP); the decoding is the one the
// webmail shows (message.DecodeWords), so a script matches what the reader
// sees, in every charset go-message knows. An undecodable value is
// compared as it is.
func decodeHeader(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "")
	v = strings.ReplaceAll(v, "\n", "")
	v = strings.Trim(v, " \t")
	return message.DecodeWords(v)
}

// headerValues returns the decoded values of a field.
func headerValues(m Message, name string) []string {
	raw := m.Header(name)
	out := make([]string, len(raw))
	for i, v := range raw {
		out[i] = decodeHeader(v)
	}
	return out
}
