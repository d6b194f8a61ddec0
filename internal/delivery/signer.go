package delivery

import (
	"bufio"
	"context"
	"crypto"
	"errors"
	"io"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mailgate/internal/address"
	"mailgate/internal/dkim"
	"mailgate/internal/message"
	"mailgate/internal/spool"
)

// Signer DKIM-signs outbound mail whose From domain is one of ours and has
// an active key.
type Signer struct {
	Keys dkim.Keys
	Dir  Directory
}

// Sign returns the DKIM-Signature field to prepend to m, or "" when m is
// not ours to sign. The signing domain is the From header's domain: RFC
// 6376 §5.1 leaves the choice to the signer, DMARC (RFC 7489 §3.1.1)
// wants them aligned.
func (s *Signer) Sign(ctx context.Context, m *spool.Message) (string, error) {
	if !sentByUs(&m.Envelope) {
		return "", nil
	}
	h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(m.Body(), maxReturnedHeader)))
	if err != nil {
		return "", nil // no parsable header: nothing to sign
	}
	froms, err := message.FromAddresses(mail.Header{Header: gomessage.Header{Header: h}})
	if err != nil || len(froms) != 1 {
		return "", nil
	}
	domain := address.Domain(froms[0])
	if domain == "" {
		return "", nil
	}
	ours, err := s.Dir.HasDomain(ctx, domain)
	if err != nil || !ours {
		return "", err
	}
	sel, key, err := s.Keys.Active(domain)
	if errors.Is(err, dkim.ErrNoKey) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return signOutgoing(m, "", domain, sel, key)
}

// signOutgoing is the DKIM-Signature of m as it goes out below prefix:
// the bytes exactly as Remote.data writes them (through crlfWriter),
// streamed from the spool rather than held in memory.
func signOutgoing(m *spool.Message, prefix, domain, sel string, key crypto.Signer) (string, error) {
	pr, pw := io.Pipe()
	go func() {
		cw := &crlfWriter{w: pw}
		_, err := io.WriteString(cw, prefix)
		if err == nil {
			_, err = io.Copy(cw, m.Body())
		}
		pw.CloseWithError(err)
	}()
	sig, err := dkim.Sign(pr, domain, sel, key)
	pr.CloseWithError(io.ErrClosedPipe) // unblock the copier if Sign stopped early
	return sig, err
}

// sentByUs says whether a message left through us as its sender's server:
// submitted (with AUTH or from a trusted relay), written in webmail, or
// made by the node (bounces, vacation replies, notices, reports). Mail the
// MX took from outside, and mail another node handed in, is not: a From
// in our domain there may be forged, and our From-domain signature would
// make the forgery pass DKIM and DMARC at the next hop. Forwarding such
// mail is the forwarder's to sign ([arc], ForwardSigner).
func sentByUs(env *spool.Envelope) bool {
	return env.Origin != "mx" && !handedIn(env)
}
