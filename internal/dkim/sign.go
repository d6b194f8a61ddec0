package dkim

import (
	"crypto"
	"io"

	"github.com/emersion/go-msgauth/dkim"
)

// signedFields are the header fields signed (RFC 6376 §5.4.1's list);
// From appears twice so a second From cannot be added undetected
// (over-signing, RFC 6376 §8.15).
var signedFields = []string{
	"From", "From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "List-Unsubscribe", "List-Unsubscribe-Post",
}

// SignedFields returns the names of the fields Sign signs, in h= order:
// ARC's ARC-Message-Signature (package arc) signs the same ones.
func SignedFields() []string { return append([]string(nil), signedFields...) }

// Sign reads a whole message and returns the DKIM-Signature field (with
// its trailing CRLF) to prepend. relaxed/relaxed canonicalization
// (RFC 6376 §3.4.2, §3.4.4) survives the header rewrapping some relays do.
func Sign(r io.Reader, domain, selector string, key crypto.Signer) (string, error) {
	s, err := dkim.NewSigner(&dkim.SignOptions{
		Domain: domain, Selector: selector, Signer: key, Hash: crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             signedFields,
	})
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(s, r); err != nil {
		s.Close()
		return "", err
	}
	if err := s.Close(); err != nil {
		return "", err
	}
	return s.Signature(), nil
}
