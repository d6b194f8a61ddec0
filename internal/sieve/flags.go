package sieve

import "strings"

// imap4flags (RFC 5232): a variable holds a space-separated set of flags.

// splitFlags returns the flags in v once each (compared without case, RFC
// 5232 §3), in the order first written.
func splitFlags(v string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, f := range strings.Fields(v) {
		k := strings.ToLower(f)
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// editFlags applies setflag, addflag or removeflag (RFC 5232 §3.1-3.3) to
// the value of a flag variable and returns the new value.
func editFlags(cmd, current string, args []string) string {
	given := splitFlags(strings.Join(args, " "))
	switch cmd {
	case "setflag":
		return strings.Join(given, " ")
	case "addflag":
		return strings.Join(splitFlags(current+" "+strings.Join(given, " ")), " ")
	}
	drop := map[string]bool{}
	for _, f := range given {
		drop[strings.ToLower(f)] = true
	}
	var keep []string
	for _, f := range splitFlags(current) {
		if !drop[strings.ToLower(f)] {
			keep = append(keep, f)
		}
	}
	return strings.Join(keep, " ")
}
