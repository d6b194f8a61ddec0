package delivery

import (
	"context"
	"reflect"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/spool"
)

// aliasDir is selfDir with aliases: alias → account.
type aliasDir map[string]string

func (aliasDir) HasDomain(_ context.Context, d string) (bool, error) { return d == "ours.example", nil }
func (a aliasDir) Resolve(_ context.Context, addr string) (string, error) {
	if acct, ok := a[addr]; ok {
		return acct, nil
	}
	return addr, nil
}

// bobAliases: info@ and sales@ are aliases of bob.
var bobAliases = aliasDir{"info@ours.example": "bob@ours.example", "sales@ours.example": "bob@ours.example"}

// statuses lists each recipient as "addr status".
func statuses(st *spool.State) []string {
	var out []string
	for _, r := range st.Rcpts {
		out = append(out, r.Addr+" "+r.Status)
	}
	return out
}

// TestOneCopyPerMailbox: an alias and its target, or two aliases of one
// account, in one message give that mailbox one copy, on both paths
// (spooled and before the 250), and one run of its Sieve script (which
// files a copy and keeps one: a second run would store four); every
// recipient is Delivered. Another account's copy is not affected.
func TestOneCopyPerMailbox(t *testing.T) {
	script := scriptMap{"bob@ours.example": `require ["fileinto","mailbox"]; fileinto :create "Lists"; keep;`}
	rcpts := []string{"info@ours.example", "bob@ours.example", "carol@ours.example", "sales@ours.example"}
	want := []string{"info@ours.example delivered", "bob@ours.example delivered", "carol@ours.example delivered", "sales@ours.example delivered"}
	body := []byte("Subject: s\r\n\r\nbody\r\n")
	for _, beforeAck := range []bool{false, true} {
		a, _ := sieveAgent(t, script)
		a.Local.Dir = bobAliases
		env := spool.Envelope{ID: spool.NewID(), From: "x@else.example", To: rcpts, Received: time.Now(), Origin: "mx"}
		var st *spool.State
		if beforeAck {
			st, _ = a.Local.DeliverBeforeAck(context.Background(), &env, body)
		} else {
			st = &spool.State{}
			for _, r := range rcpts {
				st.Rcpts = append(st.Rcpts, spool.RcptState{Addr: r, Status: spool.Pending})
			}
			a.Local.Deliver(spool.InMemory(env, body), st, true)
		}
		if got := statuses(st); !reflect.DeepEqual(got, want) {
			t.Errorf("before ack %v: %v, want %v", beforeAck, got, want)
		}
		if got := stored(t, a.Local.MailRoot, "bob@ours.example"); !reflect.DeepEqual(got, []string{"INBOX:1", "Lists:1"}) {
			t.Errorf("before ack %v: bob's Maildir holds %v, want one copy in INBOX and one in Lists", beforeAck, got)
		}
		if got := stored(t, a.Local.MailRoot, "carol@ours.example"); !reflect.DeepEqual(got, []string{"INBOX:1"}) {
			t.Errorf("before ack %v: carol's Maildir holds %v", beforeAck, got)
		}
	}
}

// TestOneCopyPerMailboxQuota: bob's quota (100 octets) holds one copy
// of a 60-octet message, and the alias and bob in one message take one:
// both Delivered, 60 octets stored. A full mailbox defers both alike.
func TestOneCopyPerMailboxQuota(t *testing.T) {
	l := quotaAgent(t, config.QuotaFullDefer, nil)
	l.Dir = bobAliases
	st := deliverTo(l, "info@ours.example", "bob@ours.example")
	if got := statuses(st); !reflect.DeepEqual(got, []string{"info@ours.example delivered", "bob@ours.example delivered"}) {
		t.Fatalf("%v, want both delivered", got)
	}
	if octets, n := mailOctets(t, l.MailRoot, "bob@ours.example"); octets != 60 || n != 1 {
		t.Fatalf("bob's Maildir holds %d octets in %d messages, want 60 in 1", octets, n)
	}
	st = deliverTo(l, "info@ours.example", "bob@ours.example")
	for _, r := range st.Rcpts {
		if r.Status != spool.Pending || r.Error != "452 4.2.2 Mailbox full" {
			t.Fatalf("full mailbox: %+v, want deferred as full", r)
		}
	}
}

// TestOneCopyPerMailboxAcrossAttempts: a recipient a failed lookup left
// pending while its alias was delivered gets no second copy at the next
// attempt: the state remembers the mailbox the delivered one went to.
func TestOneCopyPerMailboxAcrossAttempts(t *testing.T) {
	a, sp := sieveAgent(t, nil)
	a.Local.Dir = bobAliases
	env := &spool.Envelope{From: "x@else.example", To: []string{"info@ours.example", "bob@ours.example"}, Received: time.Now(), Origin: "mx"}
	if err := sp.Put(env, []byte("Subject: s\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	st := &spool.State{NextAttempt: env.Received, Rcpts: []spool.RcptState{
		{Addr: "info@ours.example", Status: spool.Delivered, Mailbox: "bob@ours.example"},
		{Addr: "bob@ours.example", Status: spool.Pending, Error: "directory unavailable: timeout"},
	}}
	if err := sp.SaveState(env.ID, st); err != nil {
		t.Fatal(err)
	}
	a.process(context.Background(), env.ID)
	if ids, _ := sp.IDs(); len(ids) != 0 {
		t.Fatalf("queue holds %v, want nothing", ids)
	}
	if got := stored(t, a.Local.MailRoot, "bob@ours.example"); len(got) != 0 {
		t.Fatalf("bob's Maildir holds %v, want no copy from this attempt", got)
	}
}

// TestSieveRedirectToAnAliasOfTheSameMailbox: bob's script redirects to
// info@, his own alias: the redirect adds info@ as a recipient, which
// resolves to bob's mailbox, already served: no second copy, no second
// run of the script.
func TestSieveRedirectToAnAliasOfTheSameMailbox(t *testing.T) {
	a, _ := sieveAgent(t, scriptMap{"bob@ours.example": `require "copy"; redirect :copy "info@ours.example";`})
	a.Local.Dir = bobAliases
	st := deliverTo(a.Local, "bob@ours.example")
	if got := statuses(st); !reflect.DeepEqual(got, []string{"bob@ours.example delivered", "info@ours.example delivered"}) {
		t.Fatalf("%v", got)
	}
	if got := stored(t, a.Local.MailRoot, "bob@ours.example"); !reflect.DeepEqual(got, []string{"INBOX:1"}) {
		t.Fatalf("bob's Maildir holds %v, want one copy", got)
	}
}
