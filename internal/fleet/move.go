package fleet

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mailgate/internal/mailbox"
	"mailgate/internal/store"
)

// ProtoMove is the ALPN name of mailbox moves on the internal listener.
const ProtoMove = "mailgate-move"

// Mover moves mailboxes between nodes. `mailgate user move` marks the
// mailbox as moving in the store (from then on deliveries and logins wait)
// and asks the old home to move it:
//
//	MOVE <account> <node>\r\n        CLI -> old home
//	RECEIVE <account>\r\n + tar       old home -> new home
//	OK ...\r\n | ERR ...\r\n          answers
//
// The old home waits Settle for deliveries that began before the mark,
// streams the whole Maildir++ tree (messages, folders and their UID
// indexes, so UIDs and UIDVALIDITY stay and clients keep their caches),
// the new home writes it under a temporary name, fsyncs it and renames it
// into place, and only then does the old home switch the home in the
// store (one transaction, audited) and set its copy aside as
// <data_dir>/moved/<account>.<unix time>. A failure anywhere leaves the mailbox
// where it was and clears the mark. Mail that arrived meanwhile waited in
// the queues and now goes to the new home.
type Mover struct {
	Homes    *Homes
	Certs    *Certs
	MailRoot string
	Log      *slog.Logger
	// Settle is how long the old home waits after the mark before it
	// copies (default 2s): deliveries already past their home check
	// finish within it.
	Settle time.Duration
}

// Serve answers one MOVE or RECEIVE on an internal connection.
func (m *Mover) Serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	c.SetReadDeadline(time.Time{})
	f := strings.Fields(line)
	var reply string
	switch {
	case len(f) == 3 && f[0] == "MOVE":
		reply = m.move(f[1], f[2])
	case len(f) == 2 && f[0] == "RECEIVE":
		reply = m.receive(f[1], br)
	default:
		reply = "ERR want MOVE <account> <node> or RECEIVE <account>"
	}
	c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, reply+"\r\n")
}

// move runs on the old home.
func (m *Mover) move(account, to string) string {
	ctx := context.Background()
	node, movingTo, err := m.Homes.Store.HomeState(ctx, account)
	if err != nil {
		return "ERR " + err.Error()
	}
	if node != m.Homes.Self || movingTo != to {
		return fmt.Sprintf("ERR %s is homed on %s, moving to %q: not a move from here to %s", account, node, movingTo, to)
	}
	fail := func(err error) string {
		m.Log.Error("mailbox move failed", "account", account, "to", to, "err", err)
		if aerr := m.Homes.Store.AbortMove(ctx, "node:"+m.Homes.Self, account, err.Error()); aerr != nil {
			m.Log.Error("mailbox move: clearing the mark", "account", account, "err", aerr)
		}
		return "ERR " + err.Error() + "; the mailbox stays on " + node
	}
	time.Sleep(m.settle())
	dir, err := mailbox.Dir(m.MailRoot, account)
	if err != nil {
		return fail(err)
	}
	files, err := m.send(ctx, to, account, dir)
	if err != nil {
		return fail(err)
	}
	if err := m.Homes.Store.FinishMove(ctx, "node:"+m.Homes.Self, account, node, to); err != nil {
		return fail(err)
	}
	// Outside the mail tree, where no account's name can reach it.
	aside := filepath.Join(filepath.Dir(m.MailRoot), "moved", account+"."+strconv.FormatInt(time.Now().Unix(), 10))
	err = os.MkdirAll(filepath.Dir(aside), 0o700)
	if err == nil {
		err = os.Rename(dir, aside)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		m.Log.Warn("mailbox moved; the old copy stays in place", "account", account, "dir", dir, "err", err)
	}
	m.Log.Info("mailbox moved", "account", account, "from", node, "to", to, "files", files)
	return fmt.Sprintf("OK moved %s from %s to %s (%d files)", account, node, to, files)
}

// send streams dir as tar to the new home and waits for its OK.
func (m *Mover) send(ctx context.Context, to, account, dir string) (int, error) {
	n, err := m.Homes.Store.Node(ctx, to)
	if err != nil {
		return 0, err
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: m.Certs.ClientConfig(to, ProtoMove)}
	c, err := d.DialContext(ctx, "tcp", n.Address)
	if err != nil {
		return 0, fmt.Errorf("new home %s unreachable: %w", to, err)
	}
	defer c.Close()
	bw := bufio.NewWriterSize(c, 64<<10)
	fmt.Fprintf(bw, "RECEIVE %s\r\n", account)
	tw := tar.NewWriter(bw)
	files := 0
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return fs.SkipAll // never had mail: an empty mailbox moves
			}
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == "." {
			return nil
		}
		if e.IsDir() {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: filepath.ToSlash(rel) + "/", Mode: 0o700})
		}
		if filepath.Base(filepath.Dir(path)) == "tmp" || !e.Type().IsRegular() {
			return nil // a delivery in progress is not a message yet
		}
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // moved new/ -> cur/ meanwhile: found under its new name
			}
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: filepath.ToSlash(rel), Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
		files++
		_, err = io.Copy(tw, f)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return 0, fmt.Errorf("sending the Maildir to %s: %w", to, err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Minute))
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("no answer from %s: %w", to, err)
	}
	if !strings.HasPrefix(reply, "OK") {
		return 0, fmt.Errorf("%s: %s", to, strings.TrimSpace(reply))
	}
	return files, nil
}

