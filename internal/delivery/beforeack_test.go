package delivery

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailgate/internal/spool"
)

// maildirFiles maps every file under root's Maildirs (tmp/ aside) to its
// bytes, by path relative to root.
func maildirFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || filepath.Base(filepath.Dir(p)) == "tmp" {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if strings.HasPrefix(rel, "spool"+string(filepath.Separator)) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[rel] = string(b)
		return nil
	})
	return out
}

// viaQueue delivers as the spool-first path does: Put, then the agent.
func viaQueue(t *testing.T, scripts scriptMap, env spool.Envelope, body []byte) (map[string]string, []string) {
	a, sp := sieveAgent(t, scripts)
	if err := sp.Put(&env, body); err != nil {
		t.Fatal(err)
	}
	a.process(context.Background(), env.ID)
	ids, _ := sp.IDs()
	return maildirFiles(t, a.Local.MailRoot), ids
}

// beforeAck delivers as the MX does with local_before_ack: Deliver
// BeforeAck, then what is left through the spool and the agent.
func beforeAck(t *testing.T, scripts scriptMap, env spool.Envelope, body []byte) (map[string]string, []string, string) {
	a, sp := sieveAgent(t, scripts)
	st, refusal := a.Local.DeliverBeforeAck(context.Background(), &env, body)
	reject := ""
	if refusal != nil {
		reject = refusal.String()
	}
	if reject == "" && len(st.Pending()) > 0 {
		if err := sp.PutWithState(&env, body, st); err != nil {
			t.Fatal(err)
		}
		a.process(context.Background(), env.ID)
	}
	ids, _ := sp.IDs()
	return maildirFiles(t, a.Local.MailRoot), ids, reject
}

// TestBeforeAckStoresWhatTheQueueStores: for every kind of Sieve result
// the two paths leave the same files, byte for byte and under the same
// names, in every Maildir and folder; what one queues (a DSN for a
// rejection by one of two recipients) the other queues too.
func TestBeforeAckStoresWhatTheQueueStores(t *testing.T) {
	body := []byte("Received: from a (b [192.0.2.1]) by mail.ours.example\r\nFrom: x@else.example\r\nSubject: [acme] news\r\n\r\nbody\r\n")
	for _, tc := range []struct {
		name    string
		scripts scriptMap
		to      []string
		junk    bool
		want    int // files in Maildirs
		queued  int // entries left in the queue (DSNs)
	}{
		{"two recipients, no script", nil, []string{"bob@ours.example", "carol@ours.example"}, false, 2, 0},
		{"junk", nil, []string{"bob@ours.example"}, true, 2, 0}, // and .Junk/maildirfolder
		{"fileinto :create with flags", scriptMap{"bob@ours.example": `require ["fileinto", "imap4flags"]; addflag "\\Seen"; fileinto :create "Lists";`},
			[]string{"bob@ours.example"}, false, 1, 0},
		{"redirect :copy to a local address", scriptMap{"bob@ours.example": `require "copy"; redirect :copy "dave@ours.example";`},
			[]string{"bob@ours.example"}, false, 2, 0},
		{"reject by one of two", scriptMap{"bob@ours.example": `require "reject"; reject "not here";`},
			[]string{"bob@ours.example", "carol@ours.example"}, false, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := spool.Envelope{ID: spool.NewID(), From: "x@else.example", To: tc.to, Received: time.Now(), Origin: "mx", Junk: tc.junk}
			old, oldQueue := viaQueue(t, tc.scripts, env, body)
			now, nowQueue, reject := beforeAck(t, tc.scripts, env, body)
			if reject != "" {
				t.Fatalf("refused %q", reject)
			}
			if len(old) != tc.want {
				t.Fatalf("queue path stored %d files, want %d: %v", len(old), tc.want, old)
			}
			if !reflect.DeepEqual(old, now) {
				t.Fatalf("the paths differ:\nqueue first: %v\nbefore ack:  %v", old, now)
			}
			if len(oldQueue) != tc.queued || len(nowQueue) != tc.queued {
				t.Fatalf("queue holds %v (queue first) and %v (before ack), want %d entries each", oldQueue, nowQueue, tc.queued)
			}
		})
	}
}

