package smtpd

import (
	"context"
	"errors"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailgate/internal/password"
	"mailgate/internal/store"
)

// FuzzLoginNext drives the LOGIN mechanism with any client responses:
// it never panics, prompts exactly "Username:" then "Password:", calls the
// authenticator once with the two responses as given, and refuses anything
// after the exchange ended.
func FuzzLoginNext(f *testing.F) {
	f.Add(false, []byte(nil), []byte("alice@example.net"), []byte("secret"), []byte("extra"))
	f.Add(true, []byte("alice@example.net"), []byte("secret"), []byte(nil), []byte("x"))
	f.Add(true, []byte{}, []byte{}, []byte{}, []byte{})
	f.Add(false, []byte("\x00\xff"), []byte("a\x00b"), []byte("\r\n"), []byte(nil))
	f.Fuzz(func(t *testing.T, withIR bool, ir, r1, r2, r3 []byte) {
		calls := 0
		var gotUser, gotPass string
		srv := &loginServer{authenticate: func(identity, user, pw string) error {
			calls++
			if identity != "" {
				t.Fatalf("LOGIN has no authorization identity, got %q", identity)
			}
			gotUser, gotPass = user, pw
			return errAuthFailed
		}}
		var first []byte
		if withIR {
			first = ir
			if first == nil {
				first = []byte{}
			}
		}
		ch, done, err := srv.Next(first)
		wantUser := string(r1)
		if withIR {
			wantUser = string(first)
		} else {
			if string(ch) != "Username:" || done || err != nil {
				t.Fatalf("first step: %q %v %v", ch, done, err)
			}
			ch, done, err = srv.Next(r1)
		}
		if string(ch) != "Password:" || done || err != nil {
			t.Fatalf("password prompt: %q %v %v", ch, done, err)
		}
		pw := r2
		if withIR {
			pw = r1
		}
		if pw == nil {
			pw = []byte{}
		}
		ch, done, err = srv.Next(pw)
		if !done || err != errAuthFailed || ch != nil {
			t.Fatalf("last step: %q %v %v", ch, done, err)
		}
		if calls != 1 || gotUser != wantUser || gotPass != string(pw) {
			t.Fatalf("authenticator called %d times with %q/%q, want %q/%q", calls, gotUser, gotPass, wantUser, pw)
		}
		if _, done, err := srv.Next(r3); !done || !errors.Is(err, sasl.ErrUnexpectedClientResponse) || calls != 1 {
			t.Fatalf("a response after the end: %v %v, %d calls", done, err, calls)
		}
	})
}

// FuzzPlainNext: AUTH PLAIN's message (RFC 4616 §2) from any bytes never
// panics; a malformed one is 501 5.5.2 (RFC 4954 §4) without touching the
// authenticator, a well-formed one reaches it once with the three parts.
func FuzzPlainNext(f *testing.F) {
	f.Add([]byte("\x00alice@example.net\x00secret"))
	f.Add([]byte("bob@example.net\x00alice@example.net\x00secret"))
	f.Add([]byte("no-nul"))
	f.Add([]byte("\x00\x00"))
	f.Add([]byte("a\x00b\x00c\x00d"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		calls := 0
		s := syntaxMapped{sasl.NewPlainServer(func(identity, user, pw string) error {
			calls++
			if identity+"\x00"+user+"\x00"+pw != string(msg) {
				t.Fatalf("authenticator got %q %q %q from %q", identity, user, pw, msg)
			}
			return errAuthFailed
		})}
		_, _, err := s.Next(msg)
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			t.Fatalf("error %v is not an SMTP reply", err)
		}
		switch {
		case calls == 1 && se == errAuthFailed:
		case calls == 0 && se == errAuthSyntax:
		default:
			t.Fatalf("%d calls, reply %v for %q", calls, se, msg)
		}
	})
}

// dirStub answers Account from a map; other Directory methods are not
// used by checkPassword.
type dirStub struct {
	Directory
	accounts map[string]*store.Account
	err      error
}

func (d dirStub) Account(_ context.Context, addr string) (*store.Account, error) {
	if d.err != nil {
		return nil, d.err
	}
	if a, ok := d.accounts[addr]; ok {
		return a, nil
	}
	return nil, store.ErrNotFound
}

// RFC 4954 §6: unknown user, wrong password and suspended account all get
// the very same 535 reply; a broken store gets 454 (try later), and a
// sending-disabled account may still log in (Mail refuses it).
func TestCheckPassword(t *testing.T) {
	hash, err := password.Hash("right-password")
	if err != nil {
		t.Fatal(err)
	}
	dir := dirStub{accounts: map[string]*store.Account{
		"alice@example.net": {Address: "alice@example.net", PasswordHash: hash, Status: store.StatusActive},
		"carol@example.net": {Address: "carol@example.net", PasswordHash: hash, Status: store.StatusSuspended},
		"dave@example.net":  {Address: "dave@example.net", PasswordHash: hash, Status: store.StatusSendingDisabled},
		"eve@example.net":   {Address: "eve@example.net", PasswordHash: "not-a-hash", Status: store.StatusActive},
	}}
	ctx := context.Background()
	for _, c := range []struct {
		login, pw string
		want      error
	}{
		{"alice@example.net", "right-password", nil},
		{"dave@example.net", "right-password", nil},
		{"alice@example.net", "wrong-password", errAuthFailed},
		{"alice@example.net", "", errAuthFailed},
		{"nobody@example.net", "right-password", errAuthFailed},
		{"carol@example.net", "right-password", errAuthFailed},
		{"eve@example.net", "not-a-hash", errAuthFailed},
	} {
		acct, err := checkPassword(ctx, dir, nil, c.login, c.pw)
		if err != c.want || (err == nil) != (acct != nil) {
			t.Errorf("checkPassword(%s, %s) = %v, %v; want %v", c.login, c.pw, acct, err, c.want)
		}
	}
	broken := dirStub{err: errors.New("database down")}
	if _, err := checkPassword(ctx, broken, nil, "alice@example.net", "right-password"); err != errAuthTemp {
		t.Fatalf("store failure: %v, want %v", err, errAuthTemp)
	}
}
