package message

import "testing"

// TestAddressText: each address as "Name <addr>" or "addr", names decoded
// from RFC 2047 words in any charset; a field that does not parse is
// shown decoded and unfolded as it is, an empty one as nothing.
func TestAddressText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"=?ISO-2022-JP?B?GyRCJTUlcyVXJWsbKEI=?= <a@example.jp>, b@example.jp", "サンプル <a@example.jp>, b@example.jp"},
		{`"Taro, Y." <t@example.jp>`, "Taro, Y. <t@example.jp>"},
		{"not an address =?UTF-8?B?5aSq6YOO?=\r\n\tfolded", "not an address 太郎 folded"},
		{"  ", ""},
	} {
		if got := AddressText(c.in); got != c.want {
			t.Errorf("AddressText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := OneLine(DecodeWords("=?Shift_JIS?B?jI+WvINlg1iDZw==?=\r\n =?UTF-8?Q?x?=")); got != "件名テストx" {
		t.Errorf("subject %q", got)
	}
	// A charset nobody knows: the value as it came, not half of it.
	if got := DecodeWords("=?Shift_JIS?B?jI+WvINlg1iDZw==?= =?bogus?Q?x?="); got != "=?Shift_JIS?B?jI+WvINlg1iDZw==?= =?bogus?Q?x?=" {
		t.Errorf("undecodable %q", got)
	}
}
