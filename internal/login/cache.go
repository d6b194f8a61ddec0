package login

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// verified remembers recent successful logins, as Dovecot's auth_cache
// does, so a client that opens a connection per message (most of them)
// does not pay an argon2id hash — tens of milliseconds of CPU and 19 MiB —
// each time. An entry holds an HMAC of the password under a key made at
// start, never the password, and counts only while the account's stored
// hash is the one it was checked against: a password change ends it at
// once, on every node. Failures are never cached, so guessing still costs
// a full hash per try.
type verified struct {
	key [32]byte
	ttl time.Duration

	mu sync.Mutex
	m  map[string]entry // account + "\x00" + stored hash -> entry
}

type entry struct {
	mac     [32]byte
	expires time.Time
}

const maxVerified = 100000

var cache = newVerified(10 * time.Minute)

func newVerified(ttl time.Duration) *verified {
	v := &verified{ttl: ttl, m: map[string]entry{}}
	rand.Read(v.key[:])
	return v
}

func (v *verified) mac(pw string) [32]byte {
	h := hmac.New(sha256.New, v.key[:])
	h.Write([]byte(pw))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// hit reports whether pw was verified against storedHash lately.
func (v *verified) hit(account, storedHash, pw string) bool {
	mac := v.mac(pw)
	v.mu.Lock()
	e, ok := v.m[account+"\x00"+storedHash]
	v.mu.Unlock()
	return ok && time.Now().Before(e.expires) && hmac.Equal(e.mac[:], mac[:])
}

func (v *verified) remember(account, storedHash, pw string) {
	mac := v.mac(pw)
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxVerified {
		v.m = map[string]entry{}
	}
	v.m[account+"\x00"+storedHash] = entry{mac: mac, expires: time.Now().Add(v.ttl)}
}
