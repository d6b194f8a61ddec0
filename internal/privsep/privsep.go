// Package privsep lets a tool run by root act as the owner of the data
// directory, as doveadm switches to the mail user before touching a
// mailbox: files it creates (a Maildir's messages and usage file, the
// store's) are then the daemon's, not root-owned and unreadable to it.
package privsep

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// Owner is the account a process switches to.
type Owner struct {
	UID, GID int
	Groups   []int  // supplementary groups; none when the uid has no passwd entry
	Name     string // the passwd name, or the uid as a number
}

// DirOwner is who owns dir and the groups it would run with: the passwd
// entry's primary and supplementary groups, or, for a uid without one,
// the directory's group and no others. ok is false when dir does not
// exist.
func DirOwner(dir string) (o Owner, ok bool, err error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Owner{}, false, nil
	}
	if err != nil {
		return Owner{}, false, err
	}
	st, isUnix := fi.Sys().(*syscall.Stat_t)
	if !isUnix {
		return Owner{}, false, fmt.Errorf("%s: no owner on this system", dir)
	}
	o = Owner{UID: int(st.Uid), GID: int(st.Gid), Name: strconv.Itoa(int(st.Uid))}
	u, err := user.LookupId(o.Name)
	if err != nil {
		return o, true, nil // a bare uid: its directory's group, no others
	}
	o.Name = u.Username
	if gid, err := strconv.Atoi(u.Gid); err == nil {
		o.GID = gid
	}
	ids, err := u.GroupIds()
	if err != nil {
		return Owner{}, true, fmt.Errorf("groups of %s: %w", u.Username, err)
	}
	for _, id := range ids {
		if gid, err := strconv.Atoi(id); err == nil && gid != o.GID {
			o.Groups = append(o.Groups, gid)
		}
	}
	return o, true, nil
}

// Become switches the whole process (every thread: Go 1.16+ applies
// setuid and friends to all of them) to o: supplementary groups first,
// then the group, then the user, after which nothing can be taken back.
func Become(o Owner) error {
	if err := syscall.Setgroups(o.Groups); err != nil {
		return fmt.Errorf("setgroups %v: %w", o.Groups, err)
	}
	if err := syscall.Setgid(o.GID); err != nil {
		return fmt.Errorf("setgid %d: %w", o.GID, err)
	}
	if err := syscall.Setuid(o.UID); err != nil {
		return fmt.Errorf("setuid %d: %w", o.UID, err)
	}
	// setuid from root to another uid drops every capability; make
	// sure it did before any file is written.
	if os.Geteuid() != o.UID || os.Getegid() != o.GID {
		return fmt.Errorf("still uid %d gid %d after switching", os.Geteuid(), os.Getegid())
	}
	return nil
}
