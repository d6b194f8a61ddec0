package edge

import (
	"fmt"
	"strings"
	"time"
)

// whenLayouts are the date/time forms the CLI accepts for --from and
// --until. Without a zone they are read in loc (the machine's zone).
var whenLayouts = []string{
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
}

// ParseOptionalWhen is ParseWhen for a time that may be left out: an
// empty (or blank) s is the zero time, which the callers read as "now"
// or "never".
func ParseOptionalWhen(s string, loc *time.Location) (time.Time, error) {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, nil
	}
	return ParseWhen(s, loc)
}

// ParseWhen reads an RFC 3339 timestamp, or a date or date-time without a
// zone (read in loc).
func ParseWhen(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range whenLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("date/time %q: want 2006-01-02, 2006-01-02 15:04 or RFC 3339 (2006-01-02T15:04:05+09:00)", s)
}
