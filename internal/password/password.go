// Package password hashes and verifies account passwords with argon2id
// (RFC 9106), encoded in the PHC string format Dovecot and others read:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters follow OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
const (
	memoryKiB = 19456
	passes    = 2
	lanes     = 1
	saltLen   = 16
	keyLen    = 32
)

var b64 = base64.RawStdEncoding

// Hash returns the encoded argon2id hash of pw with a fresh salt.
func Hash(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := idKey(Normal, []byte(pw), salt, passes, memoryKiB, lanes, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, lanes, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrMalformed means the stored hash is not an argon2id PHC string.
var ErrMalformed = errors.New("password: malformed argon2id hash")

// Verify reports whether pw matches encoded, in time independent of where
// the two differ.
func Verify(encoded, pw string) (bool, error) {
	return VerifyAs(Normal, encoded, pw)
}

// VerifyAs is Verify with the priority its hash waits for a slot with.
func VerifyAs(prio Priority, encoded, pw string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformed
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 || t > 64 {
		return false, ErrMalformed
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrMalformed
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrMalformed
	}
	got := idKey(prio, []byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// idKey computes argon2id in one of the hashing slots (see slots).
func idKey(prio Priority, pw, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	hashing.acquire(prio)
	defer hashing.release(prio)
	return argon2.IDKey(pw, salt, t, m, p, n)
}

// dummy is hashed against when the user does not exist, so an unknown
// user costs the same time as a wrong password and cannot be told apart.
var dummy, _ = Hash("mailgate-dummy-password")

// VerifyDummy spends the time of one Verify, at priority prio, and always
// fails.
func VerifyDummy(prio Priority, pw string) {
	VerifyAs(prio, dummy, pw)
}
