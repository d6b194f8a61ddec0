package scan

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"mailgate/internal/mailbox"
)

// Learner teaches rspamd's Bayes classifier from what subscribers do: a
// message moved or copied into Junk is spam, one moved out of Junk to
// anything but Trash is ham. It works in the background, so the IMAP
// command never waits for rspamd; it is best effort, and a full queue
// drops lessons (with a log line) rather than slow anyone down.
type Learner struct {
	// Controller is rspamd's controller worker (learning is not served by
	// the normal worker).
	Controller Endpoint
	// Password is the controller's enable password; "" from an address
	// in its secure_ip (loopback in Debian's configuration).
	Password string
	Timeout  time.Duration
	Log      *slog.Logger

	once   sync.Once
	queue  chan lesson
	client *http.Client
}

type lesson struct {
	account string
	spam    bool
	f       *os.File
}

// learnQueue bounds the lessons waiting (each holds an open file).
const learnQueue = 256

// Lesson says what moving a message from one folder to another teaches:
// spam, ham, or nothing (ok false). Folder names are IMAP names.
func Lesson(from, to string) (spam, ok bool) {
	const junk, trash = mailbox.Junk, "Trash"
	switch {
	case to == junk && from != junk:
		return true, true
	case from == junk && to != junk && to != trash:
		return false, true
	}
	return false, false
}

// Copied is imapd's OnCopy hook: it decides at once and hands the
// messages (files opens them) to the background workers.
func (l *Learner) Copied(account, from, to string, files func() []*os.File) {
	spam, ok := Lesson(from, to)
	if !ok {
		return
	}
	l.once.Do(l.start)
	for _, f := range files() {
		select {
		case l.queue <- lesson{account, spam, f}:
		default:
			f.Close()
			l.log().Warn("rspamd learning queue full, lesson dropped", "account", account)
		}
	}
}

func (l *Learner) start() {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ep := l.Controller
	l.client = &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, ep.Network, ep.Address)
		},
	}}
	l.queue = make(chan lesson, learnQueue)
	for range 2 {
		go func() {
			for ls := range l.queue {
				l.learn(ls)
			}
		}()
	}
}

// learn posts one message to /learnspam or /learnham.
func (l *Learner) learn(ls lesson) {
	defer ls.f.Close()
	path := "/learnham"
	if ls.spam {
		path = "/learnspam"
	}
	req, err := http.NewRequest(http.MethodPost, baseURL+path, ls.f)
	if err != nil {
		return
	}
	if l.Password != "" {
		req.Header.Set("Password", l.Password)
	}
	req.Header.Set("Deliver-To", ls.account)
	resp, err := l.client.Do(req)
	if err != nil {
		ErrorCounter("rspamd-controller").Inc()
		l.log().Warn("rspamd learning failed", "account", ls.account, "lesson", path, "err", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	// 208: learned before, which is fine.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAlreadyReported {
		l.log().Warn("rspamd refused the lesson", "account", ls.account, "lesson", path,
			"status", resp.StatusCode, "answer", strings.TrimSpace(string(b)))
		return
	}
	l.log().Info("rspamd learned", "account", ls.account, "lesson", path)
}

func (l *Learner) log() *slog.Logger {
	if l.Log == nil {
		return slog.Default()
	}
	return l.Log
}