// TestBeforeAckWritesOnce: the copies of one message in several Maildirs
// are one file (one write, one fsync), each Maildir holding a name.
func TestBeforeAckWritesOnce(t *testing.T) {
	a, _ := sieveAgent(t, nil)
	env := spool.Envelope{ID: spool.NewID(), From: "x@else.example", To: []string{"bob@ours.example", "carol@ours.example", "dave@ours.example"}, Received: time.Now(), Origin: "mx"}
	st, _ := a.Local.DeliverBeforeAck(context.Background(), &env, []byte("Subject: s\r\n\r\nbody\r\n"))
	if p := st.Pending(); len(p) != 0 {
		t.Fatalf("pending %v", p)
	}
	var infos []os.FileInfo
	for p := range maildirFiles(t, a.Local.MailRoot) {
		fi, err := os.Stat(filepath.Join(a.Local.MailRoot, p))
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, fi)
	}
	if len(infos) != 3 {
		t.Fatalf("%d files, want 3", len(infos))
	}
	for _, fi := range infos[1:] {
		if !os.SameFile(infos[0], fi) {
			t.Fatalf("%s and %s are separate files, want one linked thrice", infos[0].Name(), fi.Name())
		}
	}
}

// TestBeforeAckRejectOfTheOnlyRecipient: with one recipient the script's
// rejection is returned for the SMTP reply (RFC 5429 §2.1), nothing is
// stored and nothing left for the queue, whose DSN it replaces; an
// unverified sender's message is kept instead, as on the queue path.
func TestBeforeAckRejectOfTheOnlyRecipient(t *testing.T) {
	scripts := scriptMap{"bob@ours.example": "require \"ereject\";\nereject \"Mailbox closed\r\n\u00e9t\u00e9\";"}
	body := []byte("From: x@else.example\r\nSubject: s\r\n\r\nbody\r\n")
	env := spool.Envelope{ID: spool.NewID(), From: "x@else.example", To: []string{"bob@ours.example"}, Received: time.Now(), Origin: "mx"}
	files, queued, reject := beforeAck(t, scripts, env, body)
	if want := "550 5.7.1 rejected by the recipient's filter: Mailbox closed  ?t?"; reject != want || len(files) != 0 || len(queued) != 0 {
		t.Fatalf("reject %q, files %v, queue %v; want %q and nothing stored or queued", reject, files, queued, want)
	}
	env.Unverified = true
	files, queued, reject = beforeAck(t, scripts, env, body)
	if reject != "" || len(files) != 1 || len(queued) != 0 {
		t.Fatalf("unverified sender: reject %q, files %v, queue %v; want it kept in INBOX", reject, files, queued)
	}
}

// TestBeforeAckLeavesWhatFailsNowToTheQueue: a mailbox that cannot be
// written now (here a file where its directory should be) stays Pending
// for the queue, the other recipient is delivered, and once the queue
// delivers it the mailbox has it under the same name as the queue path
// would have given it.
func TestBeforeAckLeavesWhatFailsNowToTheQueue(t *testing.T) {
	a, sp := sieveAgent(t, nil)
	root := a.Local.MailRoot
	blocked := filepath.Join(root, "ours.example", "bob")
	os.MkdirAll(filepath.Dir(blocked), 0o700)
	os.WriteFile(blocked, []byte("not a Maildir"), 0o600)
	env := spool.Envelope{ID: spool.NewID(), From: "x@else.example", To: []string{"bob@ours.example", "carol@ours.example"}, Received: time.Now(), Origin: "mx"}
	body := []byte("Subject: s\r\n\r\nbody\r\n")
	st, reject := a.Local.DeliverBeforeAck(context.Background(), &env, body)
	if reject != nil || !reflect.DeepEqual(st.Pending(), []string{"bob@ours.example"}) {
		t.Fatalf("pending %v, reject %v; want bob left for the queue", st.Pending(), reject)
	}
	if files := maildirFiles(t, root); len(files) != 2 { // carol's copy and the blocking file
		t.Fatalf("files %v", files)
	}
	if err := sp.PutWithState(&env, body, st); err != nil {
		t.Fatal(err)
	}
	os.Remove(blocked)
	a.process(context.Background(), env.ID)
	if ids, _ := sp.IDs(); len(ids) != 0 {
		t.Fatalf("queue holds %v", ids)
	}
	names := map[string]bool{}
	for p := range maildirFiles(t, root) {
		names[filepath.Base(p)] = true
	}
	if len(names) != 2 {
		t.Fatalf("bob's and carol's copies should differ only by recipient index: %v", names)
	}
	old, _ := viaQueue(t, nil, env, body)
	if !reflect.DeepEqual(maildirFiles(t, root), old) {
		t.Fatalf("differs from the queue path:\n%v\n%v", maildirFiles(t, root), old)
	}
}
