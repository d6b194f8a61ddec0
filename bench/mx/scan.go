package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"mailgate/internal/scan"
	"mailgate/internal/testpeer"
)

// scanners are Debian's clamd and rspamd, offline (internal/testpeer), for
// the "scanners on" row and the latency table.
type scanners struct {
	dir    string
	clamd  *testpeer.Clamd
	rspamd *testpeer.Rspamd
}

func startScanners() (*scanners, error) {
	dir, err := os.MkdirTemp("", "mailgate-bench-scan-")
	if err != nil {
		return nil, err
	}
	s := &scanners{dir: dir}
	if s.clamd, err = testpeer.StartClamd(filepath.Join(dir), nil); err != nil {
		s.stop()
		return nil, err
	}
	if s.rspamd, err = testpeer.StartRspamd(dir, nil); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *scanners) stop() {
	if s.rspamd != nil {
		s.rspamd.Stop()
	}
	if s.clamd != nil {
		s.clamd.Stop()
	}
	os.RemoveAll(s.dir)
}

// toml turns both on. Greylisting off: rspamd without Redis would answer
// smtp-source's filler "greylist" every time; spam only gets the fields.
func (s *scanners) toml() string {
	return fmt.Sprintf("[scan]\nclamd = %q\nrspamd = %q\n[scan.spam]\ngreylist = false\naction = \"header\"\n",
		s.clamd.Socket, s.rspamd.Addr)
}

// printScanLatency scans count unique messages of size bytes one after
// the other with each client, as the end of DATA does, and prints the
// time each scanner adds to a message: p50 and p99.
func printScanLatency(s *scanners, count, size int) error {
	words := strings.Fields("the offer invoice meeting lunch project report deadline holiday photos family weather garden music football")
	msg := func(i int) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, "From: sender%d@remote.example\r\nTo: alice@example.net\r\nSubject: message %d\r\nMessage-ID: <%d@remote.example>\r\n\r\n", i, i, i)
		for b.Len() < size {
			b.WriteString(words[rand.IntN(len(words))])
			if rand.IntN(12) == 0 {
				b.WriteString("\r\n")
			} else {
				b.WriteByte(' ')
			}
		}
		return []byte(b.String())
	}
	engines := []scan.Scanner{
		&scan.Clamd{Endpoint: scan.Endpoint{Network: "unix", Address: s.clamd.Socket}, Timeout: 30 * time.Second},
		&scan.Clamd{Endpoint: scan.Endpoint{Network: "tcp", Address: s.clamd.Addr}, Timeout: 30 * time.Second},
		scan.NewRspamd(scan.Endpoint{Network: "tcp", Address: s.rspamd.Addr}, 30*time.Second),
	}
	names := []string{"clamd INSTREAM (unix socket)", "clamd INSTREAM (TCP)", "rspamd /checkv2 (TCP, kept alive)"}
	fmt.Printf("\nLatency a scanner adds at the end of DATA, %d unique %d-byte messages, one at a time\n\n", count, size)
	fmt.Printf("| %-34s | %-8s | %-8s |\n|%s|%s|%s|\n", "scanner", "p50 ms", "p99 ms", strings.Repeat("-", 36), strings.Repeat("-", 10), strings.Repeat("-", 10))
	for i, e := range engines {
		lat := make([]time.Duration, 0, count)
		for j := range count {
			start := time.Now()
			if _, err := e.Scan(context.Background(), &scan.Request{Body: msg(i*count + j), From: "s@remote.example", Rcpts: []string{"alice@example.net"}}); err != nil {
				return fmt.Errorf("%s: %w", names[i], err)
			}
			lat = append(lat, time.Since(start))
		}
		sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		fmt.Printf("| %-34s | %8.2f | %8.2f |\n", names[i], ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]))
	}
	return nil
}
