package node

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ext4Magic is ext2/3/4's statfs f_type (linux/magic.h EXT4_SUPER_MAGIC).
const ext4Magic = 0xEF53

// warnUnjournaledExt4 warns when dir (the data directory: spool and
// Maildirs) is on ext4 mounted without a journal. There the kernel, at
// each new inode, skips every inode of the group freed in the last 60 s
// (6 min while its inode-table block is still dirty), reading each one's
// block (recently_deleted in fs/ext4/ialloc.c, for crash safety without a
// journal): a mail store creates and deletes a file per message, so the
// scan grows with the message rate and with any other deleting on the
// disk, and was measured taking half the node's CPU.
func warnUnjournaledExt4(dir string, log *slog.Logger) {
	dev, ok := unjournaledExt4(dir, "/sys/dev/block", "/proc/fs/jbd2")
	if !ok {
		return
	}
	log.Warn("the data directory is on ext4 without a journal: each new file then scans past the inodes freed in the last minutes, and mail throughput falls as messages are delivered and deleted; give the file system a journal (tune2fs -O has_journal, unmounted) or put data_dir on one that has it",
		"data_dir", dir, "device", dev)
}

// unjournaledExt4 reports whether dir is on ext4 without a journal, and
// the device's name: jbd2 lists a journal as DEVNAME-INODE under jbd2Dir;
// the block device of dir's st_dev names itself in sysBlock/MAJ:MIN/uevent.
// Anything it cannot tell is "no".
func unjournaledExt4(dir, sysBlock, jbd2Dir string) (string, bool) {
	var fs unix.Statfs_t
	if unix.Statfs(dir, &fs) != nil || fs.Type != ext4Magic {
		return "", false
	}
	var st unix.Stat_t
	if unix.Stat(dir, &st) != nil {
		return "", false
	}
	name := devName(filepath.Join(sysBlock, fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)), "uevent"))
	if name == "" {
		return "", false
	}
	journals, err := filepath.Glob(filepath.Join(jbd2Dir, name+"-*"))
	if err != nil || len(journals) > 0 {
		return "", false
	}
	if _, err := os.Stat(jbd2Dir); err != nil {
		return "", false // no jbd2 in this kernel's /proc: cannot tell
	}
	return name, true
}

// devName reads DEVNAME= from a sysfs uevent file.
func devName(uevent string) string {
	f, err := os.Open(uevent)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "DEVNAME="); ok && v != "" && !strings.ContainsAny(v, "/*?[") {
			return v
		}
	}
	return ""
}