// receive runs on the new home: it writes the tree under a temporary name,
// fsyncs every file and directory, and renames it into place.
func (m *Mover) receive(account string, r io.Reader) string {
	ctx := context.Background()
	_, movingTo, err := m.Homes.Store.HomeState(ctx, account)
	if err != nil {
		return "ERR " + err.Error()
	}
	if movingTo != m.Homes.Self {
		return fmt.Sprintf("ERR %s is not moving here", account)
	}
	dir, err := mailbox.Dir(m.MailRoot, account)
	if err != nil {
		return "ERR " + err.Error()
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Sprintf("ERR %s exists on %s: move it aside first", dir, m.Homes.Self)
	}
	// Under the mail root (one file system, so the rename is atomic) but
	// in a directory no domain can be named (a domain never starts with
	// a dot).
	tmp := filepath.Join(m.MailRoot, ".incoming", account+"."+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return "ERR " + err.Error()
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		os.RemoveAll(tmp)
		return "ERR " + err.Error()
	}
	if err := extract(tar.NewReader(r), tmp); err != nil {
		os.RemoveAll(tmp)
		return "ERR receiving the Maildir: " + err.Error()
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return "ERR " + err.Error()
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return "ERR " + err.Error()
	}
	m.Log.Info("mailbox received", "account", account)
	return "OK"
}

// extract writes a tar stream of directories and regular files under
// root, refusing any name that would leave it, then fsyncs what it wrote.
func extract(t *tar.Reader, root string) error {
	dirs := []string{root}
	for {
		h, err := t.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(strings.TrimSuffix(h.Name, "/"))
		if !filepath.IsLocal(name) {
			return fmt.Errorf("refused path %q", h.Name)
		}
		path := filepath.Join(root, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, path)
		case tar.TypeReg:
			if err := writeSynced(path, t, h.ModTime); err != nil {
				return err
			}
		default:
			return fmt.Errorf("refused entry %q of type %c", h.Name, h.Typeflag)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syncDir(dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

func writeSynced(path string, r io.Reader, mtime time.Time) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if !mtime.IsZero() {
		os.Chtimes(path, mtime, mtime)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (m *Mover) settle() time.Duration {
	if m.Settle > 0 {
		return m.Settle
	}
	return 2 * time.Second
}

// RequestMove is `mailgate user move`: it marks account as moving to node
// and asks its home to move it, returning the home's answer.
func RequestMove(ctx context.Context, st *store.Store, certs *Certs, actor, account, to string) (string, error) {
	from, err := st.BeginMove(ctx, actor, account, to)
	if err != nil {
		return "", err
	}
	abort := func(err error) (string, error) {
		if aerr := st.AbortMove(ctx, actor, account, err.Error()); aerr != nil {
			return "", fmt.Errorf("%w (and clearing the move mark failed: %v)", err, aerr)
		}
		return "", fmt.Errorf("%w; the mailbox stays on %s", err, from)
	}
	n, err := st.Node(ctx, from)
	if err != nil {
		return abort(err)
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: certs.ClientConfig(from, ProtoMove)}
	c, err := d.DialContext(ctx, "tcp", n.Address)
	if err != nil {
		return abort(fmt.Errorf("home node %s unreachable: %w", from, err))
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "MOVE %s %s\r\n", account, to); err != nil {
		return abort(err)
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		// The home may have finished, or not: the store says which.
		return "", fmt.Errorf("no answer from %s (%v): see `mailgate user list` and `mailgate user move` again to finish", from, err)
	}
	reply = strings.TrimSpace(reply)
	if !strings.HasPrefix(reply, "OK") {
		return "", errors.New(strings.TrimPrefix(reply, "ERR "))
	}
	return strings.TrimPrefix(reply, "OK "), nil
}

// Drain moves every mailbox homed on node, one at a time, each to the
// least-loaded other live node (live: how recent a heartbeat must be),
// reporting each move through report. It stops at the first failure: the
// mailboxes not yet moved stay where they are, and a second drain goes on.
func Drain(ctx context.Context, st *store.Store, certs *Certs, actor, node string, live time.Duration, report func(string)) error {
	if _, err := st.Node(ctx, node); err != nil {
		return err
	}
	accounts, err := st.HomedOn(ctx, node)
	if err != nil {
		return err
	}
	for _, acct := range accounts {
		to, err := st.PickHome(ctx, store.HomeLeastLoaded, live, node)
		if err != nil {
			return fmt.Errorf("draining %s: %w", node, err)
		}
		res, err := RequestMove(ctx, st, certs, actor, acct, to)
		if err != nil {
			return fmt.Errorf("draining %s: %s: %w", node, acct, err)
		}
		report(res)
	}
	return nil
}
