package e2e

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// pySMTPArgs is a Python smtplib session that sends control characters in
// command arguments. Every reply is printed as "what code text", and
// "what closed" once the server has hung up.
const pySMTPArgs = `
import smtplib, ssl, sys
port, mode, rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl._create_unverified_context()
if mode == "465":
    s = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx)
else:
    s = smtplib.SMTP("127.0.0.1", port)
    if mode == "587":
        s.ehlo("client.test"); s.starttls(context=ctx)
def show(what, r):
    print(what, r[0], r[1].decode("latin-1").replace("\n", "|"))
show("ehlo-nul", s.docmd("EHLO x\0y"))
show("ehlo-tab", s.docmd("HELO x\ty"))
show("ehlo", s.docmd("EHLO client.test"))
if mode != "25":
    show("auth-ctl", s.docmd("AUTH PL\x01AIN"))
    show("auth", s.docmd("AUTH PLAIN", sys.argv[4]))
show("mail-nul", s.docmd("MAIL FROM:<a\0b@peer.example>"))
show("mail-esc", s.docmd("MAIL FROM:<a\x1bb@peer.example>"))
show("mail-del", s.docmd("MAIL FROM:<a\x7fb@peer.example>"))
show("mail", s.docmd("MAIL FROM:<" + sys.argv[5] + ">"))
show("rcpt-nul", s.docmd("RCPT TO:<" + rcpt.replace("@", "\0@") + ">"))
show("rcpt-ctl", s.docmd("RCPT TO:<" + rcpt.replace("@", "@\x01") + ">"))
show("rcpt", s.docmd("RCPT TO:<" + rcpt + ">"))
show("rset", s.docmd("RSET"))
show("ehlo-again", s.docmd("EHLO again\0.test"))
try:
    show("noop", s.docmd("NOOP"))
except smtplib.SMTPServerDisconnected:
    print("closed")
`

// Issue 15 §4: NUL and other control characters in a command argument are
// refused with 501 5.5.2 in HELO/EHLO, MAIL, RCPT and AUTH (RFC 5321
// §4.1.2: arguments are printable ASCII, SP-separated, UTF-8 with SMTPUTF8;
// §2.3.8: only CRLF ends a line), never echoed back, and never reach the
// envelope or the Received field. An EHLO
// after a session has started cannot be refused without go-smtp echoing
// it, so that one gets the 501 and the connection is closed.
func TestSMTPControlCharactersInArguments(t *testing.T) {
	NeedTool(t, "python3")
	n := submissionNode(t, "")
	const refused = "501 5.5.2 Syntax error: control characters are not allowed in command arguments"
	wantTail := func(rcptCode string) string {
		return "mail-nul " + refused + "\nmail-esc " + refused + "\nmail-del " + refused + "\nmail 250 2.0.0 Roger, accepting mail from <alice@example.net>\n" +
			"rcpt-nul " + refused + "\nrcpt-ctl " + refused + "\n" + rcptCode +
			"rset 250 2.0.0 Session reset\nehlo-again " + refused + "\nclosed\n"
	}
	head := "ehlo-nul " + refused + "\nehlo-tab " + refused + "\n"
	for _, mode := range []string{"25", "587", "465"} {
		t.Run(mode, func(t *testing.T) {
			port := map[string]int{"25": n.Ports["mx"], "587": n.Ports["submission"], "465": n.Ports["submissions"]}[mode]
			out, err := exec.Command("python3", "-c", pySMTPArgs, strconv.Itoa(port), mode, bob, plainResp(alice, alicePW), alice).CombinedOutput()
			if err != nil {
				t.Fatalf("python: %v\n%s", err, out)
			}
			got := string(out)
			// The EHLO reply lists the extensions: only its first line matters.
			ehlo, rest, _ := strings.Cut(strings.TrimPrefix(got, head), "\n")
			if !strings.HasPrefix(got, head) || !strings.HasPrefix(ehlo, "ehlo 250 Hello client.test|") {
				t.Fatalf("transcript:\n%s", got)
			}
			if mode != "25" {
				if !strings.HasPrefix(rest, "auth-ctl "+refused+"\n") {
					t.Fatalf("transcript:\n%s", got)
				}
				auth, r, _ := strings.Cut(strings.TrimPrefix(rest, "auth-ctl "+refused+"\n"), "\n")
				if auth != "auth 235 2.0.0 Authentication succeeded" {
					t.Fatalf("transcript:\n%s", got)
				}
				rest = r
			}
			if want := wantTail("rcpt 250 2.0.0 I'll make sure <" + bob + "> gets this\n"); rest != want {
				t.Fatalf("transcript after EHLO:\n%s\nwant:\n%s", rest, want)
			}
		})
	}
	if log := n.Log(); strings.Contains(log, "\x00") {
		t.Errorf("a NUL reached the log:\n%q", log)
	}
}
