package web

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"text/template"
)

// mobileconfig serves a logged-in subscriber an Apple configuration
// profile (a property list, Apple's "Configuration Profile Reference",
// payload com.apple.mail.managed) with their IMAP and submission
// settings. The password is left out: the device asks for it.
func (s *Server) mobileconfig(w http.ResponseWriter, r *http.Request) {
	ws := s.session(r)
	domain := ws.Account[strings.LastIndexByte(ws.Account, '@')+1:]
	var in, out *endpoint
	for _, e := range s.endpoints(domain) {
		if e.Type == "imap" && in == nil {
			in = &e
		}
		if e.Type == "smtp" && out == nil {
			out = &e
		}
	}
	if in == nil || out == nil {
		s.fail(w, r, http.StatusNotFound, "err.notfound")
		return
	}
	// Stable UUIDs per account and host: installing again replaces the
	// profile instead of adding a second one.
	uuid := func(what string) string {
		b := sha256.Sum256([]byte(what + "\x00" + ws.Account + "\x00" + s.cfg.Hostname))
		b[6] = b[6]&0x0f | 0x50 // RFC 9562 §5.5: name-based (SHA) UUID
		b[8] = b[8]&0x3f | 0x80
		return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	}
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", `attachment; filename="`+domain+`.mobileconfig"`)
	w.Header().Set("Cache-Control", "no-store")
	mobileconfigTmpl.Execute(w, map[string]any{
		"Account": ws.Account, "Domain": domain, "In": in, "Out": out,
		"ProfileUUID": uuid("profile"), "MailUUID": uuid("mail"),
		"ID": reverseDNS(s.cfg.Hostname),
	})
}

func reverseDNS(host string) string {
	l := strings.Split(strings.ToLower(host), ".")
	for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
		l[i], l[j] = l[j], l[i]
	}
	return strings.Join(l, ".")
}

// text/template with explicit XML escaping: html/template would escape
// for HTML, not for a property list.
var mobileconfigTmpl = template.Must(template.New("mc").Funcs(template.FuncMap{"x": xmlEscape}).Parse(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>EmailAccountDescription</key><string>{{x .Account}}</string>
			<key>EmailAccountName</key><string>{{x .Account}}</string>
			<key>EmailAccountType</key><string>EmailTypeIMAP</string>
			<key>EmailAddress</key><string>{{x .Account}}</string>
			<key>IncomingMailServerAuthentication</key><string>EmailAuthPassword</string>
			<key>IncomingMailServerHostName</key><string>{{x .In.Host}}</string>
			<key>IncomingMailServerPortNumber</key><integer>{{.In.Port}}</integer>
			<key>IncomingMailServerUseSSL</key><true/>
			<key>IncomingMailServerUsername</key><string>{{x .Account}}</string>
			<key>OutgoingMailServerAuthentication</key><string>EmailAuthPassword</string>
			<key>OutgoingMailServerHostName</key><string>{{x .Out.Host}}</string>
			<key>OutgoingMailServerPortNumber</key><integer>{{.Out.Port}}</integer>
			<key>OutgoingMailServerUseSSL</key><true/>
			<key>OutgoingMailServerUsername</key><string>{{x .Account}}</string>
			<key>OutgoingPasswordSameAsIncomingPassword</key><true/>
			<key>PayloadDisplayName</key><string>{{x .Domain}}</string>
			<key>PayloadIdentifier</key><string>{{x .ID}}.mail.{{.MailUUID}}</string>
			<key>PayloadType</key><string>com.apple.mail.managed</string>
			<key>PayloadUUID</key><string>{{.MailUUID}}</string>
			<key>PayloadVersion</key><integer>1</integer>
		</dict>
	</array>
	<key>PayloadDisplayName</key><string>{{x .Domain}} mail</string>
	<key>PayloadIdentifier</key><string>{{x .ID}}.profile.{{.ProfileUUID}}</string>
	<key>PayloadRemovalDisallowed</key><false/>
	<key>PayloadType</key><string>Configuration</string>
	<key>PayloadUUID</key><string>{{.ProfileUUID}}</string>
	<key>PayloadVersion</key><integer>1</integer>
</dict>
</plist>
`))

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}
