package sieve

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// script200 is a 200-rule script of the kind the seed ISP's rule form
// makes: header and address tests with :contains, :matches and :regex,
// none of which match testMsg, so every rule is evaluated.
func script200() string {
	var b strings.Builder
	b.WriteString(`require ["fileinto", "regex", "variables"];` + "\n")
	for i := 0; i < 200; i++ {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "if header :contains \"subject\" \"keyword%d\" { fileinto \"F%d\"; stop; }\n", i, i)
		case 1:
			fmt.Fprintf(&b, "if address :domain :is \"from\" \"domain%d.example\" { fileinto \"F%d\"; stop; }\n", i, i)
		case 2:
			fmt.Fprintf(&b, "if header :matches \"x-multi\" \"*tag%d*\" { fileinto \"F%d\"; stop; }\n", i, i)
		default:
			fmt.Fprintf(&b, "if header :regex \"subject\" \"^\\\\[list%d\\\\] .*(urgent|now)$\" { fileinto \"F%d\"; stop; }\n", i, i)
		}
	}
	return b.String()
}

// BenchmarkRun200Rules: one message through a compiled 200-rule script
// (what delivery does per recipient, minus the compile).
func BenchmarkRun200Rules(b *testing.B) {
	s, err := Compile(script200())
	if err != nil {
		b.Fatal(err)
	}
	msg := ParseMessage([]byte(testMsg))
	env := testEnv()
	b.ReportAllocs()
	for b.Loop() {
		res, err := Run(context.Background(), s, msg, env)
		if err != nil || !res.ImplicitKeep {
			b.Fatal(err, res.Strings())
		}
	}
}

// BenchmarkCompile200Rules: parsing and checking the same script.
func BenchmarkCompile200Rules(b *testing.B) {
	src := script200()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(src); err != nil {
			b.Fatal(err)
		}
	}
}
