package delivery

import (
	"bufio"
	"bytes"
	"net/textproto"
	"testing"
	"time"
)

func TestBackoffDoublesUpToMax(t *testing.T) {
	s := Schedule{RetryInitial: 5 * time.Minute, RetryMax: time.Hour}
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := s.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

// dotEncode runs what the SMTP client puts on the wire for body.
func dotEncode(body []byte, chunks int) []byte {
	var wire bytes.Buffer
	bw := bufio.NewWriter(&wire)
	dw := textproto.NewWriter(bw).DotWriter()
	cw := &crlfWriter{w: dw}
	if chunks < 1 {
		chunks = 1
	}
	step := len(body)/chunks + 1
	for i := 0; i < len(body); i += step {
		cw.Write(body[i:min(i+step, len(body))])
	}
	dw.Close()
	bw.Flush()
	return wire.Bytes()
}

func TestCRLFWriterNormalizesAndStuffs(t *testing.T) {
	cases := map[string]string{
		"a\r\nb\r\n":              "a\r\nb\r\n.\r\n",
		"a\nb":                    "a\r\nb\r\n.\r\n",
		"a\r\n.\r\nMAIL FROM:<x>": "a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n",
		"a\n.\nRCPT":              "a\r\n..\r\nRCPT\r\n.\r\n",
		"a\r.\rb":                 "a\r\n..\r\nb\r\n.\r\n",
		"a\r\n.\nb":               "a\r\n..\r\nb\r\n.\r\n",
		".lead\r\n":               "..lead\r\n.\r\n",
	}
	for in, want := range cases {
		for _, chunks := range []int{1, 3, len(in)} {
			if got := string(dotEncode([]byte(in), chunks)); got != want {
				t.Errorf("%q in %d chunks: wire %q, want %q", in, chunks, got, want)
			}
		}
	}
}

// FuzzCRLFWriter: whatever the body, the wire holds only CRLF line ends
// and exactly one end-of-data line, at the end.
func FuzzCRLFWriter(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "\n.\n", "\r.\r", "x\r\r\n.\n\r", ".", ""} {
		f.Add([]byte(s), 2)
	}
	f.Fuzz(func(t *testing.T, body []byte, chunks int) {
		if chunks < 1 || chunks > 64 {
			chunks = 1
		}
		wire := dotEncode(body, chunks)
		if !bytes.HasSuffix(wire, []byte("\r\n.\r\n")) && !bytes.Equal(wire, []byte(".\r\n")) {
			t.Fatalf("wire %q does not end with the end-of-data line", wire)
		}
		inner := wire[:len(wire)-3]
		if bytes.Contains(inner, []byte("\r\n.\r\n")) || bytes.HasPrefix(inner, []byte(".\r\n")) {
			t.Fatalf("early end-of-data in %q", wire)
		}
		for _, line := range bytes.Split(wire, []byte("\r\n")) {
			if len(line) > maxLine+1 { // +1: a stuffed dot
				t.Fatalf("line of %d octets on the wire", len(line))
			}
		}
		for i, c := range wire {
			if c == '\r' && (i+1 >= len(wire) || wire[i+1] != '\n') {
				t.Fatalf("bare CR at %d in %q", i, wire)
			}
			if c == '\n' && (i == 0 || wire[i-1] != '\r') {
				t.Fatalf("bare LF at %d in %q", i, wire)
			}
		}
	})
}
