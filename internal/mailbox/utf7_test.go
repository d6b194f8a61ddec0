package mailbox

import "testing"

func TestModifiedUTF7(t *testing.T) {
	for utf8, utf7 := range map[string]string{
		"INBOX": "INBOX", "Entwürfe": "Entw&APw-rfe", "A&B": "A&-B", "日本語": "&ZeVnLIqe-",
		"~peter/mail/台北/日本語": "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
	} {
		if got := encodeUTF7(utf8); got != utf7 {
			t.Errorf("encode %q = %q, want %q", utf8, got, utf7)
		}
		if got, err := decodeUTF7(utf7); err != nil || got != utf8 {
			t.Errorf("decode %q = %q, %v", utf7, got, err)
		}
	}
	for _, bad := range []string{"&", "&AGE-", "&Jjo!", "x\x01"} {
		if _, err := decodeUTF7(bad); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
}

func FuzzUTF7(f *testing.F) {
	for _, s := range []string{"Entw&APw-rfe", "&-", "&ZeVnLIqe-", "plain", "&AAA-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := decodeUTF7(s)
		if err != nil {
			return
		}
		if again, err := decodeUTF7(encodeUTF7(u)); err != nil || again != u {
			t.Fatalf("round trip %q -> %q -> %q (%v)", s, u, again, err)
		}
	})
}
