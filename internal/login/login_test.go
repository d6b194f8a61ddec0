package login

import (
	"context"
	"errors"
	"testing"

	"mailgate/internal/password"
	"mailgate/internal/store"
)

type accounts map[string]*store.Account

func (a accounts) Account(_ context.Context, addr string) (*store.Account, error) {
	if addr == "broken@isp.example" {
		return nil, errors.New("connection refused")
	}
	if acct, ok := a[addr]; ok {
		return acct, nil
	}
	return nil, store.ErrNotFound
}

func TestCheck(t *testing.T) {
	h, _ := password.Hash("right-password")
	accts := accounts{
		"alice@isp.example": {Address: "alice@isp.example", PasswordHash: h, Status: store.StatusActive},
		"bob@isp.example":   {Address: "bob@isp.example", PasswordHash: h, Status: store.StatusSuspended},
		"carol@isp.example": {Address: "carol@isp.example", PasswordHash: h, Status: store.StatusSendingDisabled},
		"dave@isp.example":  {Address: "dave@isp.example", PasswordHash: "not-a-hash", Status: store.StatusActive},
	}
	cases := []struct {
		user, pw string
		want     error
	}{
		{"alice@isp.example", "right-password", nil},
		{"alice@isp.example", "wrong", ErrFailed},
		{"nobody@isp.example", "right-password", ErrFailed},
		{"bob@isp.example", "right-password", ErrFailed},
		{"carol@isp.example", "right-password", nil},
		{"dave@isp.example", "right-password", ErrFailed},
		{"broken@isp.example", "x", ErrUnavailable},
	}
	for _, c := range cases {
		acct, err := Check(context.Background(), accts, c.user, c.pw)
		if err != c.want {
			t.Errorf("Check(%s, %s) = %v, want %v", c.user, c.pw, err, c.want)
		}
		if err == nil && acct.Address != c.user {
			t.Errorf("Check(%s) returned account %s", c.user, acct.Address)
		}
	}
}
