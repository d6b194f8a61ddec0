// Package sieve is a Sieve mail filtering language implementation: RFC
// 5228 with the extensions fileinto, reject and ereject (RFC 5429),
// envelope, the comparators i;octet, i;ascii-casemap and
// i;ascii-numeric (RFC 4790), regex (draft-ietf-sieve-regex), imap4flags
// (RFC 5232), body (RFC 5173), variables (RFC 5229), vacation (RFC 5230),
// copy (RFC 3894), relational (RFC 5231), subaddress (RFC 5233), mailbox
// (RFC 5490), spamtest, spamtestplus and virustest (RFC 5235).
//
// Compile parses and checks a script (errors carry line:column); Run
// executes it for one message and recipient and returns the actions to
// take. Run never loses a message: a runtime failure returns the error
// with a result that is only the implicit keep (RFC 5228 §2.10.6).
//
// Behaviour is held against Dovecot Pigeonhole by the differential test
// (pigeonhole_test.go); the deliberate differences are listed in
// testdata/diff/README.md.
//
// # Regular expressions
//
// The regex draft names POSIX extended regular expressions; this package
// uses Go's regexp (RE2 syntax) with leftmost-longest matching, so the
// whole match (${0}) is the one POSIX would choose. They agree on literals,
// ".", bracket expressions with ranges, negation and [:class:] names,
// anchors, "|", grouping, "*", "+", "?" and {m,n}. They differ on:
//   - back-references (\1): not in ERE, a glibc extension; RE2 refuses
//     them, so such a script does not compile;
//   - collating elements and equivalence classes ([[.a.]], [[=a=]]):
//     refused by RE2;
//   - RE2's own syntax (\d, \w, \s, \b, non-greedy *?, (?i) flags, \pL):
//     in ERE the backslash forms are undefined and glibc reads them as
//     the letter; here they keep their RE2 meaning;
//   - submatches (${1}...) of ambiguous groups, where POSIX's
//     longest-subexpression rule and RE2's may choose differently;
//   - case-insensitive matching (i;ascii-casemap, the default
//     comparator) folds Unicode letters in RE2 and only ASCII letters in
//     the C locale; "." is one UTF-8 character in RE2 and one byte in the
//     C locale.
package sieve
