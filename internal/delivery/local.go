package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"mailgate/internal/address"
	"mailgate/internal/mailbox"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// Directory is what local delivery needs from the store.
type Directory interface {
	HasDomain(ctx context.Context, name string) (bool, error)
	Resolve(ctx context.Context, addr string) (string, error)
}

// Local delivers to accounts in our domains, into Maildir.
type Local struct {
	Dir      Directory
	MailRoot string // <data_dir>/mail
	Hostname string
	Log      *slog.Logger
	// Homes, in a fleet, says which recipients are homed on other nodes.
	Homes Homes
}

// Deliver delivers every pending recipient of m that is in one of our
// domains and updates st; recipients in other domains stay pending. fresh
// says this is the first attempt of a message this process received
// (spool.TakeFresh), so no earlier copy can be in a mailbox.
func (l *Local) Deliver(m *spool.Message, st *spool.State, fresh bool) {
	ctx := context.Background()
	for i, r := range st.Rcpts {
		if r.Status != spool.Pending {
			continue
		}
		ours, err := l.Dir.HasDomain(ctx, address.Domain(r.Addr))
		if err != nil {
			st.Rcpts[i].Error = "directory unavailable: " + err.Error()
			continue
		}
		if !ours || l.homedElsewhere(ctx, &st.Rcpts[i]) {
			continue
		}
		status, errText := l.deliverOne(ctx, m, i, r.Addr, fresh)
		st.Rcpts[i].Status, st.Rcpts[i].Error = status, errText
	}
}

// deliverOne delivers to one local recipient and returns its new status.
// The Maildir name comes from the spool ID and recipient index, so a
// delivery repeated after a crash is recognised and not duplicated.
func (l *Local) deliverOne(ctx context.Context, m *spool.Message, idx int, rcpt string, fresh bool) (string, string) {
	acct, err := l.Dir.Resolve(ctx, rcpt)
	if errors.Is(err, store.ErrNotFound) {
		// Sessions refuse unknown local users at RCPT, so this is an
		// account removed while the message was queued.
		l.Log.Warn("local recipient unknown", "id", m.Envelope.ID, "rcpt", rcpt)
		return spool.Failed, "550 5.1.1 no such user here"
	}
	if err != nil {
		return spool.Pending, "directory unavailable: " + err.Error()
	}
	env := &m.Envelope
	name := mailbox.DeliveryName(env.Received, env.ID+"."+strconv.Itoa(idx), l.Hostname, env.Size)
	deliver := mailbox.Deliver
	if fresh {
		deliver = mailbox.DeliverNew
	}
	dir := mailbox.Dir(l.MailRoot, acct)
	if env.Junk {
		// The verdict judged it spam: the Junk folder, created on first
		// use (an account that never logged in has none yet).
		if err := mailbox.CreateFolder(dir, mailbox.Junk); err != nil && !errors.Is(err, mailbox.ErrFolderExists) {
			return spool.Pending, fmt.Sprintf("maildir: %v", err)
		}
		dir, _ = mailbox.FolderDir(dir, mailbox.Junk)
	}
	if err := deliver(dir, name, m.Body()); err != nil {
		l.Log.Error("maildir delivery failed", "id", env.ID, "rcpt", rcpt, "err", err)
		return spool.Pending, fmt.Sprintf("maildir: %v", err)
	}
	l.Log.Info("delivered", "id", env.ID, "rcpt", rcpt, "mailbox", acct, "size", env.Size)
	return spool.Delivered, ""
}
