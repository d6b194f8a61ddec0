package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a number of events per fixed window, written "100/hour" (per
// second, minute or hour), or "off": no limit (Max 0). It is counted with
// the store's fleet-wide windows (store.TakeRate), which are pruned once
// they are two hours old, so no window is longer than an hour.
type Rate struct {
	Max int
	Per time.Duration
}

// rateUnits are the windows a Rate may name.
var rateUnits = map[string]time.Duration{"second": time.Second, "minute": time.Minute, "hour": time.Hour}

// ParseRate reads "N/second", "N/minute", "N/hour" (N at least 1) or "off".
func ParseRate(s string) (Rate, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "off" {
		return Rate{}, nil
	}
	n, unit, ok := strings.Cut(t, "/")
	per, known := rateUnits[strings.TrimSpace(unit)]
	max, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || !known || err != nil || max < 1 {
		return Rate{}, fmt.Errorf("%q is not a rate: write a count of at least 1 per second, minute or hour (\"100/hour\"), or \"off\"", s)
	}
	return Rate{Max: max, Per: per}, nil
}

// UnmarshalText reads a rate.
func (r *Rate) UnmarshalText(text []byte) error {
	v, err := ParseRate(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalText writes the rate as ParseRate reads it.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r Rate) String() string {
	for name, d := range rateUnits {
		if r.Max > 0 && d == r.Per {
			return fmt.Sprintf("%d/%s", r.Max, name)
		}
	}
	return "off"
}

// Off reports a rate that limits nothing.
func (r Rate) Off() bool { return r.Max <= 0 }
