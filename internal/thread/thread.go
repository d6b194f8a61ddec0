// Package thread groups messages into conversations: the REFERENCES and
// ORDEREDSUBJECT algorithms of RFC 5256, for IMAP THREAD and the webmail's
// conversation view alike.
package thread

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Message is what threading reads of one message.
type Message struct {
	Num        uint32 // how the answer names it: sequence number or UID, > 0
	MessageID  string // the fields as they stand in the header
	InReplyTo  string
	References string
	Subject    string    // decoded (RFC 2047)
	Date       time.Time // sent date: Date, else the internal date (RFC 5256 §2.2)
}

// Node is one message of a thread and its replies, oldest first. Num 0 is
// a dummy: a message missing from the set that others answer.
type Node struct {
	Num      uint32
	Children []*Node
}

// Bounds against hostile headers: every message brings at most
// MaxReferences IDs (the last ones, which name the nearest ancestors),
// (10: a 100,000-message folder of hostile mail makes at most a million
// containers), and a link that would make a chain deeper than maxDepth is not made, so
// the loop check (RFC 5256 §3 step 1A) costs at most maxDepth steps.
const (
	MaxReferences = 10
	maxIDLen      = 250
	maxDepth      = 1000
)

// MessageIDs returns the msg-ids of a References or In-Reply-To field in
// order, the last max of them: the text between each "<" and ">", with
// white space dropped. Anything else (comments, phrases) is skipped.
func MessageIDs(v string, max int) []string {
	var ids []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		v = v[i+1:]
		j := strings.IndexAny(v, "<>")
		if j < 0 {
			break
		}
		if v[j] == '<' {
			v = v[j:]
			continue
		}
		id := strings.Join(strings.Fields(v[:j]), "")
		v = v[j+1:]
		if id == "" || len(id) > maxIDLen {
			continue
		}
		ids = append(ids, id)
		if len(ids) > 2*max {
			ids = append(ids[:0], ids[len(ids)-max:]...)
		}
	}
	if len(ids) > max {
		ids = ids[len(ids)-max:]
	}
	return ids
}

type container struct {
	msg      *Message
	parent   *container
	children []*container
}

// isAncestorOf reports whether c is d or above it, and d's depth; the
// walk stops at maxDepth, where a link is refused anyway.
func (c *container) isAncestorOf(d *container) (bool, int) {
	depth := 0
	for p := d; p != nil && depth < maxDepth; p = p.parent {
		if p == c {
			return true, depth
		}
		depth++
	}
	return false, depth
}

// setParent links c under p unless that makes a loop or too deep a chain.
func (c *container) setParent(p *container) {
	if p == c {
		return
	}
	if loop, depth := c.isAncestorOf(p); loop || depth >= maxDepth {
		return
	}
	c.unlink()
	c.parent = p
	p.children = append(p.children, c)
}

func (c *container) unlink() {
	if c.parent == nil {
		return
	}
	sib := c.parent.children
	for i, s := range sib {
		if s == c {
			c.parent.children = append(sib[:i:i], sib[i+1:]...)
			break
		}
	}
	c.parent = nil
}

