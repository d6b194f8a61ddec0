package testpeer

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// TestNSDServesZones: the zones a test writes are answered over UDP, with
// NXDOMAIN for names not in them.
func TestNSDServesZones(t *testing.T) {
	if _, err := exec.LookPath("nsd"); err != nil {
		MissingPeer(t, "nsd not installed (make test installs it)")
	}
	n, err := StartNSD(map[string]string{"example.test": `@ IN TXT "v=spf1 -all"
mx IN A 192.0.2.7`})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "udp", n.Addr)
	}}
	ctx := context.Background()
	txt, err := r.LookupTXT(ctx, "example.test")
	if err != nil || !slices.Equal(txt, []string{"v=spf1 -all"}) {
		t.Fatalf("TXT: %q, %v", txt, err)
	}
	ips, err := r.LookupHost(ctx, "mx.example.test")
	if err != nil || !slices.Equal(ips, []string{"192.0.2.7"}) {
		t.Fatalf("A: %q, %v", ips, err)
	}
	_, err = r.LookupHost(ctx, "nothing.example.test")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("missing name: %v, want not found", err)
	}
}
