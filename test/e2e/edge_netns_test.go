package e2e

// Network-namespace plumbing for the OP25B end-to-end tests: every
// namespace, link and address exists only inside namespaces the test
// creates, and all of them are deleted when the test ends (failed or not).

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsLab owns a set of network namespaces.
type netnsLab struct {
	t      *testing.T
	prefix string
	names  []string
}

func newNetnsLab(t *testing.T) *netnsLab {
	t.Helper()
	if os.Geteuid() != 0 {
		MissingPeer(t, "needs root for network namespaces and nftables")
	}
	NeedTool(t, "ip")
	NeedTool(t, "nft")
	lab := &netnsLab{t: t, prefix: fmt.Sprintf("mg%d", os.Getpid()%100000)}
	t.Cleanup(lab.cleanup)
	return lab
}

// ns creates a namespace with loopback up and returns its full name.
func (l *netnsLab) ns(short string) string {
	l.t.Helper()
	name := l.prefix + short
	l.run("ip", "netns", "add", name)
	l.names = append(l.names, name)
	// No duplicate address detection: a tentative link-local address
	// delays neighbour discovery and the first IPv6 probes time out.
	l.run("ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	l.run("ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// settle waits until no namespace holds a tentative IPv6 address.
func (l *netnsLab) settle() {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range l.names {
		for {
			out, _ := exec.Command("ip", "-n", n, "-6", "addr", "show", "tentative").CombinedOutput()
			if strings.TrimSpace(string(out)) == "" {
				break
			}
			if time.Now().After(deadline) {
				l.t.Fatalf("namespace %s still has tentative addresses:\n%s", n, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (l *netnsLab) cleanup() {
	for _, n := range l.names {
		exec.Command("ip", "netns", "del", n).Run()
	}
}

func (l *netnsLab) run(args ...string) string {
	l.t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// link joins router and host with a veth pair: the router side gets
// .1 / ::1 of the given /24 and /64, the host side .2 / ::2 and a default
// route through the router.
func (l *netnsLab) link(router, host, rdev, v4net, v6net string) {
	l.t.Helper()
	l.run("ip", "-n", router, "link", "add", rdev, "type", "veth", "peer", "name", "eth0", "netns", host)
	l.run("ip", "-n", router, "addr", "add", v4net+".1/24", "dev", rdev)
	l.run("ip", "-n", router, "addr", "add", v6net+"::1/64", "dev", rdev, "nodad")
	l.run("ip", "-n", router, "link", "set", rdev, "up")
	l.run("ip", "-n", host, "addr", "add", v4net+".2/24", "dev", "eth0")
	l.run("ip", "-n", host, "addr", "add", v6net+"::2/64", "dev", "eth0", "nodad")
	l.run("ip", "-n", host, "link", "set", "eth0", "up")
	l.run("ip", "-n", host, "route", "add", "default", "via", v4net+".1")
	l.run("ip", "-n", host, "-6", "route", "add", "default", "via", v6net+"::1")
}

// inNetns runs fn on an OS thread switched into namespace name. Sockets
// created in fn stay in that namespace after fn returns.
func inNetns(name string, fn func()) error {
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(orig)
	target, err := unix.Open("/var/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	fn()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: the runtime discards it when this
		// goroutine ends rather than reuse a thread in the wrong namespace.
		return err
	}
	runtime.UnlockOSThread()
	return nil
}

// serveBanner listens on addr inside namespace ns and greets every
// connection with "220 <name>", so a probe knows which host it reached.
func serveBanner(t *testing.T, ns, addr, name string) {
	t.Helper()
	var l net.Listener
	var lerr error
	if err := inNetns(ns, func() { l, lerr = net.Listen("tcp", addr) }); err != nil {
		t.Fatal(err)
	}
	if lerr != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns, lerr)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.WriteString(c, "220 "+name+"\r\n")
				c.Close()
			}()
		}
	}()
}

// Probe outcomes.
const (
	outRefused     = "refused"     // TCP RST: connection refused
	outReset       = "reset"       // RST after the SYN got through: a handshake in flight when the policy switched
	outTimeout     = "timeout"     // dropped
	outUnreachable = "unreachable" // ICMP administratively prohibited
)

// probe connects from namespace ns to addr and reports "ok <banner>" or
// one of the outcomes above (anything else verbatim).
func probe(ns, addr string, timeout time.Duration) string {
	var c net.Conn
	var err error
	if nerr := inNetns(ns, func() {
		// net.Dialer creates the socket on this (switched) thread.
		c, err = net.DialTimeout("tcp", addr, timeout)
	}); nerr != nil {
		return "setns: " + nerr.Error()
	}
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return outRefused
		case errors.Is(err, syscall.ECONNRESET):
			return outReset
		case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EACCES):
			return outUnreachable
		case errors.As(err, &ne) && ne.Timeout():
			return outTimeout
		}
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return "ok " + strings.TrimSpace(line)
}
