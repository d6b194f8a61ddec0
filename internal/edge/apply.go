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
	Marker         bool // only the digest marker moved
}

// Empty reports whether nothing needed changing.
func (c Change) Empty() bool {
	return c.Added == 0 && c.Removed == 0 && !c.Rules && !c.Created && !c.Marker
}

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
	if c.Added+c.Removed > 0 || !c.Marker {
		parts = append(parts, fmt.Sprintf("%d elements added, %d removed", c.Added, c.Removed))
	} else {
		parts = append(parts, "marker updated")
	}
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
	if digest := r.Digest(); cur.Digest != digest {
		// The marker moves in the same transaction as what it describes.
		fmt.Fprintf(&b, "add chain %s state\nflush chain %s state\n", tbl, tbl)
		fmt.Fprintf(&b, "add rule %s state counter comment %q\n", tbl, "mailgate-state "+digest)
		ch.Marker = true
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

// Apply brings the kernel to r: read, plan, one nft transaction. With a
// cache directory, the element lists of the last apply are kept there and
// used instead of reading the kernel's sets back when the kernel's digest
// marker shows it still holds exactly them; verify forces the read.
func Apply(ctx context.Context, r *Ruleset, cacheDir string, verify bool) (Change, error) {
	cur, err := ReadKernelMeta()
	if err != nil {
		return Change{}, err
	}
	want := r.Digest()
	if !verify && cur.Exists && cur.Digest == want && cur.RulesHash == r.RulesHash() && allPresent(cur) {
		return Change{}, nil
	}
	cached := false
	if !verify && cur.Digest != "" && cacheDir != "" {
		if sets, ok := readCache(cacheDir, cur.Digest); ok {
			cur.Sets, cached = sets, true
		}
	}
	if !cached {
		if err := cur.LoadElements(); err != nil {
			return Change{}, err
		}
	}
	var ch Change
	switch {
	case !cur.Exists:
		// Creation: first the table, sets and chains with the sets still
		// empty (nothing is filtered before or in between), then every
		// element in one netlink transaction.
		bare := &Ruleset{Scope: r.Scope, Action: r.Action, Window: r.Window, Sets: map[string][]Range{}}
		script, c1 := Plan(cur, bare)
		if err := RunNft(ctx, script); err != nil {
			return c1, err
		}
		fresh, err := ReadKernelMeta()
		if err != nil {
			return c1, err
		}
		ch, err = applyElements(fresh, r, want)
		ch.Created, ch.Rules = true, true
		if err != nil {
			return ch, err
		}
	case cur.RulesHash != r.RulesHash() || !allPresent(cur) || cur.Digest == "":
		// Rules change (scope, action): one nft transaction for all of it.
		var script string
		script, ch = Plan(cur, r)
		if err := RunNft(ctx, script); err != nil {
			return ch, err
		}
	default:
		if ch, err = applyElements(cur, r, want); err != nil {
			return ch, err
		}
	}
	if cacheDir != "" {
		if err := writeCache(cacheDir, want, r.Sets); err != nil {
			return ch, fmt.Errorf("applied, but the cache in %s could not be written (the next apply reads the kernel): %w", cacheDir, err)
		}
	}
	return ch, nil
}

func allPresent(cur *KernelState) bool {
	for _, s := range intervalSets {
		if !cur.Present[s.Name] {
			return false
		}
	}
	for _, s := range counterSets {
		if !cur.Present[s.Name] {
			return false
		}
	}
	return true
}
