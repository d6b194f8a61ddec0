// Command submitpeer runs the peer of scripts/bench-submission.sh: Postfix
// as a submission server on implicit TLS (465 style) with SASL through
// Dovecot's auth service and delivery over LMTP into Dovecot's Maildirs,
// the stack most ISPs run, with the mail node's certificate and key.
//
// The account -user has the password given on the first line of standard
// input, stored hashed with argon2id with mailgate's own parameters
// (internal/password), so a verification costs the peer what it costs the
// node. Dovecot's auth cache keeps that hash and verifies every login
// against it, so each login pays for one; -cheap-user, when given, is a
// second account with the same password stored as {SSHA256} (one salted
// SHA-256, microseconds), which shows what the rest of the stack costs.
//
// It prints "mailhome=DIR" (every account's Maildir is below it) and
// "pids=POSTFIX DOVECOT" (the two masters, which fork everything else),
// then "ready", and runs until SIGTERM or SIGINT, when it stops both and
// removes their directories.
//
//	echo pw | go run ./bench/submitpeer -port 10465 -user u@example.net -cert c.pem -key k.pem
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"mailgate/internal/password"
	"mailgate/internal/testpeer"
)

func main() {
	port := flag.Int("port", 0, "loopback port of Postfix's smtpd (implicit TLS)")
	user := flag.String("user", "", "the account, local@domain; its password is stored hashed with argon2id")
	cheap := flag.String("cheap-user", "", "a second account with the same password stored as {SSHA256} (optional)")
	cert := flag.String("cert", "", "certificate file (PEM), e.g. the node's data_dir/selfsigned.crt")
	key := flag.String("key", "", "its private key (PEM)")
	flag.Parse()
	if *port == 0 || *user == "" || *cert == "" || *key == "" {
		fail("-port, -user, -cert and -key are required; the password comes on standard input")
	}
	// Postfix and Dovecot resolve a relative path from their own
	// directories.
	for _, f := range []*string{cert, key} {
		abs, err := filepath.Abs(*f)
		if err != nil {
			fail("%v", err)
		}
		*f = abs
	}
	pw, err := bufio.NewReader(os.Stdin).ReadString('\n')
	pw = strings.TrimRight(pw, "\r\n")
	if pw == "" {
		fail("no password on standard input: %v", err)
	}
	hash, err := password.Hash(pw)
	if err != nil {
		fail("hash: %v", err)
	}
	accounts := []testpeer.Account{{User: *user, Hash: "{ARGON2ID}" + hash}}
	if *cheap != "" {
		accounts = append(accounts, testpeer.Account{User: *cheap, Hash: ssha256(pw)})
	}
	users := make([]string, len(accounts))
	for i, a := range accounts {
		users[i] = a.User
	}
	d, err := testpeer.StartDovecot(accounts...)
	if err != nil {
		fail("%v", err)
	}
	p, err := testpeer.StartPostfixDovecotSubmission(*port, d, users, *cert, *key, nil)
	if err != nil {
		d.Stop()
		fail("%v", err)
	}
	stop := func() { p.Stop(); d.Stop() }
	ppid, err1 := p.PID()
	dpid, err2 := d.PID()
	if err1 != nil || err2 != nil {
		stop()
		fail("master pids: %v %v", err1, err2)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	fmt.Printf("mailhome=%s\npids=%d %d\nready\n", d.Homes(), ppid, dpid)
	<-sig
	stop()
}

// ssha256 is Dovecot's {SSHA256} scheme: base64 of SHA-256(password +
// salt) followed by the salt.
func ssha256(pw string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	sum := sha256.Sum256(append([]byte(pw), salt...))
	return "{SSHA256}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "submitpeer: "+format+"\n", args...)
	os.Exit(1)
}
