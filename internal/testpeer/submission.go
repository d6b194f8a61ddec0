package testpeer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"mailgate/internal/certs"
)

// StartPostfixSubmission starts Postfix as a mail submission agent, the way
// an ISP runs it beside Dovecot or Cyrus: STARTTLS on port (self-signed
// certificate, TLS 1.2 at least), AUTH PLAIN and LOGIN only under TLS
// through Cyrus SASL with one account in a sasldb, relaying only for
// authenticated clients. settings are applied as for StartPostfix.
func StartPostfixSubmission(port int, user, password string, settings map[string]string) (*Postfix, error) {
	if _, err := exec.LookPath("saslpasswd2"); err != nil {
		return nil, fmt.Errorf("saslpasswd2 not installed (apt-get install sasl2-bin): %w", err)
	}
	at := strings.LastIndexByte(user, '@')
	if at < 0 {
		return nil, fmt.Errorf("user %q: want local@realm", user)
	}
	return startPostfix(port, settings, func(dir string) (map[string]string, error) {
		if _, err := certs.Load("", "", dir, "postfix.test.example"); err != nil {
			return nil, err
		}
		sasl := filepath.Join(dir, "sasl")
		db := filepath.Join(sasl, "sasldb2")
		if err := os.MkdirAll(sasl, 0o755); err != nil {
			return nil, err
		}
		conf := "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: " + db + "\n"
		if err := os.WriteFile(filepath.Join(sasl, "smtpd.conf"), []byte(conf), 0o644); err != nil {
			return nil, err
		}
		// The password goes on stdin (-p), never on argv.
		cmd := exec.Command("saslpasswd2", "-p", "-c", "-f", db, "-u", user[at+1:], user[:at])
		cmd.Stdin = strings.NewReader(password)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("saslpasswd2: %v\n%s", err, out)
		}
		if out, err := exec.Command("chown", "postfix:postfix", db).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("chown sasldb: %v\n%s", err, out)
		}
		return map[string]string{
			"smtpd_tls_security_level":         "may",
			"smtpd_tls_cert_file":              filepath.Join(dir, "selfsigned.crt"),
			"smtpd_tls_key_file":               filepath.Join(dir, "selfsigned.key"),
			"smtpd_tls_protocols":              ">=TLSv1.2",
			"smtpd_tls_auth_only":              "yes",
			"smtpd_sasl_auth_enable":           "yes",
			"smtpd_sasl_type":                  "cyrus",
			"smtpd_sasl_path":                  "smtpd",
			"cyrus_sasl_config_path":           sasl,
			"smtpd_sasl_security_options":      "noanonymous",
			"smtpd_relay_restrictions":         "permit_sasl_authenticated, reject",
			"smtpd_client_restrictions":        "",
			"smtpd_recipient_restrictions":     "",
			"smtpd_sender_restrictions":        "",
			"smtpd_helo_restrictions":          "",
			"smtpd_data_restrictions":          "",
			"smtpd_tls_session_cache_database": "",
		}, nil
	})
}

// StartPostfixDovecotSubmission starts Postfix as the submission server
// most ISPs run: implicit TLS on port (RFC 8314, as on 465) with the given
// certificate and key, TLS 1.2 at least, AUTH through Dovecot's auth
// service (smtpd_sasl_type = dovecot), each sender bound to its login
// (reject_sender_login_mismatch), and the users' mail handed to Dovecot
// over LMTP, which writes it into their Maildirs. Postfix answers the 250
// once its queue file is fsynced and delivers afterwards. The users
// (local@domain) are Dovecot's accounts; settings are applied as for
// StartPostfix.
func StartPostfixDovecotSubmission(port int, d *Dovecot, users []string, certFile, keyFile string, settings map[string]string) (*Postfix, error) {
	var domains []string
	var boxes, logins strings.Builder
	for _, u := range users {
		at := strings.LastIndexByte(u, '@')
		if at < 0 {
			return nil, fmt.Errorf("user %q: want local@domain", u)
		}
		if !slices.Contains(domains, u[at+1:]) {
			domains = append(domains, u[at+1:])
		}
		fmt.Fprintf(&boxes, "%s ok\n", u)
		fmt.Fprintf(&logins, "%s %s\n", u, u)
	}
	return startPostfix(port, settings, func(dir string) (map[string]string, error) {
		// texthash: maps Postfix reads as they are, without postmap.
		mailboxes, senders := filepath.Join(dir, "mailboxes"), filepath.Join(dir, "senders")
		if err := os.WriteFile(mailboxes, []byte(boxes.String()), 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(senders, []byte(logins.String()), 0o644); err != nil {
			return nil, err
		}
		return map[string]string{
			"smtpd_tls_wrappermode":            "yes",
			"smtpd_tls_security_level":         "encrypt",
			"smtpd_tls_chain_files":            keyFile + ", " + certFile,
			"smtpd_tls_protocols":              ">=TLSv1.2",
			"smtpd_tls_mandatory_protocols":    ">=TLSv1.2",
			"smtpd_tls_auth_only":              "yes",
			"smtpd_tls_session_cache_database": "",
			"smtpd_sasl_auth_enable":           "yes",
			"smtpd_sasl_type":                  "dovecot",
			"smtpd_sasl_path":                  d.AuthSocket,
			"smtpd_sasl_security_options":      "noanonymous",
			"smtpd_sender_login_maps":          "texthash:" + senders,
			"smtpd_sender_restrictions":        "reject_sender_login_mismatch",
			"smtpd_relay_restrictions":         "permit_sasl_authenticated, reject",
			"smtpd_client_restrictions":        "",
			"smtpd_recipient_restrictions":     "",
			"smtpd_helo_restrictions":          "",
			"smtpd_data_restrictions":          "",
			"virtual_mailbox_domains":          strings.Join(domains, ", "),
			"virtual_mailbox_maps":             "texthash:" + mailboxes,
			"virtual_transport":                "lmtp:unix:" + d.LMTPSocket,
		}, nil
	})
}

// PID is the Postfix master's process id.
func (p *Postfix) PID() (int, error) {
	return readPID(filepath.Join(p.Dir, "queue", "pid", "master.pid"))
}