// References threads msgs by the REFERENCES algorithm (RFC 5256 §3).
func References(msgs []Message) []*Node {
	// Step 1: a container per Message-ID, linked by References.
	byID := map[string]*container{}
	get := func(id string) *container {
		c := byID[id]
		if c == nil {
			c = &container{}
			byID[id] = c
		}
		return c
	}
	all := make([]*container, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		var c *container
		// A missing or duplicate Message-ID makes a message of its own
		// (§3 step 1: "treated as if it had a unique Message ID").
		if ids := MessageIDs(m.MessageID, 1); len(ids) == 1 && (byID[ids[0]] == nil || byID[ids[0]].msg == nil) {
			c = get(ids[0])
		} else {
			c = &container{}
		}
		c.msg = m
		all = append(all, c)
		refs := MessageIDs(m.References, MaxReferences)
		if len(refs) == 0 {
			// No References: In-Reply-To's first msg-id (§3 step 1A).
			if irt := MessageIDs(m.InReplyTo, MaxReferences); len(irt) > 0 {
				refs = irt[:1]
			}
		}
		// Step 1A: each reference the parent of the next, unless it
		// already has a parent or that would make a loop.
		var prev *container
		for _, id := range refs {
			r := get(id)
			if prev != nil && r.parent == nil {
				r.setParent(prev)
			}
			prev = r
		}
		// Step 1B: the last reference is this message's parent,
		// replacing any parent it had.
		if prev != nil && prev != c {
			c.setParent(prev)
		} else if prev == nil {
			c.unlink()
		}
	}
	// Step 2: the roots. Map order would make the answer vary between
	// runs, so they are gathered from the messages, up to their tops.
	var roots []*container
	seen := map[*container]bool{}
	for _, c := range all {
		top := c
		for top.parent != nil {
			top = top.parent
		}
		if !seen[top] {
			seen[top] = true
			roots = append(roots, top)
		}
	}
	// Step 4: dummies go; their children move up.
	root := &container{children: roots}
	for _, r := range roots {
		r.parent = root
	}
	prune(root, true)
	// Still step 4: the top level by sent date, a dummy by its first
	// child, so the subject table below takes the oldest of a subject.
	for _, r := range root.children {
		if r.msg == nil {
			sortSiblings(r.children)
		}
	}
	sortSiblings(root.children)
	// Step 5: roots with the same base subject are merged.
	mergeSubjects(root)
	// Step 6: siblings by sent date, then sequence.
	sortTree(root)
	return nodes(root.children)
}

// prune removes dummies (RFC 5256 §3 step 4): without children they go;
// with children they give way to them, except at the top where only a
// single child is promoted (several stay a thread under the dummy).
func prune(c *container, isRoot bool) {
	var kept []*container
	for _, ch := range c.children {
		prune(ch, false)
		if ch.msg == nil && (!isRoot || len(ch.children) <= 1) {
			for _, g := range ch.children {
				g.parent = c
				kept = append(kept, g)
			}
			continue
		}
		kept = append(kept, ch)
	}
	c.children = kept
}

// subjectOf is a root's subject: its message's, a dummy's first child's.
func subjectOf(c *container) (string, bool) {
	if c.msg == nil {
		if len(c.children) == 0 {
			return "", false
		}
		c = c.children[0]
	}
	return BaseSubject(c.msg.Subject)
}

// mergeSubjects is RFC 5256 §3 step 5.
func mergeSubjects(root *container) {
	// 5A-C: one root per base subject: a dummy over a message, a
	// message that is not a reply over one that is.
	table := map[string]*container{}
	for _, c := range root.children {
		s, _ := subjectOf(c)
		if s == "" {
			continue
		}
		old := table[s]
		if old == nil || (c.msg == nil && old.msg != nil) {
			table[s] = c
			continue
		}
		if old.msg != nil && c.msg != nil {
			_, oldReply := BaseSubject(old.msg.Subject)
			_, reply := BaseSubject(c.msg.Subject)
			if oldReply && !reply {
				table[s] = c
			}
		}
	}
	// 5D-E: every other root with that subject joins it.
	var kept []*container
	for _, c := range append([]*container(nil), root.children...) {
		s, _ := subjectOf(c)
		t := table[s]
		if s == "" || t == nil || t == c {
			if c.parent == root {
				kept = append(kept, c)
			}
			continue
		}
		cReply := false
		if c.msg != nil {
			_, cReply = BaseSubject(c.msg.Subject)
		}
		tReply := false
		if t.msg != nil {
			_, tReply = BaseSubject(t.msg.Subject)
		}
		switch {
		case t.msg == nil && c.msg == nil:
			// Both dummies: this one's children join the other.
			for _, ch := range c.children {
				ch.parent = t
			}
			t.children = append(t.children, c.children...)
			c.children = nil
			c.parent = nil
		case t.msg == nil:
			c.parent = t
			t.children = append(t.children, c)
		case c.msg == nil:
			// The dummy takes the table's message: it takes its place.
			t.parent = c
			c.children = append(c.children, t)
			table[s] = c
			kept = replace(root, kept, t, c)
		case !tReply && cReply:
			c.parent = t
			t.children = append(t.children, c)
		default:
			// Neither answers the other: both go under a new dummy in
			// the table message's place.
			d := &container{parent: root, children: []*container{t, c}}
			t.parent, c.parent = d, d
			table[s] = d
			kept = replace(root, kept, t, d)
		}
	}
	root.children = kept
}

