package mailbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailgate/internal/keyed"
)

// Usage is what an account's Maildir holds, all folders together: the
// octets of its messages (CRLF, as stored) and how many there are.
type Usage struct {
	Bytes    int64
	Messages int64
}

// UsageFile, at the top of an account's Maildir, keeps its Usage cheaply,
// as Maildir++'s maildirsize does: a header line, then one "octets count"
// line per change (signed), written by every change this package makes
// and summed when read. A missing or unreadable file is counted again from
// the messages on disk (Recalculate); so is one older than usageStaleAfter
// when it says the quota is reached, because another program (Dovecot, a
// shell) may have removed mail without telling it (Courier's maildirquota
// rule). Mail another program adds is not seen until then.
const UsageFile = "mailgate-quota"

const usageHeader = "mailgate-quota 1"

// usageStaleAfter is Courier's and Dovecot's 15 minutes.
const usageStaleAfter = 15 * time.Minute

// usageMaxLines is when the file is rewritten as one line of totals.
const usageMaxLines = 1000

// usageMaxBytes bounds the UsageFile, for its writers and its reader
// alike: usageMaxLines lines of an octet count up to 10 GB, a sign, and a
// message count. A change that takes the file past it removes it
// (addUsage), and a read of a file past it (another program's, a
// corrupted or hostile one) reads no further and counts the disk instead:
// a legitimate file never gets there, so no more is ever worth reading.
const usageMaxBytes = usageMaxLines * 16

// ErrOverQuota: the change would take the account over its storage quota
// (RFC 3463 X.2.2 "mailbox full", RFC 9208 OVERQUOTA).
var ErrOverQuota = errors.New("mailbox full")

// QuotaError says by how much a change is over quota; it matches
// ErrOverQuota under errors.Is.
type QuotaError struct {
	Usage  Usage
	Limit  int64 // octets
	Adding int64 // octets the refused change would have added
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("mailbox full: %d of %d octets used, %d more do not fit; delete mail (and empty Trash) to make room",
		e.Usage.Bytes, e.Limit, e.Adding)
}

func (e *QuotaError) Is(target error) bool { return target == ErrOverQuota }

// usageLocks orders a Recalculate (write lock) against changes in flight
// (read lock, several at once), per account Maildir: a count taken while a
// message is being linked in must not be followed by that message's delta.
// An account's lock is dropped when no one holds or waits on it.
var usageLocks keyed.RWMutexes // by account Maildir

// accountRoot is the account Maildir a folder's directory belongs to:
// Maildir++ folders are ".Name" directly under it, and an account's own
// directory never starts with '.' (Dir escapes it).
func accountRoot(dir string) string {
	dir = filepath.Clean(dir)
	if strings.HasPrefix(filepath.Base(dir), ".") {
		return filepath.Dir(dir)
	}
	return dir
}

// Lock order: a Folder's mu, then the usage lock; nothing holding the
// usage lock takes a Folder's.
//
// track runs change, which alters the messages of the folder in dir and
// says by how much, and records that in the account's UsageFile.
func track(dir string, change func() (Usage, error)) error {
	_, err := trackUsage(dir, change)
	return err
}

// trackUsage is track that also returns what change said it altered.
func trackUsage(dir string, change func() (Usage, error)) (Usage, error) {
	root := accountRoot(dir)
	defer usageLocks.RLock(root)()
	d, err := change()
	if d != (Usage{}) {
		addUsage(root, d)
	}
	return d, err
}

// forgetUsage removes the UsageFile of the account dir belongs to, after a
// change that was not counted (another program's, a deleted folder): the
// next read counts the disk.
func forgetUsage(dir string) {
	root := accountRoot(dir)
	defer usageLocks.RLock(root)()
	os.Remove(filepath.Join(root, UsageFile))
}

