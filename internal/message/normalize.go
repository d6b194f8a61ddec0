// Package message holds what every mail path does to message bytes: line
// ending normalization, header inspection, trace and fix-up headers.
package message

// NormalizeCRLF returns b with every line ending as CRLF: a bare LF becomes
// CRLF, a bare CR becomes CRLF (RFC 5322 §2.3: CR and LF only occur
// together). What we spool, deliver or relay can then hold no "<LF>.<LF>"
// or "<LF>.<CR><LF>" that another server might take for end-of-data (SMTP
// smuggling, CVE-2023-51764): every "." line is a real CRLF "." CRLF line,
// which the SMTP client dot-stuffs. It returns b itself when nothing
// changes.
func NormalizeCRLF(b []byte) []byte { return normalize(b, false) }

// clean reports whether every CR in b is followed by LF and every LF
// preceded by CR.
func clean(b []byte) bool {
	for i, c := range b {
		switch c {
		case '\r':
			if i+1 >= len(b) || b[i+1] != '\n' {
				return false
			}
		case '\n':
			if i == 0 || b[i-1] != '\r' {
				return false
			}
		}
	}
	return true
}

// NormalizeDATA is NormalizeCRLF for message text as DATA delivered it:
// go-smtp has undone the dot-stuffing (RFC 5321 §4.5.2) only on lines that
// began after a CRLF. A client that ends lines with a bare LF (Python's
// smtplib given bytes, many scripts) stuffed the lines it saw, so a line
// beginning after a bare LF or CR loses its leading '.' here too, as
// Postfix's "normalize" mode does; otherwise ".signature" would be stored
// as "..signature".
func NormalizeDATA(b []byte) []byte { return normalize(b, true) }

// normalize turns every bare CR or LF into CRLF; with unstuff, a line that
// begins after such a bare line end loses a leading '.'.
func normalize(b []byte, unstuff bool) []byte {
	if clean(b) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/64+2)
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\r' && c != '\n' {
			out = append(out, c)
			continue
		}
		out = append(out, '\r', '\n')
		if c == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			i++
			continue // a real CRLF: what follows was unstuffed by go-smtp
		}
		if unstuff && i+1 < len(b) && b[i+1] == '.' {
			i++
		}
	}
	return out
}
