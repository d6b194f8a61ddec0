// Package testpeer starts real third-party mail software (Debian's Postfix)
// as a peer for end-to-end tests and benchmarks: its own config and queue
// directory under a temporary directory, listening on loopback only.
package testpeer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Postfix is a private Postfix instance.
type Postfix struct {
	Dir  string // config_directory; queue and data directories below it
	Port int    // its smtpd port on 127.0.0.1
}

// masterCF runs every service unchrooted, so the instance needs nothing
// copied into its queue directory.
const masterCF = `%d inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
virtual unix - n n - - virtual
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
`

// StartPostfix writes main.cf (the base below, overridden by settings) and
// master.cf into a new directory and starts the instance. Stop stops it and
// removes the directory.
func StartPostfix(port int, settings map[string]string) (*Postfix, error) {
	return startPostfix(port, settings, nil)
}

// startPostfix is StartPostfix with prepare, when not nil, run on the new
// config directory before start; the settings it returns win over all.
func startPostfix(port int, settings map[string]string, prepare func(dir string) (map[string]string, error)) (_ *Postfix, err error) {
	if _, err := exec.LookPath("postfix"); err != nil {
		return nil, fmt.Errorf("postfix not installed (apt-get install postfix): %w", err)
	}
	// Its own directory under /tmp, open to the postfix user: a test's
	// t.TempDir() sits below a root-only directory.
	dir, err := os.MkdirTemp("", "mailgate-postfix-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	main := map[string]string{
		"compatibility_level":                   "3.6",
		"queue_directory":                       filepath.Join(dir, "queue"),
		"data_directory":                        filepath.Join(dir, "data"),
		"mail_owner":                            "postfix",
		"setgid_group":                          "postdrop",
		"inet_interfaces":                       "127.0.0.1",
		"inet_protocols":                        "ipv4",
		"myhostname":                            "postfix.test.example",
		"mydomain":                              "test.example",
		"mydestination":                         "",
		"mynetworks":                            "127.0.0.0/8",
		"maillog_file":                          filepath.Join(dir, "maillog"),
		"maillog_file_prefixes":                 dir,
		"smtp_tls_security_level":               "may",
		"smtpd_tls_security_level":              "none",
		"smtp_host_lookup":                      "native",
		"disable_dns_lookups":                   "yes",
		"smtpd_client_restrictions":             "",
		"smtpd_relay_restrictions":              "permit_mynetworks, reject_unauth_destination",
		"alias_maps":                            "",
		"alias_database":                        "",
		"local_recipient_maps":                  "",
		"biff":                                  "no",
		"shlib_directory":                       "/usr/lib/postfix",
		"meta_directory":                        "/etc/postfix",
		"daemon_directory":                      "/usr/lib/postfix/sbin",
		"smtputf8_enable":                       "no",
		"default_destination_concurrency_limit": "20",
		"smtp_connection_cache_on_demand":       "yes",
	}
	for k, v := range settings {
		main[k] = v
	}
	if prepare != nil {
		more, err := prepare(dir)
		if err != nil {
			return nil, err
		}
		for k, v := range more {
			main[k] = v
		}
	}
	for _, d := range []string{"queue", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(main))
	for k := range main {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, main[k])
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "master.cf"), []byte(fmt.Sprintf(masterCF, port)), 0o644); err != nil {
		return nil, err
	}
	// The instance's directories must be owned as Postfix expects.
	os.Chmod(dir, 0o755)
	exec.Command("chown", "root:root", dir).Run()
	p := &Postfix{Dir: dir, Port: port}
	if out, err := p.cmd("postfix", "-c", dir, "set-permissions").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("postfix set-permissions: %v\n%s", err, out)
	}
	if out, err := p.cmd("postfix", "-c", dir, "start").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("postfix start: %v\n%s\n%s", err, out, p.Log())
	}
	return p, nil
}

func (p *Postfix) cmd(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = append(os.Environ(), "MAIL_CONFIG="+p.Dir)
	return c
}

// Stop stops the instance and waits for its master to exit.
func (p *Postfix) Stop() {
	p.cmd("postfix", "-c", p.Dir, "stop").Run()
	for i := 0; i < 50; i++ {
		if _, err := os.Stat(filepath.Join(p.Dir, "queue", "pid", "master.pid")); err != nil {
			os.RemoveAll(p.Dir)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.cmd("postfix", "-c", p.Dir, "abort").Run()
	os.RemoveAll(p.Dir)
}

// Flush asks the instance to retry its deferred mail now.
func (p *Postfix) Flush() error {
	return p.cmd("postqueue", "-c", p.Dir, "-f").Run()
}

// Log returns the instance's mail log.
func (p *Postfix) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "maillog"))
	return string(b)
}