// addUsage appends one change to root's UsageFile, if there is one (none:
// the next read counts the disk, this change included). One write(2) with
// O_APPEND, so concurrent changes do not interleave; not fsynced, as
// maildirsize is not: a crash loses at most the last changes, which the
// next recount mends.
func addUsage(root string, d Usage) {
	f, err := os.OpenFile(filepath.Join(root, UsageFile), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(strconv.FormatInt(d.Bytes, 10) + " " + strconv.FormatInt(d.Messages, 10) + "\n")
	// Only a read (a quota check) rewrites a long file. An account
	// whose quota was lifted is never read again, and an APPEND and
	// EXPUNGE loop grew its file by a line per change without end:
	// past what usageMaxLines lines take, the file goes, and a read
	// (if ever) counts the disk, this change included.
	if fi, err := f.Stat(); err == nil && fi.Size() > usageMaxBytes {
		os.Remove(filepath.Join(root, UsageFile))
	}
}

// AccountUsage returns the usage of the account whose Maildir is mailDir,
// from its UsageFile, counting the disk when the file is missing or
// unreadable (and rewriting it when long). A Maildir not made yet (no mail
// ever delivered) holds nothing: a zero Usage, and nothing is written.
func AccountUsage(mailDir string) (Usage, error) {
	u, _, err := accountUsage(mailDir)
	return u, err
}

func accountUsage(mailDir string) (Usage, time.Time, error) {
	root := filepath.Clean(mailDir)
	runlock := usageLocks.RLock(root)
	u, lines, mod, ok := readUsage(root)
	runlock()
	if ok && lines <= usageMaxLines {
		return u, mod, nil
	}
	u, err := Recalculate(root)
	return u, time.Now(), err
}

// readUsage sums root's UsageFile; ok is false when it is missing, longer
// than usageMaxBytes or not well formed (a torn last line after a crash,
// a negative total).
func readUsage(root string) (u Usage, lines int, mod time.Time, ok bool) {
	f, err := os.Open(filepath.Join(root, UsageFile))
	if err != nil {
		return Usage{}, 0, mod, false
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		mod = fi.ModTime()
	}
	data, err := readAllLimited(f, usageMaxBytes)
	if err != nil || !bytes.HasPrefix(data, []byte(usageHeader+"\n")) {
		return Usage{}, 0, mod, false
	}
	rest := data[len(usageHeader)+1:]
	if len(rest) > 0 && rest[len(rest)-1] != '\n' {
		return Usage{}, 0, mod, false
	}
	sc := bufio.NewScanner(bytes.NewReader(rest))
	for sc.Scan() {
		b, m, found := strings.Cut(sc.Text(), " ")
		nb, err1 := strconv.ParseInt(b, 10, 64)
		nm, err2 := strconv.ParseInt(m, 10, 64)
		if !found || err1 != nil || err2 != nil {
			return Usage{}, 0, mod, false
		}
		// A sum past int64 wraps, and a file of huge lines (a hostile
		// edit; a crash only tears the last line) summed to any usage,
		// 0 included: not well formed, counted again.
		var over1, over2 bool
		if u.Bytes, over1 = addInt64(u.Bytes, nb); over1 {
			return Usage{}, 0, mod, false
		}
		if u.Messages, over2 = addInt64(u.Messages, nm); over2 {
			return Usage{}, 0, mod, false
		}
		lines++
	}
	if u.Bytes < 0 || u.Messages < 0 {
		return Usage{}, 0, mod, false
	}
	return u, lines, mod, true
}

// addInt64 is a+b and whether it overflowed.
func addInt64(a, b int64) (int64, bool) {
	c := a + b
	return c, (b > 0 && c < a) || (b < 0 && c > a)
}

func readAllLimited(f *os.File, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = errors.New("usage file too long")
	}
	return b, err
}

// Recalculate counts the account's messages on disk (new/ and cur/ of
// INBOX and every folder; sizes from the ",S=" of a name, else the file's)
// and rewrites its UsageFile with the totals (Dovecot's maildirsize
// recalculation). Changes wait while it counts.
func Recalculate(mailDir string) (Usage, error) {
	root := filepath.Clean(mailDir)
	defer usageLocks.Lock(root)()
	u, err := CountUsage(root)
	if err != nil {
		return u, err
	}
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		return u, nil // no mail yet: nothing to write
	}
	body := fmt.Sprintf("%s\n%d %d\n", usageHeader, u.Bytes, u.Messages)
	tmp := filepath.Join(root, "tmp", fmt.Sprintf(".%s.%d", UsageFile, uniqueSeq.Add(1)))
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o700); err != nil {
			return u, err
		}
		if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
			return u, err
		}
	}
	if err := os.Rename(tmp, filepath.Join(root, UsageFile)); err != nil {
		os.Remove(tmp)
		return u, err
	}
	return u, nil
}

