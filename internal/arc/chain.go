// Package arc seals the mail we forward with the Authenticated Received
// Chain (RFC 8617) and validates the chain a message arrives with.
//
// An ARC set is three fields with one instance number i=: the
// ARC-Authentication-Results (AAR, our Authentication-Results for the
// message, §4.1.1), the ARC-Message-Signature (AMS, a DKIM signature of
// the message, §4.1.2) and the ARC-Seal (AS, a signature of every set so
// far, §4.1.3). Both signatures are DKIM's (RFC 6376) under other names:
// the canonicalization, tag lists and key records are package authres's,
// the keys package dkim's. go-msgauth (our DKIM library) has no ARC, and
// its signer cannot be reused under another field name: the field's name
// is part of what is hashed.
package arc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mailgate/internal/authres"
)

// The three field names of a set (§4.1).
const (
	AAR = "ARC-Authentication-Results"
	AMS = "ARC-Message-Signature"
	AS  = "ARC-Seal"
)

// MaxInstance is the highest i= (§4.2.1): a message with 50 sets gets no
// more.
const MaxInstance = 50

// set is one ARC set as it is in the message: each field's raw text
// (name to final CRLF) and the tags of the two signatures.
type set struct {
	aar, ams, as string
	amsTags      map[string]string
	asTags       map[string]string
}

// chain is a message's ARC sets by instance: sets[0] is i=1.
type chain struct {
	sets []set
}

// parseChain reads the ARC fields of a CRLF message. It returns the
// highest instance named by any ARC field (0: none), for the i= of the
// next set even when the chain is broken, and an error when the fields
// do not make a valid chain's structure (§5.2 step 4: every instance
// 1..N exactly one AAR, one AMS and one AS; an i= outside 1..50 or a
// signature whose tag list does not parse).
func parseChain(msg []byte) (c *chain, highest int, err error) {
	return parseChainOf(parse(msg))
}

// parseChainOf is parseChain of a message already split.
func parseChainOf(p *parsed) (c *chain, highest int, err error) {
	msg := p.msg
	type found struct {
		raw  string
		tags map[string]string
	}
	byInstance := map[int]map[string][]found{}
	var firstErr error
	fail := func(format string, a ...any) {
		if firstErr == nil {
			firstErr = fmt.Errorf(format, a...)
		}
	}
	for _, f := range p.fields {
		name := canonicalName(f.Name)
		if name == "" {
			continue
		}
		raw := string(msg[f.Start:f.End])
		i, tags, err := parseField(name, f.Value(msg))
		if err != nil {
			fail("%s: %v", name, err)
			continue
		}
		highest = max(highest, i)
		if byInstance[i] == nil {
			byInstance[i] = map[string][]found{}
		}
		byInstance[i][name] = append(byInstance[i][name], found{raw, tags})
	}
	if firstErr != nil {
		return nil, highest, firstErr
	}
	c = &chain{}
	for i := 1; i <= highest; i++ {
		fs := byInstance[i]
		for _, name := range []string{AAR, AMS, AS} {
			if n := len(fs[name]); n != 1 {
				return nil, highest, fmt.Errorf("instance %d has %d %s fields, not one (RFC 8617 §5.2)", i, n, name)
			}
		}
		c.sets = append(c.sets, set{aar: fs[AAR][0].raw, ams: fs[AMS][0].raw, as: fs[AS][0].raw,
			amsTags: fs[AMS][0].tags, asTags: fs[AS][0].tags})
	}
	return c, highest, nil
}

// canonicalName is the ARC field name f is (field names compare
// case-insensitively, RFC 5322 §1.2.2), or "".
func canonicalName(name string) string {
	for _, n := range []string{AAR, AMS, AS} {
		if strings.EqualFold(name, n) {
			return n
		}
	}
	return ""
}

// parseField reads one ARC field's value: its instance, and for the two
// signatures their tag list.
func parseField(name, value string) (int, map[string]string, error) {
	if name == AAR {
		// §4.1.1: arc-info = instance [CFWS] ";" authres-payload.
		head, _, ok := strings.Cut(value, ";")
		if !ok {
			return 0, nil, errors.New("no ';' after the instance")
		}
		tag, val, ok := strings.Cut(head, "=")
		if !ok || strings.TrimSpace(tag) != "i" {
			return 0, nil, errors.New("does not start with i=")
		}
		i, err := parseInstance(val)
		return i, nil, err
	}
	tags, err := authres.ParseTagList(value)
	if err != nil {
		return 0, nil, err
	}
	i, err := parseInstance(tags["i"])
	if err != nil {
		return 0, nil, err
	}
	return i, tags, nil
}

// parseInstance reads an i= value: §4.2.1's 1*2DIGIT in 1..50.
func parseInstance(v string) (int, error) {
	v = strings.Trim(v, " \t\r\n")
	if len(v) == 0 || len(v) > 2 || strings.Trim(v, "0123456789") != "" {
		return 0, fmt.Errorf("i=%q is not an instance number", v)
	}
	i, _ := strconv.Atoi(v)
	if i < 1 || i > MaxInstance {
		return 0, fmt.Errorf("i=%d is outside 1..%d (RFC 8617 §4.2.1)", i, MaxInstance)
	}
	return i, nil
}
