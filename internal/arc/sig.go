package arc

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"mailgate/internal/authres"
	"mailgate/internal/message"
)

// parsed is a message as validating and sealing read it: its header
// fields and body, split once, and its canonical body hashes, each made
// once. Seal's validation and its own AMS share one, and a chain whose
// ARC-Message-Signatures all hash the body alike (every sealer's
// relaxed/relaxed) canonicalizes and hashes it once, not once per set.
type parsed struct {
	msg    []byte
	fields []message.Field
	body   []byte
	hashes map[string]string // bh= by body canonicalization
}

// parse splits a CRLF message into its header fields and its body (after
// the empty line; nil when there is none).
func parse(msg []byte) *parsed {
	fields := message.HeaderFields(msg)
	end := 0
	if len(fields) > 0 {
		end = fields[len(fields)-1].End
	}
	p := &parsed{msg: msg, fields: fields, body: msg[end:]} // no empty line: what follows is body (HeaderFields)
	if strings.HasPrefix(string(msg[end:min(end+2, len(msg))]), "\r\n") {
		p.body = msg[end+2:]
	}
	return p
}

// bodyHash is bh= of the message's body under can, made once per can.
func (p *parsed) bodyHash(can string) string {
	if h, ok := p.hashes[can]; ok {
		return h
	}
	if p.hashes == nil {
		p.hashes = map[string]string{}
	}
	p.hashes[can] = bodyHash(p.body, can)
	return p.hashes[can]
}

// digest is the SHA-256 of a signature's header input (RFC 6376 §3.7):
// the fields it covers, each canonicalized with its CRLF, then the
// signature field itself with b= emptied and without its final CRLF.
func digest(fields []string, self, can string) []byte {
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(authres.CanonicalHeader(f, can)))
	}
	own := authres.CanonicalHeader(authres.EmptyB(self), can)
	h.Write([]byte(strings.TrimSuffix(own, "\r\n")))
	return h.Sum(nil)
}

// pickFields selects the fields an h= list names (RFC 6376 §5.4.2): for
// each name, the last instance not yet picked, from the bottom up; a name
// with none left contributes nothing. The field starting at skip (the
// signature being verified) is never picked.
func pickFields(msg []byte, fields []message.Field, names []string, skip int) []string {
	used := make([]bool, len(fields))
	var out []string
	for _, name := range names {
		for i := len(fields) - 1; i >= 0; i-- {
			if !used[i] && fields[i].Start != skip && strings.EqualFold(fields[i].Name, name) {
				used[i] = true
				out = append(out, string(msg[fields[i].Start:fields[i].End]))
				break
			}
		}
	}
	return out
}

// bodyHash is bh=: the SHA-256 of the canonical body, base64.
func bodyHash(body []byte, can string) string {
	sum := sha256.Sum256(authres.CanonicalBody(body, can))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// errTemporary marks a verification that could not finish (a key lookup
// failing for now, RFC 8601's temperror).
var errTemporary = errors.New("temporary")

// checkSignature verifies the b= of a signature whose header digest is d
// against the key its d= and s= name, for its a=.
func checkSignature(ctx context.Context, r authres.TXTResolver, tags map[string]string, d []byte) error {
	for _, t := range []string{"a", "b", "d", "s"} {
		if authres.NoSpace(tags[t]) == "" {
			return fmt.Errorf("no %s= tag", t)
		}
	}
	keyAlgo, hashAlgo, _ := strings.Cut(strings.ToLower(authres.NoSpace(tags["a"])), "-")
	if hashAlgo != "sha256" {
		return fmt.Errorf("a=%s: sha256 only (RFC 8301 §3.1)", tags["a"])
	}
	domain := strings.ToLower(authres.NoSpace(tags["d"]))
	verify, result, reason := authres.LookupKey(ctx, r, authres.NoSpace(tags["s"])+"._domainkey."+domain, keyAlgo)
	if result == "temperror" {
		return fmt.Errorf("%w: %s: %s", errTemporary, domain, reason)
	}
	if verify == nil {
		return fmt.Errorf("key of %s: %s", domain, reason)
	}
	b, err := base64.StdEncoding.DecodeString(authres.NoSpace(tags["b"]))
	if err != nil || !verify(d, b) {
		return fmt.Errorf("signature of %s did not verify", domain)
	}
	return nil
}

// algorithm is the a= value for key (RFC 6376 §3.5, RFC 8463 §3).
func algorithm(key crypto.Signer) (string, error) {
	switch key.Public().(type) {
	case *rsa.PublicKey:
		return "rsa-sha256", nil
	case ed25519.PublicKey:
		return "ed25519-sha256", nil
	}
	return "", fmt.Errorf("unsupported key type %T", key.Public())
}

// sign signs a SHA-256 header digest: RSASSA-PKCS1-v1_5 for RSA, and for
// Ed25519 the digest itself as the message (RFC 8463 §3).
func sign(key crypto.Signer, d []byte) (string, error) {
	opts := crypto.SignerOpts(crypto.SHA256)
	if _, ok := key.Public().(ed25519.PublicKey); ok {
		opts = crypto.Hash(0)
	}
	b, err := key.Sign(rand.Reader, d, opts)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// equalBase64 compares two base64 values, folding white space ignored.
func equalBase64(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(authres.NoSpace(a)), []byte(authres.NoSpace(b))) == 1
}

// fold writes a signature field: its tags, then b= on lines of its own
// (RFC 5322 §2.1.1's 78 octets), so that the field with b= emptied, as
// it is signed, is this text up to "b=" (RFC 6376 §3.7).
func fold(name string, tags [][2]string) (head string) {
	var b strings.Builder
	b.WriteString(name + ":")
	line := len(name) + 1
	for _, t := range tags {
		// A list value (h=) breaks after its colons: white space around
		// them is ignored (RFC 6376 §3.5, h=).
		words := strings.SplitAfter(t[0]+"="+t[1]+";", ":")
		for i, w := range words {
			switch {
			case line+1+len(w) > 78:
				b.WriteString("\r\n\t")
				line = 1
			case i == 0:
				b.WriteString(" ")
				line++
			}
			b.WriteString(w)
			line += len(w)
		}
	}
	b.WriteString("\r\n\tb=")
	return b.String()
}

// withB is a field head from fold completed with the b= value, broken
// into lines of 72 characters, and the final CRLF.
func withB(head, b string) string {
	var s strings.Builder
	s.WriteString(head)
	for len(b) > 72 {
		s.WriteString(b[:72] + "\r\n\t ")
		b = b[72:]
	}
	s.WriteString(b + "\r\n")
	return s.String()
}
