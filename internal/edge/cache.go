package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
)

// Digest identifies the whole ruleset, elements included. Apply leaves it
// in the kernel (chain "state") and in its cache, so an unchanged policy
// is recognised without reading 100k elements back.
func (r *Ruleset) Digest() string {
	if r.digest != "" {
		return r.digest
	}
	h := sha256.New()
	h.Write([]byte(r.RulesHash() + "\n"))
	for _, s := range intervalSets {
		h.Write([]byte(s.Name + ":"))
		for _, e := range r.Sets[s.Name] {
			h.Write([]byte(e.String() + ","))
		}
		h.Write([]byte("\n"))
	}
	r.digest = hex.EncodeToString(h.Sum(nil)[:12])
	return r.digest
}

type cacheFile struct {
	Digest string              `json:"digest"`
	Sets   map[string][]string `json:"sets"` // set -> [from, to, from, to, ...]
}

const cacheName = "edge-applied.json"

func readCache(dir, digest string) (map[string][]Range, bool) {
	data, err := os.ReadFile(filepath.Join(dir, cacheName))
	if err != nil {
		return nil, false
	}
	var c cacheFile
	if json.Unmarshal(data, &c) != nil || c.Digest != digest {
		return nil, false
	}
	out := map[string][]Range{}
	for name, flat := range c.Sets {
		if len(flat)%2 != 0 {
			return nil, false
		}
		for i := 0; i < len(flat); i += 2 {
			f, err1 := netip.ParseAddr(flat[i])
			t, err2 := netip.ParseAddr(flat[i+1])
			if err1 != nil || err2 != nil {
				return nil, false
			}
			out[name] = append(out[name], Range{f, t})
		}
	}
	return out, true
}

// writeCache replaces the cache atomically (rename), so a crash leaves
// the old file, whose digest then no longer matches the kernel's.
func writeCache(dir, digest string, sets map[string][]Range) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	c := cacheFile{Digest: digest, Sets: map[string][]string{}}
	for name, rs := range sets {
		flat := make([]string, 0, 2*len(rs))
		for _, r := range rs {
			flat = append(flat, r.From.String(), r.To.String())
		}
		c.Sets[name] = flat
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, cacheName+".tmp")
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, cacheName))
}
