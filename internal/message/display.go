package message

import (
	"mime"
	"net/mail"
	"strings"

	"github.com/emersion/go-message/charset"
)

// What a reader is shown of a header field: the webmail's message view
// and the summary cache behind its list decode fields the same way.

// wordDecoder decodes RFC 2047 encoded words in any charset go-message
// knows (ISO-2022-JP, Shift_JIS, EUC-JP, ...).
var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// DecodeWords decodes RFC 2047 encoded words; an undecodable value is
// shown as it is.
func DecodeWords(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// OneLine unfolds a field value (RFC 5322 §2.2.3) and trims it.
func OneLine(v string) string {
	v = strings.NewReplacer("\r\n", "", "\n", "", "\r", "", "\t", " ").Replace(v)
	return strings.TrimSpace(v)
}

var addrParser = mail.AddressParser{WordDecoder: wordDecoder}

// ParseAddressList parses an address field (RFC 5322 §3.4), decoding
// encoded words in display names; an empty field is an empty list.
func ParseAddressList(v string) ([]*mail.Address, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	return addrParser.ParseList(v)
}

// AddressText is an address field for display: "Name <addr>" or "addr",
// comma separated; a field that does not parse is shown decoded as it is.
func AddressText(v string) string {
	list, err := ParseAddressList(v)
	if err != nil {
		return OneLine(DecodeWords(v))
	}
	out := make([]string, len(list))
	for i, a := range list {
		if a.Name != "" {
			out[i] = a.Name + " <" + a.Address + ">"
		} else {
			out[i] = a.Address
		}
	}
	return strings.Join(out, ", ")
}
