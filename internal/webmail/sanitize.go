package webmail

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// A message's HTML is sanitized before it is shown, and shown in a
// sandboxed frame under its own Content-Security-Policy, so a fault in one
// layer is caught by the next: bluemonday keeps only presentational markup
// (no script, no event handler, no form, no frame, no <style> or <link>,
// no javascript: URL), the CSP lets nothing load but inline styles and
// data: images, and the sandbox without allow-scripts runs nothing.

// blockedImage replaces a remote image's address while remote images are
// blocked: a data: URL loads nothing from the network (the CSP allows
// only data: images then anyway) and marks the message as having some.
const blockedImage = "data:,mailgate-blocked-image"

var (
	policyBlocked = newPolicy(false)
	policyImages  = newPolicy(true)
)

// emailStyles are the CSS properties mail is commonly laid out with and
// that take no URL (no background-image, list-style-image, border-image,
// content): styling cannot fetch anything.
var emailStyles = []string{
	"color", "background-color", "font", "font-family", "font-size", "font-weight", "font-style",
	"text-align", "text-decoration", "text-indent", "text-transform", "line-height", "letter-spacing",
	"vertical-align", "white-space", "word-break", "direction",
	"margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
	"padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
	"border", "border-top", "border-right", "border-bottom", "border-left",
	"border-color", "border-style", "border-width", "border-collapse", "border-spacing", "border-radius",
	"width", "height", "max-width", "min-width", "max-height", "min-height",
	"display", "float", "clear", "overflow",
}

func newPolicy(images bool) *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowDataURIImages()
	p.AllowStyles(emailStyles...).Globally()
	p.AllowAttrs("bgcolor", "color").Matching(bluemonday.Paragraph).Globally()
	p.AllowAttrs("align", "valign", "width", "height", "border", "cellpadding", "cellspacing").Matching(bluemonday.Paragraph).Globally()
	p.AllowAttrs("face", "size").OnElements("font")
	p.AllowElements("font", "center")
	// Links open outside the frame and tell the site nothing of us.
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.RequireNoFollowOnLinks(true)
	if !images {
		p.RewriteSrc(func(u *url.URL) {
			if isRemote(u) {
				*u = url.URL{Scheme: "data", Opaque: strings.TrimPrefix(blockedImage, "data:")}
			}
		})
	}
	return p
}

// isRemote: anything but a data: URL would be fetched (cid: parts are not
// resolved; they stay broken rather than load).
func isRemote(u *url.URL) bool { return u.Scheme != "data" }

// SanitizeHTML returns html safe to show in the message frame and whether
// it refers to remote images (blocked unless images is true).
func SanitizeHTML(html []byte, images bool) (out []byte, remote bool) {
	if images {
		out = policyImages.SanitizeBytes(html)
		remote = bytes.Contains(out, []byte(`src="http`))
		return out, remote
	}
	out = policyBlocked.SanitizeBytes(html)
	return out, bytes.Contains(out, []byte(blockedImage))
}

// stripTags leaves the text of HTML (body search).
var stripTags = bluemonday.StrictPolicy()
