package edge

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
)

// Flow is one connection attempt read back for `edge impact`: where from,
// where to (IPv4-mapped addresses unmapped, so a source counts once), and
// the destination port. Only TCP can be blocked; Seen is
// when the flow started when the input says so (nfdump's ts), else zero.
type Flow struct {
	Src, Dst netip.Addr
	Port     uint16
	TCP      bool
	Seen     time.Time
}

// FlowFormat is how a flow file is written, as its first line shows.
type FlowFormat string

const (
	// FlowNfdump is `nfdump -r FILE -o csv`: a header naming the columns
	// (ts,te,td,sa,da,sp,dp,pr,...), one flow a line, then a summary.
	FlowNfdump FlowFormat = "nfdump csv"
	// FlowPlain is `src dst [port]` a line, separated by spaces, tabs or
	// commas; # starts a comment; the port defaults to 25.
	FlowPlain FlowFormat = "plain"
)

const (
	// MaxFlowLine bounds a line: nfdump's widest CSV line (48 columns, two
	// full IPv6 addresses and MACs) is under 600 bytes.
	MaxFlowLine = 4096
	// maxLineErrors is how many malformed lines are kept to be shown; the
	// rest are only counted.
	maxLineErrors = 5
)

// LineError is a malformed line: its number (from 1) and what is wrong.
type LineError struct {
	Line int    `json:"line"`
	Err  string `json:"error"`
}

func (e LineError) String() string { return fmt.Sprintf("line %d: %s", e.Line, e.Err) }

// nfdumpTrailers start the lines nfdump prints after the flows (the
// summary block of -o csv, the statistics of older versions, and 1.7's
// notice when no flow matched the filter): they end the flows, they are
// not malformed.
var nfdumpTrailers = []string{"Summary", "Time window:", "Total flows processed:", "Sys:", "No matching flows"}

// FlowReader reads flows in either format, detected from the first line
// that is not blank (or, in the plain form, a comment). Malformed lines
// are counted and the first few kept; they never stop the reading.
type FlowReader struct {
	// Zone is the zone nfdump printed its ts column in (its machine's,
	// or its TZ's: the CSV names none); nil: UTC. See ParseFlowZone.
	Zone      *time.Location
	r         *bufio.Reader
	line      int
	format    FlowFormat
	cols      nfdumpColumns
	done      bool
	Malformed int         // malformed lines seen so far
	Errors    []LineError // the first few of them
}

// nfdumpColumns are the indices of the columns impact reads.
type nfdumpColumns struct{ ts, sa, da, dp, pr, n int }

// NewFlowReader reads flows from r.
func NewFlowReader(r io.Reader) *FlowReader {
	return &FlowReader{r: bufio.NewReaderSize(r, MaxFlowLine+2)}
}

// Format is the input's format, known once the first flow was read.
func (fr *FlowReader) Format() FlowFormat { return fr.format }

// Next returns the next flow; io.EOF at the end. Any other error stops
// the reading: the input could not be read, or its first line is neither
// format.
func (fr *FlowReader) Next() (Flow, error) {
	for !fr.done {
		raw, err := fr.readLine()
		if err != nil {
			return Flow{}, err
		}
		if raw == nil {
			continue // too long: counted
		}
		if fr.line == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\uFEFF")) // a BOM some editors add
		}
		text := strings.TrimSpace(string(raw))
		if text == "" {
			continue
		}
		if fr.format == "" {
			if err := fr.detect(text); err != nil {
				return Flow{}, err
			}
			if fr.format == FlowNfdump {
				continue // the header
			}
		}
		var f Flow
		if fr.format == FlowNfdump {
			if isNfdumpTrailer(text) {
				fr.done = true
				break
			}
			f, err = fr.cols.parse(text, fr.Zone)
		} else {
			if text[0] == '#' {
				continue
			}
			f, err = parsePlainFlow(text)
		}
		if err != nil {
			fr.malformed(err.Error())
			continue
		}
		return f, nil
	}
	return Flow{}, io.EOF
}

