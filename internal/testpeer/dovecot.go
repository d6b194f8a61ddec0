package testpeer

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the SQLite database of Dovecot's passdb
)

// Dovecot is a private Dovecot instance serving Postfix, as an ISP's
// mail store does: its auth service for Postfix's SASL and LMTP delivery
// into Maildirs, both on unix sockets, nothing on the network.
type Dovecot struct {
	Dir        string // base of everything: config, sockets, mail
	AuthSocket string // for smtpd_sasl_type = dovecot
	LMTPSocket string // for lmtp:unix:
	conf       string
}

// dovecotConf runs auth and LMTP only. Accounts come from SQL, as at
// most ISPs (here SQLite: one file, the same driver as MySQL or
// PostgreSQL): an SQL passdb is looked up by auth-worker processes and
// its results go into the auth cache, which lives as long as mailgate's
// login cache (10 minutes). Dovecot keeps the stored hash in the cache and
// verifies the password against it at every login: the cache saves the
// lookup, not the hash (src/auth/passdb-cache.c), so those verifications
// go to the auth-worker processes too, as Dovecot's documentation advises
// for strong hashes (auth_cache_verify_password_with_worker): the auth
// process alone would use one CPU. A static passwd-file would not be
// cached at all (it sets no cache key).
const dovecotConf = `base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
auth_mechanisms = plain login
auth_cache_size = 10M
auth_cache_ttl = 10 mins
auth_cache_verify_password_with_worker = yes
mail_location = maildir:~/Maildir
passdb {
  driver = sql
  args = %[1]s/sql.conf
}
userdb {
  driver = sql
  args = %[1]s/sql.conf
}
service auth {
  unix_listener %[1]s/run/auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service lmtp {
  unix_listener %[1]s/run/lmtp-postfix {
    mode = 0600
    user = postfix
    group = postfix
  }
}
`

// dovecotSQL is the SQL passdb and userdb (Dovecot's dovecot-sql.conf.ext).
const dovecotSQL = `driver = sqlite
connect = %[1]s/users.db
password_query = SELECT user, password FROM users WHERE user = '%%u'
user_query = SELECT home, uid, gid FROM users WHERE user = '%%u'
`

// Account is a Dovecot account: User (local@domain) and the stored
// password, a scheme-prefixed string such as "{ARGON2ID}$argon2id$...".
type Account struct {
	User, Hash string
}

// DovecotMissing says which part of the Dovecot StartDovecot runs is not
// installed (the same check as scripts/test-deps.sh), or nil: a test
// passes its error to MissingPeer before starting one.
func DovecotMissing() error {
	if _, err := exec.LookPath("dovecot"); err != nil {
		return fmt.Errorf("dovecot not installed (apt-get install dovecot-core dovecot-lmtpd): %w", err)
	}
	if _, err := os.Stat("/usr/lib/dovecot/lmtp"); err != nil {
		return fmt.Errorf("dovecot's LMTP server not installed (apt-get install dovecot-lmtpd): %w", err)
	}
	if _, err := os.Stat("/usr/lib/dovecot/modules/libdriver_sqlite.so"); err != nil {
		return fmt.Errorf("dovecot's SQLite driver not installed (apt-get install dovecot-sqlite): %w", err)
	}
	return nil
}

// StartDovecot starts Dovecot with the accounts, whose mail it delivers as
// nobody into Maildir(user). Stop stops it and removes its directory.
func StartDovecot(accounts ...Account) (_ *Dovecot, err error) {
	if err := DovecotMissing(); err != nil {
		return nil, err
	}
	// Under /tmp and open to traversal: Postfix's processes (user postfix)
	// reach the sockets, the mail processes (nobody) the home.
	dir, err := os.MkdirTemp("", "mailgate-dovecot-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	os.Chmod(dir, 0o755)
	d := &Dovecot{Dir: dir, AuthSocket: filepath.Join(dir, "run", "auth-postfix"),
		LMTPSocket: filepath.Join(dir, "run", "lmtp-postfix"), conf: filepath.Join(dir, "dovecot.conf")}
	for _, sub := range []string{"run", "state", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	for _, a := range accounts {
		if err := os.MkdirAll(d.home(a.User), 0o755); err != nil {
			return nil, err
		}
	}
	if out, err := exec.Command("chown", "-R", "nobody:nogroup", filepath.Join(dir, "home")).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("chown: %v %s", err, out)
	}
	uid, gid, err := nobody()
	if err != nil {
		return nil, err
	}
	if err := d.writeUsers(accounts, uid, gid); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "sql.conf"), []byte(fmt.Sprintf(dovecotSQL, dir)), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(d.conf, []byte(fmt.Sprintf(dovecotConf, dir)), 0o644); err != nil {
		return nil, err
	}
	// Its errors into a file, not a pipe: the daemon would keep a pipe
	// open after the starting process exits.
	errFile := filepath.Join(dir, "start.err")
	ef, err := os.Create(errFile)
	if err != nil {
		return nil, err
	}
	start := exec.Command("dovecot", "-c", d.conf)
	start.Stdout, start.Stderr = ef, ef
	err = start.Run()
	ef.Close()
	if err != nil {
		msg, _ := os.ReadFile(errFile)
		return nil, fmt.Errorf("dovecot: %v\n%s%s", err, msg, d.Log())
	}
	for i := 0; ; i++ {
		if _, err := os.Stat(d.LMTPSocket); err == nil {
			if _, err := os.Stat(d.AuthSocket); err == nil {
				return d, nil
			}
		}
		if i == 100 {
			d.Stop()
			return nil, fmt.Errorf("dovecot's sockets did not appear\n%s", d.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// home is the home directory of user, below Dir.
func (d *Dovecot) home(user string) string {
	return filepath.Join(d.Homes(), user)
}

// Homes is the directory of every account's home (and Maildir).
func (d *Dovecot) Homes() string {
	return filepath.Join(d.Dir, "home")
}

// Maildir is where Dovecot delivers user's mail.
func (d *Dovecot) Maildir(user string) string {
	return filepath.Join(d.home(user), "Maildir")
}

// PID is the Dovecot master's process id.
func (d *Dovecot) PID() (int, error) {
	return readPID(filepath.Join(d.Dir, "run", "master.pid"))
}

// Log returns Dovecot's log.
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.log"))
	return string(b)
}

// Stop stops the instance, waits for its master to exit and removes its
// directory.
func (d *Dovecot) Stop() {
	if pid, err := d.PID(); err == nil {
		if p, err := os.FindProcess(pid); err == nil {
			p.Signal(os.Interrupt)
			for i := 0; i < 100 && p.Signal(syscall.Signal(0)) == nil; i++ {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	os.RemoveAll(d.Dir)
}

// writeUsers creates the SQLite database of the passdb and userdb.
func (d *Dovecot) writeUsers(accounts []Account, uid, gid int) error {
	db, err := sql.Open("sqlite", filepath.Join(d.Dir, "users.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE users (user TEXT PRIMARY KEY, password TEXT NOT NULL, home TEXT NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL)`); err != nil {
		return err
	}
	for _, a := range accounts {
		if _, err := db.Exec(`INSERT INTO users VALUES (?, ?, ?, ?, ?)`, a.User, a.Hash, d.home(a.User), uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// readPID reads a daemon's pid file.
func readPID(file string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// nobody returns the uid and gid mail processes run as: Dovecot delivers
// as no privileged user.
func nobody() (int, int, error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return 0, 0, err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, err
	}
	gid, err := strconv.Atoi(u.Gid)
	return uid, gid, err
}
