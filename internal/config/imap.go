package config

// IMAP holds settings of the IMAP service (ports 143 and 993).
type IMAP struct {
	// Compress offers COMPRESS=DEFLATE (RFC 4978) after login: mobile
	// clients (K-9 Mail / Thunderbird for Android, iOS Mail) turn it on
	// and move fewer bytes (mail text often a fifth or less). It costs
	// memory: a compressed connection keeps a DEFLATE inflater with its
	// 32 KiB window (RFC 1951 §2) for as long as it is open, about 30 KiB more
	// per idle connection than the ~24 KiB of an uncompressed one (the
	// compressor is shared, taken for one response at a time). Off by
	// default, as in Dovecot (imap_zlib / imap_compress is a plugin to
	// load), so 10,000 IDLE clients stay within their memory budget;
	// turn it on where mobile traffic costs more than server memory.
	Compress bool `toml:"compress"`
}
