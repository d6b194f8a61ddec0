package sieve

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Limits bound what one run of a script may do.
type Limits struct {
	MaxSteps     int           // commands and tests evaluated
	MaxRedirects int           // distinct redirect addresses (RFC 5228 §10)
	MaxActions   int           // actions recorded
	Timeout      time.Duration // wall time for the run
}

// DefaultLimits are Pigeonhole-like defaults.
var DefaultLimits = Limits{MaxSteps: 100000, MaxRedirects: 4, MaxActions: 32, Timeout: 2 * time.Second}

// Env is what a run knows besides the message.
type Env struct {
	Envelope Envelope
	// MailboxExists answers the mailboxexists test (RFC 5490 §3.1); nil
	// means only INBOX exists.
	MailboxExists func(name string) bool
	// Spam and Virus feed spamtest and virustest (RFC 5235); nil means
	// the message was not tested.
	Spam  *SpamScore
	Virus *int // 1 (clean) .. 5 (infected, RFC 5235 §3.3)
	// UserAddresses are the recipient's own addresses, for vacation
	// (RFC 5230 §4.5); the envelope recipient is always one.
	UserAddresses []string
	Limits        Limits // zero fields take DefaultLimits
}

// SpamScore is the verdict's spam result on RFC 5235's scales.
type SpamScore struct {
	Value   int // 1 (surely not spam) .. 10 (surely spam), RFC 5235 §3.2
	Percent int // 0 .. 100, RFC 5235 §3.3 (spamtestplus :percent)
}

// run is the state of one execution.
type run struct {
	ctx       context.Context
	script    *Script
	msg       Message
	env       *Env
	limits    Limits
	deadline  time.Time
	steps     int
	cost      int64 // of the comparisons so far (cost.go)
	redirects int
	vars      map[string]string
	matchVars []string
	res       Result
	cancelled bool // the implicit keep was cancelled
	stopped   bool
	// vacationAsked: a vacation command ran, whether or not RFC 3834
	// let it answer.
	vacationAsked bool
	at            Pos // the test being evaluated, for errors
	// Decoded header values and parsed addresses by field name: a
	// 200-rule script reads Subject 200 times, decodes it once.
	headers map[string][]string
	addrs   map[string][]parsedAddr
}

func (r *run) headerValues(name string) []string {
	key := strings.ToLower(name)
	v, ok := r.headers[key]
	if !ok {
		v = headerValues(r.msg, name)
		r.headers[key] = v
	}
	return v
}

func (r *run) addresses(name string) []parsedAddr {
	key := strings.ToLower(name)
	v, ok := r.addrs[key]
	if !ok {
		for _, raw := range r.msg.Header(name) {
			v = append(v, headerAddresses(raw)...)
		}
		r.addrs[key] = v
	}
	return v
}

// Run executes a compiled script for one message and recipient. On a
// runtime error (a limit, conflicting actions, a bad regular expression
// made from variables) it returns the error with a result that is only the
// implicit keep: RFC 5228 §2.10.6, filtering never loses a message.
func Run(ctx context.Context, s *Script, msg Message, env Env) (*Result, error) {
	lim := env.Limits
	def := DefaultLimits
	if lim.MaxSteps <= 0 {
		lim.MaxSteps = def.MaxSteps
	}
	if lim.MaxRedirects <= 0 {
		lim.MaxRedirects = def.MaxRedirects
	}
	if lim.MaxActions <= 0 {
		lim.MaxActions = def.MaxActions
	}
	if lim.Timeout <= 0 {
		lim.Timeout = def.Timeout
	}
	r := &run{ctx: ctx, script: s, msg: msg, env: &env, limits: lim,
		deadline: time.Now().Add(lim.Timeout), vars: map[string]string{},
		headers: map[string][]string{}, addrs: map[string][]parsedAddr{}}
	if err := r.block(s.Commands); err != nil {
		return &Result{ImplicitKeep: true}, err
	}
	r.res.ImplicitKeep = !r.cancelled
	if r.res.ImplicitKeep && s.Requires["imap4flags"] {
		r.res.ImplicitKeepFlags = splitFlags(r.vars[""])
	}
	return &r.res, nil
}

// step counts one command or test against the limits.
func (r *run) step(at Pos) error {
	r.steps++
	if r.steps > r.limits.MaxSteps {
		return fmt.Errorf("%s: more than %d steps: %w", at, r.limits.MaxSteps, ErrLimit)
	}
	if r.steps%64 == 0 {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(r.deadline) {
			return fmt.Errorf("%s: ran longer than %v: %w", at, r.limits.Timeout, ErrLimit)
		}
	}
	return nil
}

