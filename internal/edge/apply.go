package edge

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Change summarises what an apply did.
type Change struct {
	Added, Removed int  // set elements
	Rules          bool // chains rewritten
	Created        bool // table created
}

// Empty reports whether nothing needed changing.
func (c Change) Empty() bool { return c.Added == 0 && c.Removed == 0 && !c.Rules && !c.Created }

func (c Change) String() string {
	if c.Empty() {
		return "unchanged"
	}
	var parts []string
	if c.Created {
		parts = append(parts, "table created")
	}
	if c.Rules {
		parts = append(parts, "rules replaced")
	}
	parts = append(parts, fmt.Sprintf("%d elements added, %d removed", c.Added, c.Removed))
	return strings.Join(parts, ", ")
}

// Plan returns the `nft -f` script that turns cur into r, and what it
// changes. The script is one nft transaction: the kernel switches from
// the old to the new policy at once, with no moment in between. Set
// elements are updated by difference (never flushed), so counters and
// established behaviour for untouched prefixes stay as they are; the
// chains are rewritten only when their rules changed. An empty script
// means the kernel already holds r: re-applying changes nothing.
func Plan(cur *KernelState, r *Ruleset) (string, Change) {
	var b strings.Builder
	var ch Change
	tbl := "inet " + Table
	if !cur.Exists {
		ch.Created = true
	}
	b.WriteString("add table " + tbl + "\n")
	for _, s := range intervalSets {
		if !cur.Present[s.Name] {
			fmt.Fprintf(&b, "add set %s %s %s\n", tbl, s.Name, r.setDecl(s.Type))
			ch.Created = true
		}
	}
	for _, s := range counterSets {
		if !cur.Present[s.Name] {
			fmt.Fprintf(&b, "add set %s %s %s\n", tbl, s.Name, r.counterDecl(s.Type))
			ch.Created = true
		}
	}
	if cur.RulesHash != r.RulesHash() {
		ch.Rules = true
		fmt.Fprintf(&b, "add chain %s forward { type filter hook forward priority filter; policy accept; }\n", tbl)
		fmt.Fprintf(&b, "add chain %s port25\n", tbl)
		fmt.Fprintf(&b, "flush chain %s forward\nflush chain %s port25\n", tbl, tbl)
		for _, rule := range r.chainRules() {
			fmt.Fprintf(&b, "add rule %s port25 %s\n", tbl, rule)
		}
		fmt.Fprintf(&b, "add rule %s forward %s\n", tbl, r.forwardRule())
	}
	for _, s := range intervalSets {
		add, del := diffRanges(cur.Sets[s.Name], r.Sets[s.Name])
		// Deletions first: a grown range replaces the old one in the same
		// transaction without an overlap error.
		writeElements(&b, "delete", tbl, s.Name, del)
		writeElements(&b, "add", tbl, s.Name, add)
		ch.Added += len(add)
		ch.Removed += len(del)
	}
	if ch.Empty() {
		return "", ch
	}
	return b.String(), ch
}

func writeElements(b *strings.Builder, verb, tbl, set string, rs []Range) {
	const per = 4096 // keep lines a sane length; still one transaction
	for len(rs) > 0 {
		k := min(per, len(rs))
		fmt.Fprintf(b, "%s element %s %s { ", verb, tbl, set)
		for i, r := range rs[:k] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(r.String())
		}
		b.WriteString(" }\n")
		rs = rs[k:]
	}
}

func diffRanges(cur, want []Range) (add, del []Range) {
	have := make(map[Range]bool, len(cur))
	for _, r := range cur {
		have[r] = true
	}
	wanted := make(map[Range]bool, len(want))
	for _, r := range want {
		wanted[r] = true
		if !have[r] {
			add = append(add, r)
		}
	}
	for _, r := range cur {
		if !wanted[r] {
			del = append(del, r)
		}
	}
	return add, del
}

// NftPath is the nft binary apply runs.
var NftPath = "nft"

// RunNft feeds script to `nft -f -` as one transaction.
func RunNft(ctx context.Context, script string) error {
	cmd := exec.CommandContext(ctx, NftPath, "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "..."
		}
		return fmt.Errorf("nft -f: %v: %s (is nftables installed and are we root/CAP_NET_ADMIN?)", err, msg)
	}
	return nil
}

// Apply brings the kernel to r: read, plan, one nft transaction.
func Apply(ctx context.Context, r *Ruleset) (Change, error) {
	cur, err := ReadKernel()
	if err != nil {
		return Change{}, err
	}
	script, ch := Plan(cur, r)
	if script == "" {
		return ch, nil
	}
	return ch, RunNft(ctx, script)
}