// replace puts n where o is in the roots l, or appends n if o is not in
// l (yet).
func replace(root *container, l []*container, o, n *container) []*container {
	n.parent = root
	for i, c := range l {
		if c == o {
			l[i] = n
			return l
		}
	}
	return append(l, n)
}

// sortTree sorts every set of siblings under c by sent date (RFC 5256
// §3 step 6), children first.
func sortTree(c *container) {
	for _, ch := range c.children {
		sortTree(ch)
	}
	sortSiblings(c.children)
}

// sortSiblings orders containers by sent date, then number (RFC 5256
// §2.2); a dummy sorts as its first child.
func sortSiblings(cs []*container) {
	key := func(c *container) *Message {
		for c.msg == nil && len(c.children) > 0 {
			c = c.children[0]
		}
		return c.msg
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := key(cs[i]), key(cs[j])
		if a == nil || b == nil {
			return b != nil
		}
		if !a.Date.Equal(b.Date) {
			return a.Date.Before(b.Date)
		}
		return a.Num < b.Num
	})
}

func nodes(cs []*container) []*Node {
	out := make([]*Node, 0, len(cs))
	for _, c := range cs {
		n := &Node{Children: nodes(c.children)}
		if c.msg != nil {
			n.Num = c.msg.Num
		}
		out = append(out, n)
	}
	return out
}

// OrderedSubject threads msgs by ORDEREDSUBJECT (RFC 5256 §3): by base
// subject then sent date; each group's first message is the parent of
// the others; threads in the order of their first messages' dates.
func OrderedSubject(msgs []Message) []*Node {
	type keyed struct {
		base string
		m    *Message
	}
	ks := make([]keyed, len(msgs))
	for i := range msgs {
		b, _ := BaseSubject(msgs[i].Subject)
		ks[i] = keyed{b, &msgs[i]}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		a, b := ks[i], ks[j]
		if a.base != b.base {
			return a.base < b.base
		}
		if !a.m.Date.Equal(b.m.Date) {
			return a.m.Date.Before(b.m.Date)
		}
		return a.m.Num < b.m.Num
	})
	var threads []*Node
	var dates []*Message
	for i, k := range ks {
		if i > 0 && k.base == ks[i-1].base {
			p := threads[len(threads)-1]
			p.Children = append(p.Children, &Node{Num: k.m.Num, Children: []*Node{}})
			continue
		}
		threads = append(threads, &Node{Num: k.m.Num, Children: []*Node{}})
		dates = append(dates, k.m)
	}
	idx := make([]int, len(threads))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		a, b := dates[idx[i]], dates[idx[j]]
		if !a.Date.Equal(b.Date) {
			return a.Date.Before(b.Date)
		}
		return a.Num < b.Num
	})
	out := make([]*Node, len(threads))
	for i, k := range idx {
		out[i] = threads[k]
	}
	return out
}

// Format writes threads as IMAP's thread-list (RFC 5256 §4): "(3 6 (4
// 23)(44 7 96))" — a message followed by its only reply continues the
// list, several replies each get a nested list, a dummy shows nothing.
func Format(threads []*Node) string {
	var b strings.Builder
	for _, t := range threads {
		b.WriteByte('(')
		members(&b, t, false)
		b.WriteByte(')')
	}
	return b.String()
}

func members(b *strings.Builder, n *Node, needSP bool) {
	if n.Num != 0 {
		if needSP {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(uint64(n.Num), 10))
		needSP = true
	}
	switch {
	case len(n.Children) == 1:
		members(b, n.Children[0], needSP)
	case len(n.Children) > 1:
		if needSP {
			b.WriteByte(' ')
		}
		for _, c := range n.Children {
			b.WriteByte('(')
			members(b, c, false)
			b.WriteByte(')')
		}
	}
}
