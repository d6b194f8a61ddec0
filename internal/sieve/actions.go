package sieve

import (
	"errors"
	"fmt"
	"strings"
)

// ActionKind names an action a script asked for.
type ActionKind string

const (
	ActKeep     ActionKind = "keep"     // store in INBOX (RFC 5228 §4.3)
	ActFileInto ActionKind = "fileinto" // store in Mailbox (RFC 5228 §4.1)
	ActRedirect ActionKind = "redirect" // forward to Address (RFC 5228 §4.2)
	ActReject   ActionKind = "reject"   // refuse with Reason (RFC 5429 §2.2)
	ActEreject  ActionKind = "ereject"  // refuse at SMTP time with Reason (RFC 5429 §2.1)
	ActVacation ActionKind = "vacation" // auto-reply (RFC 5230)
)

// Action is one thing the script asked to happen to the message.
type Action struct {
	Kind    ActionKind
	Mailbox string   // fileinto
	Create  bool     // fileinto :create (RFC 5490 §3.2)
	Copy    bool     // :copy (RFC 3894): did not cancel the implicit keep
	Flags   []string // keep/fileinto with imap4flags: the flags to set (RFC 5232 §5)
	Address string   // redirect: the addr-spec
	Reason  string   // reject, ereject, vacation
	// Vacation holds the vacation parameters (ActVacation).
	Vacation *Vacation
}

// Vacation is an auto-reply to send (RFC 5230 §4). Whether one already went
// to this sender within Days is for the caller to decide, keyed by Handle.
type Vacation struct {
	To        string // the envelope sender the reply goes to
	Subject   string // "" = the caller builds "Auto: <original subject>"
	From      string
	Addresses []string
	Mime      bool
	Days      int
	Handle    string
}

func (a Action) String() string {
	switch a.Kind {
	case ActKeep:
		return "keep" + flagSuffix(a.Flags)
	case ActFileInto:
		s := "fileinto " + a.Mailbox
		if a.Copy {
			s += " :copy"
		}
		if a.Create {
			s += " :create"
		}
		return s + flagSuffix(a.Flags)
	case ActRedirect:
		s := "redirect " + a.Address
		if a.Copy {
			s += " :copy"
		}
		return s
	case ActVacation:
		return "vacation to " + a.Vacation.To
	}
	return string(a.Kind) + " " + a.Reason
}

func flagSuffix(f []string) string {
	if f == nil {
		return ""
	}
	return " flags=[" + strings.Join(f, " ") + "]"
}

// Result is what a run of a script decided.
type Result struct {
	Actions []Action
	// ImplicitKeep: no action cancelled the implicit keep (RFC 5228
	// §2.10.2), so the message goes to INBOX with ImplicitKeepFlags.
	ImplicitKeep      bool
	ImplicitKeepFlags []string
	// Notes say why something asked for did not happen (a vacation
	// reply not sent to a mailing list, say), for the log.
	Notes []string
}

// Strings lists the result's actions, the implicit keep last, for logs
// and tests.
func (r *Result) Strings() []string {
	var out []string
	for _, a := range r.Actions {
		out = append(out, a.String())
	}
	if r.ImplicitKeep {
		out = append(out, "implicit keep"+flagSuffix(r.ImplicitKeepFlags))
	}
	return out
}

// ErrLimit is wrapped by runtime errors from a limit a script ran into.
var ErrLimit = errors.New("limit exceeded")

// addAction records an action, applying RFC 5228 §2.10.3 (a mailbox or a
// redirect address once only) and RFC 5429 §2.1 (reject excludes the
// other delivering actions).
func (r *run) addAction(a Action, at Pos) error {
	if len(r.res.Actions) >= r.limits.MaxActions {
		return fmt.Errorf("%s: more than %d actions: %w", at, r.limits.MaxActions, ErrLimit)
	}
	if isReject(a.Kind) && r.vacationAsked {
		return fmt.Errorf("%s: %s conflicts with an earlier vacation (RFC 5429 §2.1)", at, a.Kind)
	}
	for i, old := range r.res.Actions {
		if isReject(a.Kind) || isReject(old.Kind) {
			// RFC 5429 §2.1: reject and ereject exclude each other and
			// every action that delivers or answers the message.
			return fmt.Errorf("%s: %s conflicts with an earlier %s (RFC 5429 §2.1)", at, a.Kind, old.Kind)
		}
		switch {
		case isStore(a) && isStore(old) && sameMailbox(storeMailbox(a), storeMailbox(old)):
			// One delivery to a mailbox; its flags are those of the
			// last action that named it.
			if a.Flags != nil {
				r.res.Actions[i].Flags = a.Flags
			}
			r.res.Actions[i].Copy = old.Copy && a.Copy
			r.res.Actions[i].Create = old.Create || a.Create
			return nil
		case a.Kind == ActRedirect && old.Kind == ActRedirect && strings.EqualFold(a.Address, old.Address):
			r.res.Actions[i].Copy = old.Copy && a.Copy
			return nil
		}
	}
	if a.Kind == ActRedirect {
		r.redirects++
		if r.redirects > r.limits.MaxRedirects {
			return fmt.Errorf("%s: more than %d redirects: %w", at, r.limits.MaxRedirects, ErrLimit)
		}
	}
	r.res.Actions = append(r.res.Actions, a)
	return nil
}

func isReject(k ActionKind) bool { return k == ActReject || k == ActEreject }

func isStore(a Action) bool { return a.Kind == ActKeep || a.Kind == ActFileInto }

func storeMailbox(a Action) string {
	if a.Kind == ActKeep {
		return "INBOX"
	}
	return a.Mailbox
}

// sameMailbox: INBOX is case-insensitive (RFC 3501 §5.1), other names are not.
func sameMailbox(a, b string) bool {
	if strings.EqualFold(a, "INBOX") {
		return strings.EqualFold(b, "INBOX")
	}
	return a == b
}
