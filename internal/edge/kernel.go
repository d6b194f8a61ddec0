package edge

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
)

// KernelState is what table inet op25b holds now, read over netlink.
type KernelState struct {
	Exists    bool
	Sets      map[string][]Range // interval sets, as ranges (see LoadElements)
	Present   map[string]bool    // every set that exists
	RulesHash string             // from the forward rule's comment; "" if none
	// Digest is the marker the last apply left (chain "state"): the
	// digest of the whole ruleset it applied, elements included.
	Digest string

	conn  *nftables.Conn
	table *nftables.Table
	sets  []*nftables.Set
}

// ReadKernel reads table inet op25b in the current network namespace,
// set elements included.
func ReadKernel() (*KernelState, error) {
	st, err := ReadKernelMeta()
	if err != nil {
		return nil, err
	}
	return st, st.LoadElements()
}

// ReadKernelMeta reads the table's sets, rules hash and digest marker but
// not the elements: reading 100k interval elements back over netlink
// takes seconds, so apply trusts its cache when the marker matches.
func ReadKernelMeta() (*KernelState, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	st := &KernelState{Sets: map[string][]Range{}, Present: map[string]bool{}, conn: c}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, permHint(fmt.Errorf("list nftables tables: %w", err))
	}
	for _, x := range tables {
		if x.Name == Table {
			st.table = x
		}
	}
	if st.table == nil {
		return st, nil
	}
	st.Exists = true
	if st.sets, err = c.GetSets(st.table); err != nil {
		return nil, fmt.Errorf("list sets of %s: %w", Table, err)
	}
	for _, s := range st.sets {
		st.Present[s.Name] = true
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, err
	}
	for _, ch := range chains {
		if ch.Table.Name != Table || (ch.Name != "forward" && ch.Name != "state") {
			continue
		}
		rules, err := c.GetRules(st.table, ch)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			cm, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			switch {
			case ch.Name == "forward" && strings.HasPrefix(cm, "mailgate "):
				st.RulesHash = strings.TrimPrefix(cm, "mailgate ")
			case ch.Name == "state" && strings.HasPrefix(cm, "mailgate-state "):
				st.Digest = strings.TrimPrefix(cm, "mailgate-state ")
			}
		}
	}
	return st, nil
}

// LoadElements reads every interval set's elements, over one connection
// primed for large dump messages (see dumpConn).
func (st *KernelState) LoadElements() error {
	c, err := dumpConn()
	if err != nil {
		return permHint(fmt.Errorf("netlink: %w", err))
	}
	defer c.CloseLasting()
	for _, s := range st.sets {
		if !s.Interval {
			continue
		}
		els, err := c.GetSetElements(s)
		if err != nil {
			return fmt.Errorf("read set %s: %w", s.Name, err)
		}
		st.Sets[s.Name] = rangesFromElements(els)
	}
	return nil
}

func permHint(err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w (run as root or with CAP_NET_ADMIN)", err)
	}
	return err
}

// rangesFromElements rebuilds ranges from the kernel's interval
// boundaries: a start element, and an end element (flag INTERVAL_END) one
// past the range's last address; a range reaching the family's last
// address has no end element.
func rangesFromElements(els []nftables.SetElement) []Range {
	type bound struct {
		a   netip.Addr
		end bool
	}
	bs := make([]bound, 0, len(els))
	for _, e := range els {
		a, ok := netip.AddrFromSlice(e.Key)
		if !ok {
			continue
		}
		bs = append(bs, bound{a.Unmap(), e.IntervalEnd})
	}
	slices.SortFunc(bs, func(x, y bound) int {
		if c := x.a.Compare(y.a); c != 0 {
			return c
		}
		if x.end == y.end {
			return 0
		}
		if x.end {
			return -1
		}
		return 1
	})
	var out []Range
	var start netip.Addr
	open := false
	for _, b := range bs {
		switch {
		case !b.end && open:
			// no end in between: the previous range runs to b-1
			out = append(out, Range{start, b.a.Prev()})
			start = b.a
		case !b.end:
			start, open = b.a, true
		case open:
			out = append(out, Range{start, b.a.Prev()})
			open = false
		}
	}
	if open {
		// the family's last address: that of its /0
		out = append(out, Range{start, lastAddr(netip.PrefixFrom(start, 0))})
	}
	return out
}
