package web

import (
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"mailgate/internal/address"
	"mailgate/internal/dnsrecords"
)

// endpoint is one client-facing service as mail programs are told of it.
type endpoint struct {
	Type   string // imap, pop3, smtp
	Host   string
	Port   int
	Socket string // "SSL" (implicit TLS) or "STARTTLS"
}

// endpoints lists our client services for a mail domain, implicit TLS
// first (RFC 8314 §5.1), from [listen]: a disabled service is left out.
func (s *Server) endpoints(domain string) []endpoint {
	host := s.cfg.ClientHostFor(domain)
	l := s.cfg.Listen
	var out []endpoint
	for _, e := range []struct{ typ, addr, socket string }{
		{"imap", l.IMAPS, "SSL"}, {"imap", l.IMAP, "STARTTLS"},
		{"pop3", l.POP3S, "SSL"}, {"pop3", l.POP3, "STARTTLS"},
		{"smtp", l.Submissions, "SSL"}, {"smtp", l.Submission, "STARTTLS"},
	} {
		if _, port, err := net.SplitHostPort(e.addr); err == nil && e.addr != "" {
			n, _ := strconv.Atoi(port)
			out = append(out, endpoint{e.typ, host, n, e.socket})
		}
	}
	return out
}

// ourDomain returns the normalised domain of a mail address (or bare
// domain) when it is one of ours.
func (s *Server) ourDomain(r *http.Request, addrOrDomain string) (string, bool) {
	d := addrOrDomain
	if i := strings.LastIndexByte(d, '@'); i >= 0 {
		norm, err := address.Normalize(d)
		if err != nil {
			return "", false
		}
		d = norm[strings.LastIndexByte(norm, '@')+1:]
	}
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	ok, err := s.st.HasDomain(r.Context(), d)
	return d, err == nil && ok
}

// Thunderbird's autoconfig format ("config-v1.1.xml", the clientConfig
// schema of the Mozilla ISPDB).
type clientConfig struct {
	XMLName  xml.Name      `xml:"clientConfig"`
	Version  string        `xml:"version,attr"`
	Provider emailProvider `xml:"emailProvider"`
}

type emailProvider struct {
	ID       string     `xml:"id,attr"`
	Domain   string     `xml:"domain"`
	Display  string     `xml:"displayName"`
	Short    string     `xml:"displayShortName"`
	Incoming []tbServer `xml:"incomingServer"`
	Outgoing []tbServer `xml:"outgoingServer"`
}

type tbServer struct {
	Type     string `xml:"type,attr"`
	Hostname string `xml:"hostname"`
	Port     int    `xml:"port"`
	Socket   string `xml:"socketType"`
	Username string `xml:"username"`
	Auth     string `xml:"authentication"`
}