// CountUsage counts the account's messages on disk as Recalculate does,
// writing nothing: for a program beside the server (the CLI), whose
// rewrite of the UsageFile could race with the server's changes.
func CountUsage(mailDir string) (Usage, error) {
	root := filepath.Clean(mailDir)
	var u Usage
	folders, err := Folders(root)
	if err != nil {
		return u, err
	}
	for _, name := range folders {
		dir, err := FolderDir(root, name)
		if err != nil {
			continue
		}
		for _, sub := range []string{"new", "cur"} {
			if err := countDir(filepath.Join(dir, sub), &u); err != nil {
				return Usage{}, err
			}
		}
	}
	return u, nil
}

func countDir(dir string, u *Usage) error {
	names, err := readNames(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, n := range names {
		base, _ := splitName(n)
		size, ok := sizeFromName(base)
		if !ok {
			fi, err := os.Stat(filepath.Join(dir, n))
			if err != nil {
				continue // removed meanwhile
			}
			size = fi.Size()
		}
		u.Bytes += size
		u.Messages++
	}
	return nil
}

// CheckQuota says whether adding octets to the account whose Maildir is
// mailDir fits its quota of limit octets (0: unlimited): nil, or a
// *QuotaError (errors.Is ErrOverQuota). adding 1 asks "is it full"
// (usage at or over the quota). Octets reserved by changes in flight
// (ReserveQuota) count as used. A refusal resting on a UsageFile older
// than usageStaleAfter is checked again against a fresh count.
func CheckQuota(mailDir string, limit, adding int64) error {
	if limit <= 0 {
		return nil
	}
	r, done := reservations.Acquire(filepath.Clean(mailDir))
	defer done()
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.check(mailDir, limit, adding)
	return err
}

// ReserveQuota is CheckQuota for a change about to be made: when adding
// fits, its octets stay reserved, counted by every other check of the
// account, until release is called once the change is made (and recorded
// in the UsageFile) or given up. Without it, changes checked at once all
// pass against the same usage: five IMAP connections that each announce
// a 60,000-octet APPEND before sending its literal stored 300,000 octets
// under a 100 KiB quota (RFC 9208 §4.3.1 refuses an APPEND over it).
// release may be called more than once; it is never nil.
func ReserveQuota(mailDir string, limit, adding int64) (release func(), err error) {
	_, release, err = ReserveQuotaUsage(mailDir, limit, adding)
	return release, err
}

// ReserveQuotaUsage is ReserveQuota that also returns the account's usage
// it checked against (as stored: other changes' reservations not added),
// for a caller that decides more on it — delivery's quota warnings — and
// must not read the UsageFile again for that. Unlimited (limit <= 0): no
// check, nothing read, a zero Usage.
func ReserveQuotaUsage(mailDir string, limit, adding int64) (used Usage, release func(), err error) {
	if limit <= 0 {
		return Usage{}, func() {}, nil
	}
	// The reservation holds the account's entry until released: an entry
	// dropped with octets reserved would forget them.
	r, done := reservations.Acquire(filepath.Clean(mailDir))
	r.mu.Lock()
	defer r.mu.Unlock()
	if used, err = r.check(mailDir, limit, adding); err != nil {
		done()
		return used, func() {}, err
	}
	r.bytes += adding
	var once sync.Once
	return used, func() {
		once.Do(func() {
			r.mu.Lock()
			r.bytes -= adding
			r.mu.Unlock()
			done()
		})
	}, nil
}

// reservation is an account's octets checked against its quota and not
// yet recorded; mu also makes a check and its reservation one step.
// Lock order: a reservation's mu, then the usage lock.
type reservation struct {
	mu    sync.Mutex
	bytes int64
}

// reservations is the accounts' reservations, by account Maildir, while a
// check runs or octets are reserved.
var reservations keyed.Map[reservation]

// check is CheckQuota with r.mu held; it returns the usage it checked
// against (reservations not added).
func (r *reservation) check(mailDir string, limit, adding int64) (Usage, error) {
	u, mod, err := accountUsage(mailDir)
	if err != nil {
		return u, err
	}
	if u.Bytes+r.bytes+adding > limit && time.Since(mod) > usageStaleAfter {
		if u, err = Recalculate(mailDir); err != nil {
			return u, err
		}
	}
	if u.Bytes+r.bytes+adding > limit {
		inFlight := u
		inFlight.Bytes += r.bytes // in flight: as good as stored
		return u, &QuotaError{Usage: inFlight, Limit: limit, Adding: adding}
	}
	return u, nil
}
