package smtp

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// byteWiseData is dataReader's state machine one byte at a time, as
// before mailgate's bulk copy: the reference the bulk copy must match.
func byteWiseData(in []byte) ([]byte, bool) {
	const (
		beginLine = iota
		dot
		dotCR
		cr
		data
	)
	var out []byte
	state := beginLine
	for _, c := range in {
		switch state {
		case beginLine:
			if c == '.' {
				state = dot
				continue
			}
			if c == '\r' {
				state = cr
				break
			}
			state = data
		case dot:
			if c == '\r' {
				state = dotCR
				continue
			}
			state = data
		case dotCR:
			if c == '\n' {
				return out, true
			}
			state = data
		case cr:
			if c == '\n' {
				state = beginLine
				break
			}
			state = data
		case data:
			if c == '\r' {
				state = cr
			}
		}
		out = append(out, c)
	}
	return out, false
}

// FuzzDataReader: dot-unstuffing and the end of data are the same with
// the bulk copy, whatever the buffer and read sizes (mailgate change).
func FuzzDataReader(f *testing.F) {
	f.Add([]byte("Subject: a\r\n\r\n..dot\r\nline\nbare\r.\r\n.\r\nafter"), uint8(16), uint8(3))
	f.Add([]byte("x\r\n.\r\n"), uint8(16), uint8(1))
	f.Add([]byte("abc\r\r\n.\r\r\n.\n.\r\n"), uint8(17), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, bufSize, readSize uint8) {
		want, ended := byteWiseData(in)
		dr := &dataReader{r: bufio.NewReaderSize(bytes.NewReader(in), int(bufSize)+16)}
		var got []byte
		buf := make([]byte, int(readSize)+1)
		var err error
		for err == nil {
			var n int
			n, err = dr.Read(buf)
			got = append(got, buf[:n]...)
		}
		if ended != (err == io.EOF) || !bytes.Equal(got, want) {
			t.Fatalf("in %q: got %q, %v; want %q, ended %v", in, got, err, want, ended)
		}
	})
}
