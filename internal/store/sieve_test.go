package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mailgate/internal/sieve"
	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

func TestSieveScripts(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(t, s.AddDomain(ctx, "test", "isp.example"))
		must(t, s.AddAccount(ctx, "test", "ann@isp.example", "h"))
		if err := s.PutSieveScript(ctx, "test", "nobody@isp.example", "a", "keep;"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("script of an unknown account: got %v, want ErrNotFound", err)
		}
		if list, err := s.SieveScripts(ctx, "nobody@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("scripts of an unknown account: %v, %v; want ErrNotFound", list, err)
		}
		if list, err := s.SieveScripts(ctx, "ann@isp.example"); err != nil || len(list) != 0 {
			t.Fatalf("scripts of a new account: %v, %v", list, err)
		}
		err := s.PutSieveScript(ctx, "test", "ann@isp.example", "bad", "keep;\nfileinto \"x\";")
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "2:1: command 'fileinto' needs require") {
			t.Fatalf("invalid script: got %v, want ErrInvalid with the compiler's line:column", err)
		}
		if err := s.PutSieveScript(ctx, "test", "ann@isp.example", "", "keep;"); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("empty name: got %v, want ErrInvalid", err)
		}
		if _, err := s.ActiveSieveScript(ctx, "ann@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no active script: got %v, want ErrNotFound", err)
		}
		must(t, s.PutSieveScript(ctx, "test", "Ann@ISP.example", "one", "keep;"))
		must(t, s.PutSieveScript(ctx, "test", "ann@isp.example", "two", "discard;"))
		must(t, s.ActivateSieveScript(ctx, "test", "ann@isp.example", "one"))
		must(t, s.ActivateSieveScript(ctx, "test", "ann@isp.example", "two"))
		act, err := s.ActiveSieveScript(ctx, "ann@isp.example")
		if err != nil || act.Name != "two" || act.Content != "discard;" {
			t.Fatalf("active = %+v, %v; want two", act, err)
		}
		// Replacing the active script keeps it active.
		must(t, s.PutSieveScript(ctx, "test", "ann@isp.example", "two", "stop;"))
		list, err := s.SieveScripts(ctx, "ann@isp.example")
		if err != nil || len(list) != 2 || list[0].Name != "one" || list[0].Active || list[1].Name != "two" || !list[1].Active {
			t.Fatalf("SieveScripts = %+v, %v", list, err)
		}
		if sc, err := s.SieveScript(ctx, "ann@isp.example", "two"); err != nil || sc.Content != "stop;" || !sc.Active {
			t.Fatalf("SieveScript = %+v, %v", sc, err)
		}
		if err := s.RenameSieveScript(ctx, "test", "ann@isp.example", "two", "one"); !errors.Is(err, store.ErrExists) {
			t.Fatalf("renaming onto an existing script: got %v, want ErrExists", err)
		}
		if err := s.RenameSieveScript(ctx, "test", "ann@isp.example", "nope", "x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("renaming a missing script: got %v, want ErrNotFound", err)
		}
		must(t, s.RenameSieveScript(ctx, "test", "ann@isp.example", "two", "deux"))
		if act, err := s.ActiveSieveScript(ctx, "ann@isp.example"); err != nil || act.Name != "deux" {
			t.Fatalf("after rename the active script is %+v, %v; want deux", act, err)
		}
		must(t, s.RenameSieveScript(ctx, "test", "ann@isp.example", "deux", "two"))
		if err := s.DeleteSieveScript(ctx, "test", "ann@isp.example", "two"); !errors.Is(err, store.ErrInUse) {
			t.Fatalf("deleting the active script: got %v, want ErrInUse", err)
		}
		if err := s.ActivateSieveScript(ctx, "test", "ann@isp.example", "three"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("activating a missing script: got %v, want ErrNotFound", err)
		}
		must(t, s.ActivateSieveScript(ctx, "test", "ann@isp.example", ""))
		if _, err := s.ActiveSieveScript(ctx, "ann@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after deactivation: got %v, want ErrNotFound", err)
		}
		must(t, s.DeleteSieveScript(ctx, "test", "ann@isp.example", "two"))
		for i := 0; i < store.MaxSieveScripts-1; i++ {
			must(t, s.PutSieveScript(ctx, "test", "ann@isp.example", "s"+string(rune('a'+i)), "keep;"))
		}
		if err := s.PutSieveScript(ctx, "test", "ann@isp.example", "over", "keep;"); !errors.Is(err, store.ErrInUse) {
			t.Fatalf("script count quota: got %v, want ErrInUse", err)
		}
		// Removing the account removes its scripts.
		must(t, s.RemoveAccount(ctx, "test", "ann@isp.example"))
		must(t, s.AddAccount(ctx, "test", "ann@isp.example", "h"))
		if list, err := s.SieveScripts(ctx, "ann@isp.example"); err != nil || len(list) != 0 {
			t.Fatalf("scripts of a re-created account = %+v, %v; want none", list, err)
		}
	})
}

