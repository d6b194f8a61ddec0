package testpeer

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// NSD is a private authoritative DNS server (NLnet Labs' nsd, Debian's
// package) on 127.0.0.1, serving the zones a test wrote. Point mailgate's
// `[dns] servers` at Addr: nsd answers for its zones and refuses the rest,
// which is what a test that must not reach the Internet wants.
type NSD struct {
	Dir  string
	Addr string // 127.0.0.1:port, UDP and TCP
	pid  int
}

// StartNSD serves zones, each an origin ("example.test") mapped to the
// body of its zone file; records may use names relative to the origin.
// A zone without an SOA gets one, and an NS record, so that its negative
// answers carry the SOA minimum TTL (RFC 2308 §5) as real zones' do.
func StartNSD(zones map[string]string) (_ *NSD, err error) {
	if _, err := exec.LookPath("nsd"); err != nil {
		return nil, fmt.Errorf("nsd not installed (apt-get install nsd): %w", err)
	}
	dir, err := os.MkdirTemp("", "mailgate-nsd-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	n := &NSD{Dir: dir, Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	conf := fmt.Sprintf(`server:
  ip-address: 127.0.0.1@%d
  port: %d
  username: ""
  chroot: ""
  zonesdir: %q
  pidfile: %q
  database: ""
  xfrdfile: %q
  zonelistfile: %q
  logfile: %q
  server-count: 1
  verbosity: 1
  do-ip6: no
remote-control:
  control-enable: no
`, port, port, dir, filepath.Join(dir, "nsd.pid"), filepath.Join(dir, "xfrd.state"),
		filepath.Join(dir, "zone.list"), filepath.Join(dir, "nsd.log"))
	origins := make([]string, 0, len(zones))
	for o := range zones {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	for i, origin := range origins {
		origin = strings.TrimSuffix(origin, ".")
		file := fmt.Sprintf("zone%d", i)
		body := zones[origins[i]]
		head := fmt.Sprintf("$ORIGIN %s.\n$TTL 60\n", origin)
		if !strings.Contains(body, "SOA") {
			head += fmt.Sprintf("@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 60\n@ IN NS ns.%s.\n", origin, origin, origin)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(head+body+"\n"), 0o644); err != nil {
			return nil, err
		}
		conf += fmt.Sprintf("zone:\n  name: %q\n  zonefile: %q\n", origin, file)
	}
	confPath := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command("nsd-checkconf", confPath).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nsd-checkconf: %v: %s", err, out)
	}
	if out, err := exec.Command("nsd", "-c", confPath).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nsd: %v: %s", err, out)
	}
	// nsd daemonizes; it is ready once its pid file exists and it answers
	// on TCP (it binds UDP and TCP together).
	deadline := time.Now().Add(15 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "nsd.pid")); err == nil {
			fmt.Sscan(string(b), &n.pid)
		}
		if c, err := net.DialTimeout("tcp", n.Addr, time.Second); err == nil && n.pid > 0 {
			c.Close()
			return n, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "nsd.log"))
			n.Stop()
			return nil, fmt.Errorf("nsd did not answer on %s within 15s; its log:\n%s", n.Addr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the server and removes its directory.
func (n *NSD) Stop() {
	if n.pid > 0 {
		if p, err := os.FindProcess(n.pid); err == nil {
			p.Signal(os.Kill)
		}
	}
	os.RemoveAll(n.Dir)
}
