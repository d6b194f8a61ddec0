package sieve

import (
	"context"
	"errors"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	"",
	"keep;",
	`require ["fileinto","copy"]; if header :contains "subject" "x" { fileinto :copy "A"; } else { discard; }`,
	"require \"reject\"; reject text:\n..a\n.\n;",
	`require ["variables","regex"]; if header :regex "subject" "(a+)+b" { set "x" "${1}"; }`,
	`require ["variables"]; if header :matches "subject" "*a*b*c*d*e*" { set :upper :length "x" "${5}"; }`,
	`if anyof (not exists "x", size :over 1K, address :domain "from" "a") { stop; }`,
	`require ["imap4flags","relational","comparator-i;ascii-numeric"]; addflag "\\Seen"; if header :count "ge" :comparator "i;ascii-numeric" "x" "1" { keep; }`,
	"/* c */ # d\nredirect \"a@b.c\";",
	`if size :over 99999999999999999999 { }`,
}

// FuzzParse: any input compiles or fails with a positioned *Error; never a
// panic.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, err := Compile(src)
		var se *Error
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("Compile error without a position: %v", err)
		}
		if se != nil && (se.Pos.Line < 1 || se.Pos.Col < 1) {
			t.Fatalf("error with position %v", se.Pos)
		}
	})
}

// FuzzRun: a script that compiles runs on a message without panicking,
// within its limits, and a failure always leaves the implicit keep.
func FuzzRun(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, testMsg)
	}
	f.Fuzz(func(t *testing.T, src, msg string) {
		s, err := Compile(src)
		if err != nil {
			return
		}
		env := testEnv()
		env.Limits = Limits{MaxSteps: 10000, Timeout: time.Second}
		res, err := Run(context.Background(), s, ParseMessage([]byte(msg)), env)
		if err != nil && (!res.ImplicitKeep || len(res.Actions) != 0) {
			t.Fatalf("failed run %v did not leave only the implicit keep: %q", err, res.Strings())
		}
	})
}