func (r *run) block(cmds []*Command) error {
	lastIf := false // the previous if/elsif ran its block (or one before it did)
	for _, c := range cmds {
		if r.stopped {
			return nil
		}
		if err := r.step(c.Pos); err != nil {
			return err
		}
		switch c.Name {
		case "if", "elsif", "else":
			if c.Name != "if" && lastIf {
				continue
			}
			ok := true
			if c.Name != "else" {
				var err error
				if ok, err = r.test(c.Tests[0]); err != nil {
					return err
				}
			}
			lastIf = ok
			if ok {
				if err := r.block(c.Block); err != nil {
					return err
				}
			}
			continue
		}
		lastIf = false
		if err := r.command(c); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) str(a Arg) string { return r.expand(a.Strings[0]) }

func (r *run) strs(a Arg) []string {
	out := make([]string, len(a.Strings))
	for i, s := range a.Strings {
		out[i] = r.expand(s)
	}
	return out
}

func (r *run) command(c *Command) error {
	a := &c.args
	_, copied := a.tags["copy"]
	switch c.Name {
	case "require":
	case "stop":
		r.stopped = true
	case "discard":
		r.cancelled = true
	case "keep":
		r.cancelled = true
		return r.addAction(Action{Kind: ActKeep, Flags: r.actionFlags(a)}, c.Pos)
	case "fileinto":
		_, create := a.tags["create"]
		if !copied {
			r.cancelled = true
		}
		return r.addAction(Action{Kind: ActFileInto, Mailbox: r.str(a.pos[0]), Copy: copied,
			Create: create, Flags: r.actionFlags(a)}, c.Pos)
	case "redirect":
		addr, err := parseRedirectAddress(r.str(a.pos[0]))
		if err != nil {
			return fmt.Errorf("%s: redirect to an invalid address %q", c.Pos, r.str(a.pos[0]))
		}
		if !copied {
			r.cancelled = true
		}
		return r.addAction(Action{Kind: ActRedirect, Address: addr, Copy: copied}, c.Pos)
	case "reject", "ereject":
		r.cancelled = true
		return r.addAction(Action{Kind: ActionKind(c.Name), Reason: r.str(a.pos[0])}, c.Pos)
	case "vacation":
		return r.vacation(c)
	case "set":
		v := applyModifiers(r.str(a.pos[1]), a.tags)
		r.vars[strings.ToLower(a.pos[0].Strings[0])] = truncateUTF8(v, maxVariableSize)
	case "addflag", "setflag", "removeflag":
		name, list := "", a.pos[0]
		if len(a.pos) == 2 {
			name, list = strings.ToLower(a.pos[0].Strings[0]), a.pos[1]
		}
		r.vars[name] = editFlags(c.Name, r.vars[name], r.strs(list))
	default:
		return fmt.Errorf("%s: command '%s' cannot run", c.Pos, c.Name)
	}
	return nil
}

// actionFlags are the flags a keep or fileinto stores with: its :flags
// argument, else the internal variable (RFC 5232 §5); nil without imap4flags.
func (r *run) actionFlags(a *checkedArgs) []string {
	if !r.script.Requires["imap4flags"] {
		return nil
	}
	if f, ok := a.tags["flags"]; ok {
		return splitFlags(strings.Join(r.strs(f), " "))
	}
	return splitFlags(r.vars[""])
}

func (r *run) test(t *Test) (bool, error) {
	if err := r.step(t.Pos); err != nil {
		return false, err
	}
	r.at = t.Pos
	a := &t.args
	switch t.Name {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "not":
		ok, err := r.test(t.Tests[0])
		return !ok, err
	case "allof", "anyof":
		// RFC 5228 §5.2, §5.3: evaluated left to right, stopping early.
		want := t.Name == "anyof"
		for _, sub := range t.Tests {
			ok, err := r.test(sub)
			if err != nil || ok == want {
				return ok, err
			}
		}
		return !want, nil
	case "exists":
		for _, name := range r.strs(a.pos[0]) {
			if len(r.msg.Header(name)) == 0 {
				return false, nil
			}
		}
		return true, nil
	case "size":
		if n, ok := a.tags["over"]; ok {
			return uint64(r.msg.Size()) > n.Num, nil
		}
		return uint64(r.msg.Size()) < a.tags["under"].Num, nil
	case "header":
		var values []string
		for _, name := range r.strs(a.pos[0]) {
			values = append(values, r.headerValues(name)...)
		}
		return r.match(a, values, r.strs(a.pos[1]))
	case "address":
		var addrs []parsedAddr
		for _, name := range r.strs(a.pos[0]) {
			addrs = append(addrs, r.addresses(name)...)
		}
		return r.matchAddresses(a, addrs, r.strs(a.pos[1]))
	case "envelope":
		var addrs []parsedAddr
		for _, part := range r.strs(a.pos[0]) {
			switch strings.ToLower(part) {
			case "from":
				addrs = append(addrs, envelopeAddress(r.env.Envelope.From))
			case "to":
				addrs = append(addrs, envelopeAddress(r.env.Envelope.To))
			}
		}
		return r.matchAddresses(a, addrs, r.strs(a.pos[1]))
	case "string":
		var values []string
		for _, v := range r.strs(a.pos[0]) {
			// RFC 5229 §5: an empty string counts as no value for :count.
			if a.match != "count" || v != "" {
				values = append(values, v)
			}
		}
		return r.match(a, values, r.strs(a.pos[1]))
	case "hasflag":
		names, keys := []string{""}, a.pos[0]
		if len(a.pos) == 2 {
			names, keys = a.pos[0].Strings, a.pos[1]
		}
		var values []string
		for _, n := range names {
			values = append(values, splitFlags(r.vars[strings.ToLower(n)])...)
		}
		return r.match(a, values, r.strs(keys))
	case "body":
		values, err := r.bodyValues(a)
		if err != nil {
			return false, err
		}
		return r.match(a, values, r.strs(a.pos[0]))
	case "mailboxexists":
		for _, name := range r.strs(a.pos[0]) {
			exists := strings.EqualFold(name, "INBOX")
			if r.env.MailboxExists != nil {
				exists = r.env.MailboxExists(name)
			}
			if !exists {
				return false, nil
			}
		}
		return true, nil
	case "spamtest":
		v := "0" // RFC 5235 §3.2: not tested
		if s := r.env.Spam; s != nil {
			v = itoa(s.Value)
			if _, pct := a.tags["percent"]; pct {
				v = itoa(s.Percent)
			}
		}
		return r.match(a, []string{v}, r.strs(a.pos[0]))
	case "virustest":
		v := "0"
		if r.env.Virus != nil {
			v = itoa(*r.env.Virus)
		}
		return r.match(a, []string{v}, r.strs(a.pos[0]))
	}
	return false, fmt.Errorf("%s: test '%s' cannot run", t.Pos, t.Name)
}

// matchAddresses compares the chosen part of each address. RFC 5231 §4.2:
// :count counts the addresses, whatever their parts.
func (r *run) matchAddresses(a *checkedArgs, addrs []parsedAddr, keys []string) (bool, error) {
	values := make([]string, 0, len(addrs))
	for _, ad := range addrs {
		if p, ok := addressPart(ad, a.addrPart); ok || a.match == "count" {
			values = append(values, p)
		}
	}
	return r.match(a, values, keys)
}

// match is the common core of the tests that compare values with keys
// (RFC 5228 §2.7). It sets the match variables when the test succeeds.
func (r *run) match(a *checkedArgs, values, keys []string) (bool, error) {
	if a.match == "count" {
		// RFC 5231 §4.2: the number of values against each key.
		n := itoa(len(values))
		for _, k := range keys {
			if relate(a.relation, order(a.comparator, n, k)) {
				return true, nil
			}
		}
		return false, nil
	}
	var res []*keyRegex
	if a.match == "regex" {
		// Keys made from variables compile here, once per test.
		res = make([]*keyRegex, len(keys))
		for i, k := range keys {
			re, err := r.regexFor(a, i, k)
			if err != nil {
				return false, err
			}
			res[i] = re
		}
	}
	for _, v := range values {
		for ki, k := range keys {
			if err := r.step(r.at); err != nil {
				return false, err
			}
			var re *keyRegex
			if res != nil {
				re = res[ki]
			}
			if err := r.spend(matchCost(a, v, k, re)); err != nil {
				return false, err
			}
			ok, vars := matchOne(a, v, k, re)
			if ok {
				if vars != nil && r.script.Requires["variables"] {
					if len(vars) > maxMatchVariables {
						vars = vars[:maxMatchVariables]
					}
					r.matchVars = vars
				}
				return true, nil
			}
		}
	}
	return false, nil
}

func (r *run) regexFor(a *checkedArgs, i int, key string) (*keyRegex, error) {
	if i < len(a.regexps) && a.regexps[i] != nil {
		return a.regexps[i], nil
	}
	re, err := compileRegex(key, a.comparator)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q from variables: %v", key, err)
	}
	return re, nil
}
