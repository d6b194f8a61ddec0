package authres

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/netip"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"mailgate/internal/verdict"
)

// BenchmarkStage is the cost of the checks for one message with DNS
// answered from the cache: SPF pass through an include, one RSA-2048
// DKIM signature over a 10 KiB body, DMARC pass, the fields rendered.
// Compare it with the MX's end-to-end rate (bench/mx) to see its share.
func BenchmarkStage(b *testing.B) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	r := zoneResolver(b, keyRecord(b, "rsa._domainkey.signer.test", key.Public())+`
signer.test. 3600 IN TXT "v=spf1 include:_spf.signer.test -all"
_spf.signer.test. 3600 IN TXT "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 -all"
_dmarc.signer.test. 3600 IN TXT "v=DMARC1; p=reject"
`)
	body := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n", 140)
	var signed strings.Builder
	dkim.Sign(&signed, strings.NewReader("From: <a@signer.test>\r\nTo: <b@ours.test>\r\nSubject: bench\r\n\r\n"+body),
		&dkim.SignOptions{Domain: "signer.test", Selector: "rsa", Signer: key})
	msg := []byte(signed.String())
	s := &Stage{Resolver: r, Policy: Policy{AuthservID: "mx.ours.test", Receiver: "mx.ours.test", TempError: "accept", DMARCReject: "reject"}}
	c := &verdict.Client{IP: netip.MustParseAddr("198.51.100.7"), Helo: "out.signer.test", Service: "mx"}
	check := func() {
		res := s.CheckMessage(context.Background(), c, &verdict.Message{From: "bounce@signer.test", Body: msg}, &verdict.Verdict{})
		if res.Reply != nil || !strings.Contains(res.Fields[0], "dmarc=pass") {
			b.Fatalf("%+v", res)
		}
	}
	check() // fill the cache
	b.ResetTimer()
	for range b.N {
		check()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
