package e2e

import (
	"os/exec"
	"strconv"
	"testing"
)

// smtplib given bytes sends them as they are, bare LF line ends included,
// but dot-stuffs every line it sees. The lines that start with "." must be
// stored as the author wrote them, not doubled (Postfix's "normalize").
const pyBytesDotLines = `
import smtplib, ssl, sys
port, user, pw, to = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", port, local_hostname="py.bytes.test")
s.starttls(context=ctx)
s.login(user, pw)
msg = b"From: " + user.encode() + b"\nSubject: dots\n\n.signature\n..two dots\nend\n"
print(s.sendmail(user, [to], msg))
s.quit()
`

func TestSubmissionBareLFDotLinesKeepTheirDots(t *testing.T) {
	NeedTool(t, "python3")
	n := submissionNode(t, "")
	out, err := exec.Command("python3", "-c", pyBytesDotLines, strconv.Itoa(n.Ports["submission"]), alice, alicePW, bob).CombinedOutput()
	if err != nil || string(out) != "{}\n" {
		t.Fatalf("python: %v\n%s", err, out)
	}
	stored := readFile(t, n.WaitMaildir(bob, 1)[0])
	_, body := splitMessage(t, stored)
	// The last "\r\n" is smtplib's: it ends DATA with CRLF "." CRLF after
	// text that did not end in CRLF.
	if want := ".signature\r\n..two dots\r\nend\r\n\r\n"; body != want {
		t.Fatalf("stored body %q, want %q", body, want)
	}
	onlyCRLF(t, stored)
}
