package testpeer

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mailgate/internal/scan"
)

// scannerFiles are the offline configurations of clamd and rspamd: clamd
// with only our test signatures (EICAR and a custom string, .ndb: found
// inline, in base64 attachments and in zips; no official .cvd needed),
// rspamd with every module that does DNS or HTTP turned off (stock rspamd
// waits 8 s per message without network) and GTUBE's test variants on.
//
//go:embed scanners
var scannerFiles embed.FS

// daemon is a scanner process started in the foreground, stopped by PID.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func startDaemon(name, logFile string, argv ...string) (*daemon, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group: a test's Ctrl-C does not reach it first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w (apt-get install clamav-daemon clamav rspamd; scripts/test-deps.sh)", name, err)
	}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); out.Close(); close(d.done) }()
	return d, nil
}

// PID is the daemon's main process.
func (d *daemon) PID() int { return d.cmd.Process.Pid }

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the main process (rspamd's stops its workers),
// SIGKILL to it and its children after 10 s, and reaps it.
func (d *daemon) stop() {
	if d.exited() {
		return
	}
	kids := children(d.PID())
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		for _, k := range kids {
			syscall.Kill(k, syscall.SIGKILL)
		}
		<-d.done
	}
}

// waitReady polls ready until it is nil, the process exits, or 60 s pass.
func (d *daemon) waitReady(ready func() error, logs ...string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if d.exited() || time.Now().After(deadline) {
			d.stop()
			var b strings.Builder
			for _, l := range logs {
				t, _ := os.ReadFile(l)
				fmt.Fprintf(&b, "--- %s\n%s", l, tail(string(t), 3000))
			}
			return fmt.Errorf("%s did not become ready: %v\n%s", d.name, err, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if k, err := strconv.Atoi(filepath.Base(filepath.Dir(st))); err == nil {
				out = append(out, k)
			}
		}
	}
	return out
}

