// Package mtasts fetches, caches and applies MTA-STS policies (RFC 8461):
// a recipient domain's promise that its MX hosts speak TLS with a valid
// certificate, so a sender may refuse to deliver without it.
package mtasts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Modes (RFC 8461 §5).
const (
	Enforce = "enforce"
	Testing = "testing"
	None    = "none"
)

// maxMaxAge is RFC 8461 §3.2's ceiling for max_age: one year.
const maxMaxAge = 31557600

// Policy is a parsed policy file.
type Policy struct {
	ID     string // from the TXT record
	Mode   string
	MX     []string
	MaxAge time.Duration
	// Expires is when a cached copy stops being valid.
	Expires time.Time
}

// Parse reads a policy file (RFC 8461 §3.2): "key: value" lines, CRLF or
// LF, version STSv1, mode, one or more mx, max_age in seconds.
func Parse(b []byte) (*Policy, error) {
	p := &Policy{}
	version := ""
	haveAge := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("mta-sts: line %q is not key: value", line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			version = v
		case "mode":
			p.Mode = v
		case "mx":
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(v, ".")))
		case "max_age":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || len(v) > 10 {
				return nil, fmt.Errorf("mta-sts: max_age %q is not a number of seconds", v)
			}
			if n > maxMaxAge {
				n = maxMaxAge
			}
			p.MaxAge = time.Duration(n) * time.Second
			haveAge = true
		default:
			// RFC 8461 §3.2: unknown fields are ignored.
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mta-sts: %w", err)
	}
	if version != "STSv1" {
		return nil, errors.New("mta-sts: version is not STSv1")
	}
	switch p.Mode {
	case Enforce, Testing:
		if len(p.MX) == 0 {
			return nil, fmt.Errorf("mta-sts: mode %s without any mx", p.Mode)
		}
	case None:
	default:
		return nil, fmt.Errorf("mta-sts: mode %q is not enforce, testing or none", p.Mode)
	}
	if !haveAge {
		return nil, errors.New("mta-sts: max_age missing")
	}
	return p, nil
}

// Match reports whether an MX host name is allowed by the policy. RFC 8461
// §4.1: a pattern is a host name, or "*." and a domain matching exactly one
// more leftmost label.
func (p *Policy) Match(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			label, parent, found := strings.Cut(host, ".")
			if found && label != "" && parent == rest {
				return true
			}
			continue
		}
		if host == pat {
			return true
		}
	}
	return false
}

// ParseTXT reads the "_mta-sts" TXT record (RFC 8461 §3.1) and returns its
// id.
func ParseTXT(rec string) (string, error) {
	fields := strings.Split(rec, ";")
	if strings.TrimSpace(fields[0]) != "v=STSv1" {
		return "", errors.New("mta-sts: TXT record does not start with v=STSv1")
	}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		if k == "id" {
			if v == "" || len(v) > 32 {
				return "", fmt.Errorf("mta-sts: id %q must be 1-32 characters", v)
			}
			for _, c := range v {
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
					return "", fmt.Errorf("mta-sts: id %q is not alphanumeric", v)
				}
			}
			return v, nil
		}
	}
	return "", errors.New("mta-sts: TXT record has no id")
}