// readLine returns the next line without its line ending, or nil for a
// line longer than MaxFlowLine (counted malformed and skipped whole).
func (fr *FlowReader) readLine() ([]byte, error) {
	line, err := fr.r.ReadSlice('\n')
	if err == io.EOF && len(line) > 0 {
		err = nil
	}
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	fr.line++
	if errors.Is(err, bufio.ErrBufferFull) || len(bytes.TrimRight(line, "\r\n")) > MaxFlowLine {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = fr.r.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		fr.malformed(fmt.Sprintf("longer than %d bytes", MaxFlowLine))
		return nil, nil
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func (fr *FlowReader) malformed(why string) {
	fr.Malformed++
	if len(fr.Errors) < maxLineErrors {
		fr.Errors = append(fr.Errors, LineError{fr.line, why})
	}
}

// detect settles the format from the first line that has text.
func (fr *FlowReader) detect(text string) error {
	if strings.HasPrefix(text, "ts,te,td,") {
		cols, err := nfdumpHeader(text)
		if err != nil {
			return fmt.Errorf("line %d: %w", fr.line, err)
		}
		fr.format, fr.cols = FlowNfdump, cols
		return nil
	}
	if text[0] == '#' {
		fr.format = FlowPlain
		return nil
	}
	if _, err := parsePlainFlow(text); err != nil {
		return fmt.Errorf("line %d: neither an nfdump CSV header (ts,te,td,sa,da,sp,dp,pr,... from `nfdump -o csv`, without -q) nor a flow `SRC DST [PORT]`: %v", fr.line, err)
	}
	fr.format = FlowPlain
	return nil
}

// nfdumpHeader finds the columns impact needs by name, so a version that
// adds or moves columns is still read.
func nfdumpHeader(text string) (nfdumpColumns, error) {
	c := nfdumpColumns{ts: -1, sa: -1, da: -1, dp: -1, pr: -1}
	names := strings.Split(text, ",")
	c.n = len(names)
	for i, name := range names {
		switch strings.TrimSpace(name) {
		case "ts":
			c.ts = i
		case "sa":
			c.sa = i
		case "da":
			c.da = i
		case "dp":
			c.dp = i
		case "pr":
			c.pr = i
		}
	}
	if c.sa < 0 || c.da < 0 || c.dp < 0 || c.pr < 0 {
		return c, fmt.Errorf("nfdump CSV header without the columns sa, da, dp and pr: use `nfdump -o csv`")
	}
	return c, nil
}

func isNfdumpTrailer(text string) bool {
	for _, t := range nfdumpTrailers {
		if strings.HasPrefix(text, t) {
			return true
		}
	}
	return false
}

// parse reads one nfdump CSV flow. Only TCP flows are checked further:
// other protocols are never filtered.
func (c nfdumpColumns) parse(text string, zone *time.Location) (Flow, error) {
	fs := strings.Split(text, ",")
	if len(fs) != c.n {
		return Flow{}, fmt.Errorf("%d fields, the header has %d", len(fs), c.n)
	}
	var f Flow
	switch pr := strings.TrimSpace(fs[c.pr]); {
	case strings.EqualFold(pr, "TCP") || pr == "6":
		f.TCP = true
	case pr == "":
		return Flow{}, fmt.Errorf("empty protocol (pr)")
	default:
		return f, nil
	}
	src, dst, port, err := ParseCheck(strings.TrimSpace(fs[c.sa]), strings.TrimSpace(fs[c.da]), strings.TrimSpace(fs[c.dp]))
	if err != nil {
		return Flow{}, err
	}
	f.Src, f.Dst, f.Port = src.Unmap(), dst.Unmap(), port
	if c.ts >= 0 {
		f.Seen = parseNfdumpTime(strings.TrimSpace(fs[c.ts]), zone)
	}
	return f, nil
}

// parseNfdumpTime reads nfdump's "2006-01-02 15:04:05[.000]" in zone
// (nil: UTC); zero if it is not that.
func parseNfdumpTime(s string, zone *time.Location) time.Time {
	if zone == nil {
		zone = time.UTC
	}
	for _, l := range []string{"2006-01-02 15:04:05.000", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(l, s, zone); err == nil {
			return t
		}
	}
	return time.Time{}
}

// parsePlainFlow reads `SRC DST [PORT]` (spaces, tabs or commas; a
// trailing # comment allowed) with the rules of `edge check`.
func parsePlainFlow(text string) (Flow, error) {
	if i := strings.IndexByte(text, '#'); i >= 0 {
		text = text[:i]
	}
	fs := strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
	if len(fs) < 2 || len(fs) > 3 {
		return Flow{}, fmt.Errorf("want SRC DST [PORT], not %d fields", len(fs))
	}
	port := ""
	if len(fs) == 3 {
		port = fs[2]
	}
	src, dst, p, err := ParseCheck(fs[0], fs[1], port)
	if err != nil {
		return Flow{}, err
	}
	return Flow{Src: src.Unmap(), Dst: dst.Unmap(), Port: p, TCP: true}, nil
}

// ParseFlowZone reads the zone nfdump printed ts in, as `edge impact
// --nfdump-tz` takes it: "" or "UTC" (the default: nfdump's machine is
// assumed to run in UTC, not to share this one's zone), a fixed offset
// "+09:00" or "-0500", or an IANA name ("Asia/Tokyo", from the system's
// zoneinfo).
func ParseFlowZone(s string) (*time.Location, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || strings.EqualFold(s, "UTC") || s == "Z":
		return time.UTC, nil
	case s[0] == '+' || s[0] == '-':
		for _, l := range []string{"-07:00", "-0700", "-07"} {
			if t, err := time.Parse(l, s); err == nil {
				_, off := t.Zone()
				return time.FixedZone(s, off), nil
			}
		}
		return nil, fmt.Errorf("%q: want an offset +09:00 or -05:00", s)
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf("%q: want UTC, an offset +09:00 or a zone name as Asia/Tokyo (%v)", s, err)
	}
	return loc, nil
}
