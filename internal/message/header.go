package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// ErrBadHeader wraps every header parse error.
var ErrBadHeader = errors.New("malformed message header")

// Header parses the header block of a CRLF message.
func Header(b []byte) (mail.Header, error) {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		return mail.Header{}, fmt.Errorf("%w: %v", ErrBadHeader, err)
	}
	return mail.Header{Header: gomessage.Header{Header: h}}, nil
}

// FromAddresses returns the addresses of the From header field, lower-cased.
// RFC 5322 §3.6.2: From is required and holds one or more mailboxes.
func FromAddresses(h mail.Header) ([]string, error) {
	if !h.Has("From") {
		return nil, fmt.Errorf("%w: no From field", ErrBadHeader)
	}
	// RFC 5322 §3.6: exactly one From field. With two, we would check one
	// while the reader's program may show the other.
	if n := len(h.Values("From")); n != 1 {
		return nil, fmt.Errorf("%w: %d From fields", ErrBadHeader, n)
	}
	list, err := h.AddressList("From")
	if err != nil {
		return nil, fmt.Errorf("%w: From: %v", ErrBadHeader, err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: From holds no address", ErrBadHeader)
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = strings.ToLower(a.Address)
	}
	return out, nil
}

// Prepend returns the given header lines (each without line end) followed
// by body. The original bytes stay untouched, so existing DKIM signatures
// over them still verify.
func Prepend(body []byte, fields ...string) []byte {
	n := len(body)
	for _, f := range fields {
		n += len(f) + 2
	}
	out := make([]byte, 0, n)
	for _, f := range fields {
		out = append(out, f...)
		out = append(out, '\r', '\n')
	}
	return append(out, body...)
}
