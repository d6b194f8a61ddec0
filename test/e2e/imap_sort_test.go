package e2e

import (
	"testing"
)

// TestIMAPSort: messages appended over imaplib with their own internal
// dates come back from SORT and UID SORT (RFC 5256 §3) and SORT=DISPLAY's
// keys (RFC 5957) in exactly the RFC's order: Japanese names and subjects
// in ISO-2022-JP encoded words, a missing and an unparseable Date (the
// internal date instead), ties by sequence number even under REVERSE,
// numbers after an expunge made sequence numbers and UIDs differ; an
// unsupported charset is NO [BADCHARSET], an unknown key BAD.
func TestIMAPSort(t *testing.T) {
	n := mailboxNode(t)
	got := imapPy(t, n, carol, carolPW, `
yamada = "=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?="
sato = "=?ISO-2022-JP?B?GyRCOjRGIxsoQg==?="
ringo = "=?ISO-2022-JP?B?GyRCJGokcyQ0GyhC?="
mikan = "=?ISO-2022-JP?B?GyRCJF8kKyRzGyhC?="
msgs = [
    ("07:00", "From: gone@x.jp\nSubject: gone\n", 0),
    ("12:00", "From: Zed <alice@x.jp>\nTo: bob@y.jp\nCc: dave@z.jp\nSubject: Re: Banana\nDate: Mon, 2 Mar 2026 10:00:00 +0000\n", 500),
    ("08:00", "From: bob@x.jp\nTo: Alice <zoe@y.jp>\nCc: carol@z.jp, aaron@z.jp\nSubject: apple\n", 3000),
    ("10:00", "From: " + yamada + " <yamada@x.jp>\nTo: " + sato + " <sato@y.jp>\nSubject: [ml] Re: " + ringo + "\nDate: Mon, 2 Mar 2026 18:00:00 +0900\n", 1500),
    ("11:00", "From: ALICE@x.jp\nTo: carol@y.jp\nCc: bob@z.jp\nSubject: BANANA (fwd)\nDate: not a date\n", 200),
    ("09:00", "From: " + sato + " <sato@x.jp>\nTo: " + yamada + " <yamada@y.jp>\nSubject: Re: " + mikan + "\nDate: Mon, 2 Mar 2026 10:00:00 +0000\n", 2500),
    ("13:00", "Date: Mon, 2 Mar 2026 07:00:00 +0000\n", 0),
]
m = login()
print("caps", [c for c in d(m.capability()[1][0]).split() if c.startswith("SORT")])
for at, hdr, size in msgs:
    body = (hdr + "\n").replace("\n", "\r\n") + "x" * size
    m.append("INBOX", None, '"02-Mar-2026 %s:00 +0000"' % at, body.encode())
m.select("INBOX")
m.store("1", "+FLAGS.SILENT", "(\\Deleted)")
m.expunge()
for crit in ("ARRIVAL", "REVERSE ARRIVAL", "DATE", "REVERSE DATE", "SIZE", "SUBJECT", "REVERSE SUBJECT",
             "FROM", "TO", "CC", "DISPLAYFROM", "DISPLAYTO", "SUBJECT REVERSE DATE"):
    print(crit, d(m.sort("(%s)" % crit, "UTF-8", "ALL")))
print("UID DATE", d(m.uid("SORT", "(DATE)", "UTF-8", "ALL")))
print("search", d(m.sort("(SUBJECT)", "US-ASCII", "FROM", "alice")))
print("none", d(m.sort("(SUBJECT)", "UTF-8", "SUBJECT", "nothing-matches")))
print("charset", d(m.sort("(DATE)", "ISO-8859-1", "ALL")))
try:
    print("answer", d(m.sort("(NAME)", "UTF-8", "ALL")))
except imaplib.IMAP4.error as e:
    print("refused", d(e.args[0]))
m.logout()
`)
	want := `caps ['SORT', 'SORT=DISPLAY']
ARRIVAL ('OK', ['2 5 3 4 1 6'])
REVERSE ARRIVAL ('OK', ['6 1 4 3 5 2'])
DATE ('OK', ['6 2 3 1 5 4'])
REVERSE DATE ('OK', ['4 1 5 3 2 6'])
SIZE ('OK', ['6 4 1 3 5 2'])
SUBJECT ('OK', ['6 2 1 4 5 3'])
REVERSE SUBJECT ('OK', ['3 5 1 4 2 6'])
FROM ('OK', ['6 1 4 2 5 3'])
TO ('OK', ['6 1 4 3 5 2'])
CC ('OK', ['3 5 6 4 2 1'])
DISPLAYFROM ('OK', ['6 4 2 1 5 3'])
DISPLAYTO ('OK', ['6 2 1 4 3 5'])
SUBJECT REVERSE DATE ('OK', ['6 2 4 1 5 3'])
UID DATE ('OK', ['7 3 4 2 6 5'])
search ('OK', ['1 4'])
none ('OK', [''])
charset ('NO', ['[BADCHARSET] Only US-ASCII and UTF-8 are supported SORT charsets'])
refused SORT command error: BAD [b'Unknown sort key NAME']
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}
