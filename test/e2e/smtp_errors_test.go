package e2e

import (
	"os/exec"
	"strconv"
	"testing"
)

// pyRcptFlood sends up to 10,000 RCPTs in one transaction, as Python's
// smtplib does (one at a time), and prints each distinct reply once with
// the number of the RCPT that first got it, then whether the server hung up.
const pyRcptFlood = `
import smtplib, ssl, sys
port, mode, rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl._create_unverified_context()
s = smtplib.SMTP("127.0.0.1", port)
s.ehlo("client.test")
if mode == "587":
    s.starttls(context=ctx); s.ehlo("client.test"); s.login(sys.argv[4], sys.argv[5])
print("mail", s.docmd("MAIL FROM:<" + sys.argv[4] + ">")[0])
last = None
for i in range(1, 10001):
    try:
        r = s.docmd("RCPT TO:<" + rcpt + ">")
    except smtplib.SMTPServerDisconnected:
        print("closed after", i - 1); break
    if r != last:
        print(i, r[0], r[1].decode())
        last = r
`

// Issue 15 §4: every refused RCPT counts toward max_errors, those over the
// recipient limit included (10,000 of them kept one session busy): past the
// limit the session gets 421 4.7.0 and is closed (Postfix's
// smtpd_hard_error_limit). RFC 5321 §4.5.3.1.8: 452 for too many
// recipients.
func TestSMTPRefusedRecipientsCountAsErrors(t *testing.T) {
	NeedTool(t, "python3")
	n := submissionNode(t, "[limits]\nmax_recipients = 3\nmax_errors = 5\n")
	for _, mode := range []string{"25", "587"} {
		t.Run(mode, func(t *testing.T) {
			port := map[string]int{"25": n.Ports["mx"], "587": n.Ports["submission"]}[mode]
			out, err := exec.Command("python3", "-c", pyRcptFlood, strconv.Itoa(port), mode, bob, alice, alicePW).CombinedOutput()
			if err != nil {
				t.Fatalf("python: %v\n%s", err, out)
			}
			want := "mail 250\n1 250 2.0.0 I'll make sure <bob@example.net> gets this\n" +
				"4 452 4.5.3 Too many recipients: at most 3 per message\n" +
				"8 421 4.7.0 Too many errors, closing connection\nclosed after 8\n"
			if string(out) != want {
				t.Fatalf("transcript:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}

// pyLongAuth sends AUTH PLAIN with a 100 KB initial response on 465 and
// prints the reply smtplib reads.
const pyLongAuth = `
import smtplib, ssl, sys
s = smtplib.SMTP_SSL("127.0.0.1", int(sys.argv[1]), context=ssl._create_unverified_context())
s.ehlo("client.test")
try:
    code, text = s.docmd("AUTH", "PLAIN " + "A" * 100000)
    print(code, text.decode())
except smtplib.SMTPServerDisconnected as e:
    print("disconnected without a reply:", e)
`

// Issue 15 §4: a 100 KB inline AUTH PLAIN line is answered before the
// server closes, with RFC 4954 §4's reply for an AUTH exchange line over
// the limit (third_party/go-smtp: go-smtp said 5.4.0); the client must be
// able to finish sending and read the reply instead of a reset.
func TestSubmissionOverlongAuthLineIsAnswered(t *testing.T) {
	NeedTool(t, "python3")
	n := submissionNode(t, "")
	out, err := exec.Command("python3", "-c", pyLongAuth, strconv.Itoa(n.Ports["submissions"])).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if want := "500 5.5.6 Authentication Exchange line is too long\n"; string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

// Issue 15 §4: the refusals go-smtp makes itself (RCPT before MAIL, a
// malformed MAIL FROM, before HELO too) count toward max_errors, in one
// count with the sessions' own refusals: past the limit the client gets
// 421 4.7.0 and is disconnected, on the MX, on submission (the count
// going on across STARTTLS, which starts a new session) and on 465. They
// reached no session method, so a flood of them was unbounded
// (third_party/go-smtp: Server.Refused).
func TestSMTPLibraryRefusalsCountAsErrors(t *testing.T) {
	n := submissionNode(t, "[limits]\nmax_errors = 7\n")
	dial := map[string]func() *rawSMTP{
		"25":           func() *rawSMTP { return dialRaw(t, n.Addr("mx")) },
		"587":          func() *rawSMTP { return dialRaw(t, n.Addr("submission")) },
		"587-starttls": func() *rawSMTP { return dialRaw(t, n.Addr("submission")) },
		"465":          func() *rawSMTP { return dialRawTLS(t, n.Addr("submissions")) },
	}
	for _, port := range []string{"25", "587", "587-starttls", "465"} {
		t.Run(port, func(t *testing.T) {
			c := dial[port]()
			// RFC 5321 §3.3: RCPT without MAIL is 503, bad sequence.
			c.cmd("RCPT TO:<x@y.example>", "503 5.5.1 ")
			c.cmd("EHLO client.test", "250 ")
			for i := range 2 {
				if i == 1 && port == "587-starttls" {
					c.startTLS()
					c.cmd("EHLO client.test", "250 ")
				}
				c.cmd("RCPT TO:<x@y.example>", "503 5.5.1 ")
				// RFC 5321 §4.1.2: the reverse-path is in angle brackets.
				c.cmd("MAIL FROM:x", "501 5.5.2 ")
			}
			// The session's own refusal is the sixth error.
			if port == "25" {
				c.cmd("MAIL FROM:<a@client.test>", "250 ")
				c.cmd("RCPT TO:<x@other.example>", "550 5.7.1 ")
			} else {
				c.cmd("MAIL FROM:<a@client.test>", "530 5.7.0 ")
			}
			c.cmd("MAIL FROM:x", "421 4.7.0 Too many errors")
			if !c.closed() {
				t.Error("connection not closed past max_errors")
			}
		})
	}
}
