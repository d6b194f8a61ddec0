package sieve

import (
	"bufio"
	"context"
	"fmt"
	"mailgate/internal/testpeer"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The differential test: every script in testdata/diff/scripts (and the
// generated ones) against every message in testdata/diff/messages, through
// this package and through Dovecot Pigeonhole's sieve-test; the outcomes
// (compile error, runtime error, the set of actions, the implicit keep)
// must be the same. Deliberate differences are listed in
// testdata/diff/README.md and kept out of the corpus.

const (
	diffSender    = "sender@example.com"
	diffRecipient = "me+lists@example.net"
)

// pigeonhole runs sieve-test with a dovecot configuration of its own in a
// temporary directory: no running dovecot, nothing outside the directory.
type pigeonhole struct {
	dir, conf string
}

func newPigeonhole(t *testing.T) *pigeonhole {
	t.Helper()
	if _, err := exec.LookPath("sieve-test"); err != nil {
		testpeer.MissingPeer(t, "sieve-test not installed (scripts/test-deps.sh installs dovecot-sieve)")
	}
	// sieve-test drops privileges to mail_uid and refuses root: as root
	// it runs as nobody, so the directory must be open to it.
	dir, err := os.MkdirTemp("", "sieve-diff-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	uid, gid := fmt.Sprint(os.Getuid()), fmt.Sprint(os.Getgid())
	if os.Getuid() == 0 {
		uid, gid = "nobody", "nogroup"
	}
	for _, sub := range []string{"home", "run", "state"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, sub), 0o777)
	}
	conf := fmt.Sprintf(`first_valid_uid = 0
first_valid_gid = 0
mail_uid = %s
mail_gid = %s
mail_home = %[3]s/home
mail_location = maildir:%[3]s/home/Maildir
base_dir = %[3]s/run
state_dir = %[3]s/state
log_path = /dev/stderr
ssl = no
protocols =
`, uid, gid, dir)
	p := &pigeonhole{dir: dir, conf: filepath.Join(dir, "dovecot.conf")}
	if err := os.WriteFile(p.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// run returns Pigeonhole's outcome in the canonical form of outcome().
func (p *pigeonhole) run(t *testing.T, script, msgPath string) []string {
	t.Helper()
	sp := filepath.Join(p.dir, "script.sieve")
	if err := os.WriteFile(sp, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sieve-test", "-c", p.conf, "-f", diffSender, "-a", diffRecipient, "-r", diffRecipient, sp, msgPath)
	out, _ := cmd.CombinedOutput()
	return parseSieveTest(string(out))
}

// parseSieveTest reads sieve-test's "Performed actions" and "Implicit
// keep" lists (Pigeonhole 2.3's sieve-test output).
func parseSieveTest(out string) []string {
	if strings.Contains(out, "failed to compile sieve script") {
		return []string{"compile error"}
	}
	var res []string
	if strings.Contains(out, "final result: failed") {
		res = append(res, "runtime error")
	}
	section := ""
	inMessage := false
	var cur *string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		switch {
		case trim == "START MESSAGE":
			inMessage = true
			continue
		case trim == "END MESSAGE":
			inMessage = false
			continue
		case inMessage:
			continue
		case line == "Performed actions:":
			section = ""
			continue
		case line == "Implicit keep:":
			section = "implicit "
			continue
		}
		switch {
		case strings.HasPrefix(line, " * store message in folder: "):
			res = append(res, section+"store "+strings.TrimPrefix(line, " * store message in folder: "))
			cur = &res[len(res)-1]
		case strings.HasPrefix(line, " * redirect message to: "):
			res = append(res, "redirect "+strings.Trim(strings.TrimPrefix(line, " * redirect message to: "), "<>"))
			cur = nil
		case strings.HasPrefix(line, " * reject message"):
			res = append(res, "reject")
			cur = nil
		case strings.HasPrefix(line, " * send vacation message"):
			res = append(res, "vacation")
			cur = nil
		case strings.HasPrefix(line, " * discard"):
			cur = nil // discard is the absence of the implicit keep
		case strings.HasPrefix(line, " * "):
			res = append(res, "unknown "+line)
			cur = nil
		case strings.HasPrefix(trim, "+ add IMAP flags: ") && cur != nil:
			*cur += " flags=" + canonicalFlags(strings.Fields(strings.TrimPrefix(trim, "+ add IMAP flags: ")))
		}
	}
	if len(res) == 1 && res[0] == "runtime error" {
		// A failed run keeps, without listing it.
		res = append(res, "implicit store INBOX")
	}
	sort.Strings(res)
	return res
}

func canonicalFlags(flags []string) string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = strings.ToLower(f)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// outcome is this package's result in the same canonical form.
func outcome(script string, msg []byte) []string {
	s, err := Compile(script)
	if err != nil {
		return []string{"compile error"}
	}
	env := Env{Envelope: Envelope{From: diffSender, To: diffRecipient}}
	res, err := Run(context.Background(), s, ParseMessage(msg), env)
	var out []string
	if err != nil {
		out = append(out, "runtime error")
	}
	for _, a := range res.Actions {
		flags := ""
		if len(a.Flags) > 0 {
			flags = " flags=" + canonicalFlags(a.Flags)
		}
		switch a.Kind {
		case ActKeep:
			out = append(out, "store INBOX"+flags)
		case ActFileInto:
			out = append(out, "store "+a.Mailbox+flags)
		case ActRedirect:
			out = append(out, "redirect "+a.Address)
		case ActReject, ActEreject:
			out = append(out, "reject")
		case ActVacation:
			out = append(out, "vacation")
		}
	}
	// sieve-test lists the vacation RFC 3834 would stop only when it
	// executes; compare what the script asked for.
	for _, n := range res.Notes {
		if strings.HasPrefix(n, "vacation not sent") {
			out = append(out, "vacation")
		}
	}
	if res.ImplicitKeep {
		flags := ""
		if len(res.ImplicitKeepFlags) > 0 {
			flags = " flags=" + canonicalFlags(res.ImplicitKeepFlags)
		}
		out = append(out, "implicit store INBOX"+flags)
	}
	sort.Strings(out)
	return out
}

func TestDifferentialPigeonhole(t *testing.T) {
	ph := newPigeonhole(t)
	msgs, _ := filepath.Glob("testdata/diff/messages/*.eml")
	files, _ := filepath.Glob("testdata/diff/scripts/*.sieve")
	if len(msgs) == 0 || len(files) == 0 {
		t.Fatal("no corpus in testdata/diff")
	}
	type script struct{ name, src string }
	var scripts []script
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scripts = append(scripts, script{filepath.Base(f), string(b)})
	}
	for i, src := range generatedScripts(1, 60) {
		scripts = append(scripts, script{fmt.Sprintf("generated-%02d", i), src})
	}
	for i, src := range captureScripts(2, 30) {
		scripts = append(scripts, script{fmt.Sprintf("capture-%02d", i), src})
	}
	if testing.Short() {
		scripts = scripts[:10]
	}
	compared := 0
	for _, m := range msgs {
		raw, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		mp := filepath.Join(ph.dir, filepath.Base(m))
		if err := os.WriteFile(mp, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, s := range scripts {
			want := ph.run(t, s.src, mp)
			got := outcome(s.src, raw)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s on %s:\n ours:       %q\n pigeonhole: %q\nscript:\n%s", s.name, filepath.Base(m), got, want, s.src)
			}
			compared++
		}
	}
	t.Logf("%d script×message pairs compared with Pigeonhole", compared)
}
