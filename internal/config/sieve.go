package config

// Sieve bounds subscribers' filter scripts (issue 10). The defaults are
// the built-in ones (store.MaxSieveScripts, store.MaxSieveScriptSize,
// sieve.DefaultLimits.MaxRedirects; a delivery test holds them equal).
type Sieve struct {
	// MaxScriptBytes is the largest script an account may store (RFC 5804
	// §1.6 QUOTA/MAXSIZE); at most maxSieveScriptBytes, what the compiler
	// reads.
	MaxScriptBytes int `toml:"max_script_bytes"`
	// MaxScripts is how many scripts an account may keep (QUOTA/MAXSCRIPTS).
	MaxScripts int `toml:"max_scripts"`
	// MaxRedirects is how many redirects one run of a script may make
	// (RFC 5228 §10 asks for a bound; ManageSieve announces it as
	// MAXREDIRECTS, RFC 5804 §1.7).
	MaxRedirects int `toml:"max_redirects"`
}

// maxSieveScriptBytes is sieve.DefaultMaxScriptSize: Compile refuses a
// longer text, so a larger quota would store what cannot run.
const maxSieveScriptBytes = 1 << 20

func defaultSieve() Sieve {
	return Sieve{MaxScriptBytes: 64 << 10, MaxScripts: 16, MaxRedirects: 4}
}

func (c *Config) validateSieve(bad badFunc) {
	s := c.Sieve
	if s.MaxScriptBytes < 1 || s.MaxScriptBytes > maxSieveScriptBytes {
		bad("sieve.max_script_bytes", "%d is outside 1..%d (the compiler's limit)", s.MaxScriptBytes, maxSieveScriptBytes)
	}
	if s.MaxScripts < 1 {
		bad("sieve.max_scripts", "%d is below 1 (an account needs room for one script)", s.MaxScripts)
	}
	if s.MaxRedirects < 1 || s.MaxRedirects > 100 {
		bad("sieve.max_redirects", "%d is outside 1..100", s.MaxRedirects)
	}
}
