package webmail

import (
	"html"
	"regexp"
	"strings"

	"mailgate/internal/message"
)

// File is one of a message's files (attachments and inline parts),
// transfer encoding undone.
type File struct {
	Name, Type string
	Data       []byte
}

// Contents is what a reply or a forward takes from a stored message: its
// text in UTF-8 (the plain parts, or the HTML parts' text when it has
// none) and its files. It reads the message as the reading pages do:
// message.ParseMIME's bounded part tree (a hostile message nested
// thousands of levels deep costs no more than one at the bound), the same
// charset decoding and the same file names.
func Contents(raw []byte) (text string, files []File) {
	b := collect(raw, message.ParseMIME(raw))
	var texts []string
	for _, p := range b.texts {
		texts = append(texts, decodeText(raw, p))
	}
	if len(texts) == 0 {
		for _, p := range b.htmls {
			texts = append(texts, htmlText(decodeText(raw, p)))
		}
	}
	for _, a := range b.attachments {
		data, err := partBody(raw, a.part)
		if err != nil {
			continue
		}
		name := AttachmentName(a.part.Header)
		if name == "" {
			name = defaultName(a.part.Type, a.id)
		}
		files = append(files, File{Name: name, Type: a.part.Type, Data: data})
	}
	return strings.Join(texts, "\n\n"), files
}

// blockEnd matches the tags that end a line of HTML text.
var blockEnd = regexp.MustCompile(`(?i)<(br|/p|/div|/tr|/li|/h[1-6])\b[^>]*>`)

// htmlText is an HTML part's text: a line break where a block ends,
// markup (scripts and styles with their content) dropped, entities
// decoded. It is only ever used as text (search, quoting), never shown as
// HTML.
func htmlText(s string) string {
	s = blockEnd.ReplaceAllString(s, "\n")
	return strings.TrimSpace(html.UnescapeString(stripTags.Sanitize(s)))
}