// copyTree copies the embedded directory src into dst.
func copyTree(src, dst string) error {
	return fs.WalkDir(scannerFiles, src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, strings.TrimPrefix(p, src))
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := scannerFiles.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// Clamd is a private clamd: test signatures only, on a loopback port and a
// unix socket.
type Clamd struct {
	Dir    string
	Addr   string // 127.0.0.1:port
	Socket string // unix socket path
	d      *daemon
}

// StartClamd starts clamd in dir (under /tmp: Debian's AppArmor profile
// lets clamd read /tmp, not a home directory) and waits for PONG. settings
// replace clamd.conf options of the same name or are added (e.g.
// "StreamMaxLength": "1M").
func StartClamd(dir string, settings map[string]string) (*Clamd, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	w := filepath.Join(dir, "clamav")
	if err := copyTree("scanners/clamav", w); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(w, "tmp"), 0o755); err != nil {
		return nil, err
	}
	tmpl, err := os.ReadFile(filepath.Join(w, "clamd.conf.in"))
	if err != nil {
		return nil, err
	}
	conf := strings.NewReplacer("@DIR@", dir, "@PORT@", strconv.Itoa(port)).Replace(string(tmpl))
	conf = setOptions(conf, settings)
	confPath := filepath.Join(w, "clamd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	d, err := startDaemon("clamd", filepath.Join(w, "clamd.out"), "clamd", "--config-file="+confPath)
	if err != nil {
		return nil, err
	}
	c := &Clamd{Dir: w, Addr: "127.0.0.1:" + strconv.Itoa(port), Socket: filepath.Join(w, "clamd.sock"), d: d}
	tcp := &scan.Clamd{Endpoint: scan.Endpoint{Network: "tcp", Address: c.Addr}, Timeout: time.Second}
	if err := d.waitReady(func() error { return tcp.Ping(context.Background()) },
		filepath.Join(w, "clamd.out"), filepath.Join(w, "clamd.log")); err != nil {
		return nil, err
	}
	return c, nil
}

// setOptions replaces the "Name value" lines of conf named in settings and
// appends the others (clamd refuses an option given twice).
func setOptions(conf string, settings map[string]string) string {
	lines := strings.Split(conf, "\n")
	done := map[string]bool{}
	for i, l := range lines {
		if f := strings.Fields(l); len(f) > 0 {
			if v, ok := settings[f[0]]; ok {
				lines[i], done[f[0]] = f[0]+" "+v, true
			}
		}
	}
	for k, v := range settings {
		if !done[k] {
			lines = append(lines, k+" "+v)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// PID is clamd's process ID.
func (c *Clamd) PID() int { return c.d.PID() }

// Stop stops clamd by its PID and reaps it.
func (c *Clamd) Stop() { c.d.stop() }

// Rspamd is a private rspamd: the distro's rules with our offline
// overrides, the normal worker and the controller on loopback ports.
type Rspamd struct {
	Dir            string
	Addr           string // normal worker, 127.0.0.1:port
	ControllerAddr string
	Socket         string // the normal worker's unix socket
	Log            string // rspamd.log
	d              *daemon
}

// StartRspamd starts rspamd in dir. localFiles are written into its
// local.d (name → content, e.g. "actions.conf") over ours.
func StartRspamd(dir string, localFiles map[string]string) (*Rspamd, error) {
	ports := make([]int, 2)
	for i := range ports {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	r := filepath.Join(dir, "rspamd")
	conf := filepath.Join(r, "conf")
	if err := copyTree("scanners/rspamd", conf); err != nil {
		return nil, err
	}
	for name, body := range localFiles {
		if err := os.WriteFile(filepath.Join(conf, "local.d", name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	for _, sub := range []string{"db", "run", "log"} {
		if err := os.MkdirAll(filepath.Join(r, sub), 0o755); err != nil {
			return nil, err
		}
	}
	// The hyperscan cache only depends on rspamd's version and rules: kept
	// across runs it saves compiling at every start. One per uid, as
	// rspamd writes some of it with mode 0600.
	cache := filepath.Join(os.TempDir(), "mailgate-rspamd-hs-cache-"+strconv.Itoa(os.Getuid()))
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	rs := &Rspamd{Dir: r, Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]), ControllerAddr: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		Socket: filepath.Join(r, "run", "normal.sock"), Log: filepath.Join(r, "log", "rspamd.log")}
	args := []string{"rspamd", "-f", "-c", filepath.Join(conf, "rspamd.conf"),
		"--var=LOCAL_CONFDIR=" + conf, "--var=DBDIR=" + filepath.Join(r, "db"),
		"--var=RUNDIR=" + filepath.Join(r, "run"), "--var=LOGDIR=" + filepath.Join(r, "log"),
		"--var=NORMAL_BIND=" + rs.Addr, "--var=CONTROLLER_BIND=" + rs.ControllerAddr,
		// rspamd's resolver asks a loopback port where nobody answers:
		// nothing leaves the host.
		"--var=OFFLINE_DNS=127.0.0.1:9",
		"--var=TLD_FILE=" + filepath.Join(conf, "maps", "tld.dat"), "--var=HS_CACHE_DIR=" + cache + "/"}
	if os.Getuid() == 0 {
		args = append(args, "-i") // rspamd refuses root workers without it
	}
	d, err := startDaemon("rspamd", filepath.Join(r, "log", "stdout"), args...)
	if err != nil {
		return nil, err
	}
	rs.d = d
	ready := func() error {
		for _, a := range []string{rs.Addr, rs.ControllerAddr} {
			if err := httpPing(a); err != nil {
				return err
			}
		}
		return nil
	}
	if err := d.waitReady(ready, filepath.Join(r, "log", "stdout"), rs.Log); err != nil {
		return nil, err
	}
	return rs, nil
}

func httpPing(addr string) error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

// PID is rspamd's main process ID.
func (r *Rspamd) PID() int { return r.d.PID() }

// Stop stops rspamd (main process and workers) by its PID and reaps it.
func (r *Rspamd) Stop() { r.d.stop() }