// autoconfig serves /.well-known/autoconfig/mail/config-v1.1.xml and the
// autoconfig.<domain> form /mail/config-v1.1.xml. The domain comes from
// ?emailaddress=, else from the Host name (autoconfig.<domain>).
func (s *Server) autoconfig(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("emailaddress")
	if q == "" {
		q = strings.TrimPrefix(hostOnly(r.Host), "autoconfig.")
	}
	domain, ok := s.ourDomain(r, q)
	if !ok {
		http.Error(w, "no configuration for that domain", http.StatusNotFound)
		return
	}
	cc := clientConfig{Version: "1.1", Provider: emailProvider{ID: domain, Domain: domain, Display: domain, Short: domain}}
	for _, e := range s.endpoints(domain) {
		// %EMAILADDRESS% is filled in by the client: our user names are
		// full addresses. "password-cleartext" is sent inside TLS only.
		srv := tbServer{Type: e.Type, Hostname: e.Host, Port: e.Port, Socket: e.Socket, Username: "%EMAILADDRESS%", Auth: "password-cleartext"}
		if e.Type == "smtp" {
			cc.Provider.Outgoing = append(cc.Provider.Outgoing, srv)
		} else {
			cc.Provider.Incoming = append(cc.Provider.Incoming, srv)
		}
	}
	writeXML(w, "application/xml", cc)
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

func writeXML(w http.ResponseWriter, ctype string, v any) {
	w.Header().Set("Content-Type", ctype+"; charset=utf-8")
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	enc.Encode(v)
}

// autodiscoverRequest is Outlook's POX request ([MS-OXDSCLI] §2.2.4.1).
type autodiscoverRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

const (
	adResponseNS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	adOutlookNS  = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

var errBadAutodiscover = errors.New("autodiscover: not a POX request with an EMailAddress")

// parseAutodiscover reads a request body of at most 64 KiB.
func parseAutodiscover(body io.Reader) (string, error) {
	var req autodiscoverRequest
	dec := xml.NewDecoder(io.LimitReader(body, 64<<10))
	if err := dec.Decode(&req); err != nil {
		return "", errBadAutodiscover
	}
	a := strings.TrimSpace(req.Request.EMailAddress)
	if a == "" || len(a) > 320 {
		return "", errBadAutodiscover
	}
	if s := req.Request.AcceptableResponseSchema; s != "" && s != adOutlookNS {
		return "", errBadAutodiscover
	}
	return a, nil
}

type adResponse struct {
	XMLName  xml.Name `xml:"Autodiscover"`
	NS       string   `xml:"xmlns,attr"`
	Response struct {
		NS      string `xml:"xmlns,attr"`
		Account struct {
			AccountType string       `xml:"AccountType"`
			Action      string       `xml:"Action"`
			Protocol    []adProtocol `xml:"Protocol"`
		} `xml:"Account"`
	} `xml:"Response"`
}

type adProtocol struct {
	Type         string `xml:"Type"`
	Server       string `xml:"Server"`
	Port         int    `xml:"Port"`
	LoginName    string `xml:"LoginName"`
	DomainReq    string `xml:"DomainRequired"`
	SPA          string `xml:"SPA"`
	SSL          string `xml:"SSL"`
	Encryption   string `xml:"Encryption,omitempty"`
	AuthRequired string `xml:"AuthRequired"`
}

// autodiscover answers Outlook's POX Autodiscover with our IMAP, POP3 and
// SMTP settings (one entry per protocol: the implicit-TLS one first).
func (s *Server) autodiscover(w http.ResponseWriter, r *http.Request) {
	addr, err := parseAutodiscover(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	domain, ok := s.ourDomain(r, addr)
	if !ok {
		http.Error(w, "no configuration for that address", http.StatusNotFound)
		return
	}
	var resp adResponse
	resp.NS, resp.Response.NS = adResponseNS, adOutlookNS
	resp.Response.Account.AccountType, resp.Response.Account.Action = "email", "settings"
	seen := map[string]bool{}
	for _, e := range s.endpoints(domain) {
		typ := strings.ToUpper(e.Type)
		if typ == "POP3" {
			typ = "POP3"
		}
		if seen[typ] {
			continue
		}
		seen[typ] = true
		p := adProtocol{Type: typ, Server: e.Host, Port: e.Port, LoginName: addr, DomainReq: "off", SPA: "off", SSL: "on", AuthRequired: "on"}
		if e.Socket == "STARTTLS" {
			p.Encryption = "TLS"
		} else {
			p.Encryption = "SSL"
		}
		resp.Response.Account.Protocol = append(resp.Response.Account.Protocol, p)
	}
	writeXML(w, "application/xml", resp)
}

// mtaSTS serves the MTA-STS policy (RFC 8461 §3.2) for the domain whose
// mta-sts.<domain> name the request came to: the text `mailgate dns
// records` tells operators to publish.
func (s *Server) mtaSTS(w http.ResponseWriter, r *http.Request) {
	host := hostOnly(r.Host)
	domain, ok := strings.CutPrefix(host, "mta-sts.")
	if ok {
		_, ok = s.ourDomain(r, domain)
	}
	if !ok {
		http.Error(w, "no MTA-STS policy for "+host, http.StatusNotFound)
		return
	}
	// RFC 8461 §3.3: text/plain; the policy host must be HTTPS, which the
	// sender checks; we answer on both and let it.
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, dnsrecords.STSPolicy(s.cfg))
}