func TestVacationDueOncePerSender(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(t, s.AddDomain(ctx, "test", "isp.example"))
		must(t, s.AddAccount(ctx, "test", "ann@isp.example", "h"))
		due := func(handle, sender string, period time.Duration) bool {
			t.Helper()
			ok, err := s.VacationDue(ctx, "ann@isp.example", handle, sender, period)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		week := 7 * 24 * time.Hour
		if !due("h", "Bob@else.example", week) {
			t.Fatal("first reply to a sender not due")
		}
		if due("h", "bob@else.example", week) {
			t.Fatal("second reply to the same sender within the period is due")
		}
		if !due("h", "carol@else.example", week) || !due("other", "bob@else.example", week) {
			t.Fatal("another sender, or another vacation handle, not due")
		}
		if !due("h", "bob@else.example", 0) {
			t.Fatal("reply after the period not due")
		}
	})
}

func TestFilterRules(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(t, s.AddDomain(ctx, "test", "isp.example"))
		must(t, s.AddAccount(ctx, "test", "ann@isp.example", "h"))
		if rules, err := s.FilterRules(ctx, "ann@isp.example"); err != nil || len(rules) != 0 {
			t.Fatalf("rules of a new account: %+v, %v", rules, err)
		}
		if rules, err := s.FilterRules(ctx, "nobody@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("rules of an unknown account: %+v, %v; want ErrNotFound", rules, err)
		}
		r1 := sieve.Rule{Header: "Subject", Regex: `^\[acme\]`, Folder: "Acme"}
		r2 := sieve.Rule{Header: "From", Regex: "@shop[.]example$", Folder: "Shops"}
		must(t, s.AddFilterRule(ctx, "test", "ann@isp.example", r1))
		// With no active script, the rules made one and activated it.
		act, err := s.ActiveSieveScript(ctx, "ann@isp.example")
		if err != nil || act.Name != "rules" {
			t.Fatalf("active script %+v, %v; want rules", act, err)
		}
		must(t, s.AddFilterRule(ctx, "test", "ann@isp.example", r2))
		if err := s.AddFilterRule(ctx, "test", "ann@isp.example", sieve.Rule{Header: "Subject", Regex: "(", Folder: "X"}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad regex: got %v, want ErrInvalid", err)
		}
		rules, err := s.FilterRules(ctx, "ann@isp.example")
		if err != nil || len(rules) != 2 || rules[0] != r1 || rules[1] != r2 {
			t.Fatalf("rules %+v, %v", rules, err)
		}
		// The user's own script keeps its part; the rules go into it.
		must(t, s.PutSieveScript(ctx, "test", "ann@isp.example", "mine", "require \"fileinto\";\nfileinto \"Other\";\n"))
		must(t, s.ActivateSieveScript(ctx, "test", "ann@isp.example", "mine"))
		must(t, s.AddFilterRule(ctx, "test", "ann@isp.example", r2))
		if rules, _ := s.FilterRules(ctx, "ann@isp.example"); len(rules) != 1 || rules[0] != r2 {
			t.Fatalf("rules of the user's script: %+v", rules)
		}
		must(t, s.RemoveFilterRule(ctx, "test", "ann@isp.example", 1))
		if err := s.RemoveFilterRule(ctx, "test", "ann@isp.example", 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("removing from no rules: got %v, want ErrNotFound", err)
		}
		mine, err := s.SieveScript(ctx, "ann@isp.example", "mine")
		if err != nil || mine.Content != "require \"fileinto\";\nfileinto \"Other\";\n" {
			t.Fatalf("the user's script after adding and removing rules: %q, %v", mine.Content, err)
		}
	})
}
