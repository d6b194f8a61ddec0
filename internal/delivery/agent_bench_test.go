package delivery

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailgate/internal/dkim"
	"mailgate/internal/spool"
)

type benchDir struct{}

func (benchDir) HasDomain(_ context.Context, d string) (bool, error) { return d == "ours.example", nil }
func (benchDir) Resolve(context.Context, string) (string, error)     { return "", nil }

type countBackend struct{ n atomic.Int64 }

func (b *countBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &countSession{b}, nil }

type countSession struct{ b *countBackend }

func (s *countSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *countSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *countSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	s.b.n.Add(1)
	return nil
}
func (s *countSession) Reset()        {}
func (s *countSession) Logout() error { return nil }

// BenchmarkAgentDrain: the outbound half alone, spool to an in-process
// SMTP server, DKIM-signed, 10 KiB messages.
func BenchmarkAgentDrain(b *testing.B) {
	be := &countBackend{}
	srv := smtp.NewServer(be)
	srv.Domain = "sink.test"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	dir := b.TempDir()
	sp, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	keys := dkim.Keys{Dir: filepath.Join(dir, "dkim")}
	if _, err := keys.Generate("ours.example", "s", "ed25519", true); err != nil {
		b.Fatal(err)
	}
	body := "From: a@ours.example\r\nTo: b@far.test\r\nSubject: x\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 150)
	for i := 0; i < b.N; i++ {
		if err := sp.Put(&spool.Envelope{From: "a@ours.example", To: []string{"b@far.test"}, Received: time.Now()}, []byte(body)); err != nil {
			b.Fatal(err)
		}
	}
	for len(sp.Arrivals()) > 0 {
		<-sp.Arrivals()
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &Agent{Spool: sp, Log: log, Hostname: "mail.ours.example", Workers: 32, ScanEvery: time.Hour,
		Local:  &Local{Dir: benchDir{}, MailRoot: dir, Hostname: "h", Log: log},
		Remote: &Remote{DNS: fixedDNS{}, Hostname: "mail.ours.example", Port: l.Addr().(*net.TCPAddr).Port, PerDestination: 20, Log: log},
		Signer: &Signer{Keys: keys.Cached(), Dir: benchDir{}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.ResetTimer()
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	for be.n.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
