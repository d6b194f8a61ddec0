package testpeer

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"strings"
)

// EICAR is the anti-virus test file (https://www.eicar.org): every
// scanner reports it, and our test signatures match it anywhere.
const EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// GTUBE is the spam test string; rspamd answers it with "reject". With
// rspamd's test patterns on (our config), YJS… gives "add header" and ZJS…
// "rewrite subject". rspamd only looks at text parts up to 8 KiB.
const GTUBE = `XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X`

// GTUBEAddHeader and GTUBERewriteSubject are rspamd's test variants.
var (
	GTUBEAddHeader      = "Y" + GTUBE[1:]
	GTUBERewriteSubject = "Z" + GTUBE[1:]
)

// TestMail builds a CRLF message from header lines and a text body.
func TestMail(from, to, subject, body string) []byte {
	m := "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@test.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body + "\r\n"
	return []byte(strings.ReplaceAll(strings.ReplaceAll(m, "\r\n", "\n"), "\n", "\r\n"))
}

// VirusMails are EICAR inline in a body, as a base64 attachment and as a
// zip inside a base64 attachment, by name.
func VirusMails(from, to string) map[string][]byte {
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	w, _ := zw.Create("eicar.com")
	w.Write([]byte(EICAR))
	zw.Close()
	attach := func(name, ctype string, data []byte) []byte {
		return []byte("From: " + from + "\r\nTo: " + to + "\r\nSubject: attachment " + name +
			"\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" + name + "@test.example>\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
			"--b1\r\nContent-Type: " + ctype + "; name=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n" +
			"Content-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" + wrap76(base64.StdEncoding.EncodeToString(data)) + "--b1--\r\n")
	}
	return map[string][]byte{
		"inline": TestMail(from, to, "eicar inline", "the test file:\r\n"+EICAR),
		"base64": attach("eicar.com", "application/octet-stream", []byte(EICAR)),
		"zip":    attach("eicar.zip", "application/zip", z.Bytes()),
	}
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s + "\r\n"
}
