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

// KernelState is what table inet op25b holds now, read over netlink
// (fast even for 100k-element sets, unlike parsing `nft -j`).
type KernelState struct {
	Exists    bool
	Sets      map[string][]Range // interval sets, as ranges
	Present   map[string]bool    // every set that exists
	RulesHash string             // from the forward rule's comment; "" if none
}

// ReadKernel reads table inet op25b in the current network namespace.
func ReadKernel() (*KernelState, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	st := &KernelState{Sets: map[string][]Range{}, Present: map[string]bool{}}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, permHint(fmt.Errorf("list nftables tables: %w", err))
	}
	var t *nftables.Table
	for _, x := range tables {
		if x.Name == Table {
			t = x
		}
	}
	if t == nil {
		return st, nil
	}
	st.Exists = true
	sets, err := c.GetSets(t)
	if err != nil {
		return nil, fmt.Errorf("list sets of %s: %w", Table, err)
	}
	for _, s := range sets {
		st.Present[s.Name] = true
		if !s.Interval {
			continue
		}
		els, err := c.GetSetElements(s)
		if err != nil {
			return nil, fmt.Errorf("read set %s: %w", s.Name, err)
		}
		st.Sets[s.Name] = rangesFromElements(els)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, err
	}
	for _, ch := range chains {
		if ch.Table.Name != Table || ch.Name != "forward" {
			continue
		}
		rules, err := c.GetRules(t, ch)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			if cm, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok && strings.HasPrefix(cm, "mailgate ") {
				st.RulesHash = strings.TrimPrefix(cm, "mailgate ")
			}
		}
	}
	return st, nil
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
		last := netip.IPv6Unspecified()
		if start.Is4() {
			last = netip.AddrFrom4([4]byte{255, 255, 255, 255})
		} else {
			last = netip.AddrFrom16([16]byte{255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255})
		}
		out = append(out, Range{start, last})
	}
	return out
}
