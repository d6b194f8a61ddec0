package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRemoteMTASTSEnforceRefusesBadCertificate: two domains publish
// MTA-STS "enforce" policies (fetched over HTTPS from a server the test
// runs, its certificate from a test CA the node trusts via ca_file). Both
// MX names point at one real Postfix whose certificate is valid only for
// mx.good.test: mail to good.test is delivered, mail to sts.test stays
// queued with a 4.7.5 certificate error and never reaches Postfix, though
// opportunistic TLS would have delivered it.
func TestRemoteMTASTSEnforceRefusesBadCertificate(t *testing.T) {
	ca := newTestCA(t)
	mxCert, mxKey := ca.issue(t, false, "mx.good.test")
	webCert, webKey := ca.issue(t, false, "mta-sts.good.test", "mta-sts.sts.test")
	port := FreePort(t)
	pf := startRemotePostfix(t, "127.0.0.1", port, "good.test, sts.test", mxCert, mxKey)

	var fetches atomic.Int32
	kp, err := tls.LoadX509KeyPair(webCert, webKey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{kp}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		fetches.Add(1)
		dom := strings.TrimPrefix(r.Host, "mta-sts.")
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "version: STSv1\r\nmode: enforce\r\nmx: mx.%s\r\nmax_age: 86400\r\n", dom)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	httpsPort := l.Addr().(*net.TCPAddr).Port

	d := startDNS(t,
		"good.test. 60 IN MX 10 mx.good.test.", "mx.good.test. 60 IN A 127.0.0.1",
		"sts.test. 60 IN MX 10 mx.sts.test.", "mx.sts.test. 60 IN A 127.0.0.1",
		`_mta-sts.good.test. 60 IN TXT "v=STSv1; id=20260101"`, "mta-sts.good.test. 60 IN A 127.0.0.1",
		`_mta-sts.sts.test. 60 IN TXT "v=STSv1; id=20260101"`, "mta-sts.sts.test. 60 IN A 127.0.0.1")
	n := remoteNode(t, d, port, map[string]string{
		"mta_sts": "true", "mta_sts_port": fmt.Sprint(httpsPort), "ca_file": fmt.Sprintf("%q", ca.File),
	})
	n.Start()
	submit(t, n, []string{"hank@sts.test"}, []byte(msg(rmSender, "hank@sts.test", "must not arrive", "body\r\n")))
	submit(t, n, []string{"ivy@good.test"}, []byte(msg(rmSender, "ivy@good.test", "verified", "body\r\n")))

	got := pf.wait(t, 1, n)
	out := waitQueue(t, n, `hank@sts\.test\s+[2-9]\s.*451 4\.7\.5 TLS handshake .*certificate is valid for mx\.good\.test, not mx\.sts\.test`)
	if inbox := pf.inbox(); len(inbox) != 1 || !strings.Contains(got[0], "Subject: verified") {
		t.Fatalf("remote inbox holds %d messages (want only the good.test one):\n%v", len(inbox), inbox)
	}
	if strings.Contains(pf.Log(), "hank@sts.test") {
		t.Fatalf("a transaction for sts.test reached Postfix:\n%s", pf.Log())
	}
	if fetches.Load() < 2 {
		t.Fatalf("policies fetched %d times, want both domains'", fetches.Load())
	}
	t.Logf("queue:\n%s", out)
}
