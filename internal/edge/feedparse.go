package edge

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"mailgate/internal/store"
)

// ParseFeed reads a dynamic-prefix feed in any format WriteFeed writes, so
// one mailgate ISP can load another's (`mailgate reputation import`):
// format "txt", "csv" or "json", or "" to tell from the content. Every
// prefix must parse; a bad line is an error naming it, never a prefix
// silently dropped or widened. Prefixes come back masked and unmapped
// (store.ParsePrefixMasked: another ISP's host bits are theirs to fix),
// duplicates once.
func ParseFeed(data []byte, format string) ([]netip.Prefix, error) {
	if format == "" {
		format = feedFormat(data)
	}
	var raw []string
	var err error
	switch format {
	case "txt":
		raw, err = feedTxt(data)
	case "csv":
		raw, err = feedCSV(data)
	case "json":
		raw, err = feedJSON(data)
	default:
		return nil, fmt.Errorf("feed format %q: want txt, csv or json", format)
	}
	if err != nil {
		return nil, err
	}
	seen := make(map[netip.Prefix]bool, len(raw))
	out := make([]netip.Prefix, 0, len(raw))
	for i, r := range raw {
		p, err := store.ParsePrefixMasked(r)
		if err != nil {
			return nil, fmt.Errorf("feed (%s) entry %d: %w", format, i+1, err)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// feedFormat tells the format from the first significant line: JSON opens
// an array, the CSV form starts with its header.
func feedFormat(data []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		switch {
		case line[0] == '[':
			return "json"
		case strings.Contains(line, ","):
			return "csv"
		}
		return "txt"
	}
	return "txt"
}

// feedTxt: one prefix a line, # comments, blank lines ignored.
func feedTxt(data []byte) ([]string, error) {
	var out []string
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		if strings.ContainsAny(line, " \t,") {
			return nil, fmt.Errorf("feed (txt) line %d: %q: want one prefix a line", n+1, line)
		}
		out = append(out, line)
	}
	return out, nil
}

// feedCSV: the header names the columns; only prefix is needed.
func feedCSV(data []byte) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	col := -1
	var out []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("feed (csv): %w", err)
		}
		if col < 0 {
			for i, h := range rec {
				if strings.EqualFold(strings.TrimSpace(h), "prefix") {
					col = i
				}
			}
			if col < 0 {
				return nil, fmt.Errorf("feed (csv): the header %q has no prefix column (edge feed writes prefix,pool,family,last_change)", strings.Join(rec, ","))
			}
			continue
		}
		if col >= len(rec) {
			line, _ := r.FieldPos(0)
			return nil, fmt.Errorf("feed (csv) line %d: %d columns, no prefix column", line, len(rec))
		}
		out = append(out, strings.TrimSpace(rec[col]))
	}
	return out, nil
}

// feedJSON: an array of FeedEntry objects.
func feedJSON(data []byte) ([]string, error) {
	var es []FeedEntry
	if err := json.Unmarshal(data, &es); err != nil {
		return nil, fmt.Errorf("feed (json): %w: want an array of {\"prefix\": ...} objects", err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Prefix
	}
	return out, nil
}
