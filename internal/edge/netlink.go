package edge

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// applyElements changes set elements and the digest marker in one netlink
// batch, which the kernel commits as one transaction. This is the path for
// pool changes: `nft -f` would first read every element of a 100k set
// back into its cache, which takes longer than the change itself.
func applyElements(cur *KernelState, r *Ruleset, digest string) (Change, error) {
	var ch Change
	type op struct {
		set      *nftables.Set
		add, del []Range
	}
	var ops []op
	size := 0
	t := &nftables.Table{Name: Table, Family: nftables.TableFamilyINet}
	for _, s := range intervalSets {
		add, del := diffRanges(cur.Sets[s.Name], r.Sets[s.Name])
		if len(add)+len(del) == 0 {
			continue
		}
		kt := nftables.TypeIPAddr
		if s.Type == "ipv6_addr" {
			kt = nftables.TypeIP6Addr
		}
		ops = append(ops, op{&nftables.Set{Table: t, Name: s.Name, KeyType: kt, Interval: true}, add, del})
		ch.Added += len(add)
		ch.Removed += len(del)
		size += (len(add) + len(del)) * 2 * 48
	}
	// The whole batch is one sendmsg: the socket buffers must hold it
	// (nft does the same with SO_SNDBUFFORCE).
	buf := max(size*2, 1<<20)
	c, err := nftables.New(nftables.WithSockOptions(func(nc *netlink.Conn) error {
		raw, err := nc.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		cerr := raw.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, buf); serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, buf)
			}
		})
		if cerr != nil {
			return cerr
		}
		return serr
	}))
	if err != nil {
		return ch, permHint(fmt.Errorf("netlink: %w", err))
	}
	const per = 1024 // elements per message: a nested attribute holds < 64 KiB
	for _, o := range ops {
		// Deletions first, so a range that grew replaces its old self.
		for _, part := range chunks(boundaries(o.del), per) {
			if err := c.SetDeleteElements(o.set, part); err != nil {
				return ch, err
			}
		}
		for _, part := range chunks(boundaries(o.add), per) {
			if err := c.SetAddElements(o.set, part); err != nil {
				return ch, err
			}
		}
	}
	state := &nftables.Chain{Table: t, Name: "state"}
	c.FlushChain(state)
	c.AddRule(&nftables.Rule{
		Table: t, Chain: state,
		Exprs:    []expr.Any{&expr.Counter{}},
		UserData: userdata.AppendString(nil, userdata.TypeComment, "mailgate-state "+digest),
	})
	ch.Marker = cur.Digest != digest
	if err := c.Flush(); err != nil {
		return ch, permHint(fmt.Errorf("nftables transaction (%d elements added, %d removed): %w", ch.Added, ch.Removed, err))
	}
	return ch, nil
}

// boundaries encodes ranges the way the kernel stores interval sets: a
// start element, and an end element (INTERVAL_END) one past the last
// address, left out when the range reaches the family's last address.
func boundaries(rs []Range) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, 2*len(rs))
	for _, r := range rs {
		out = append(out, nftables.SetElement{Key: r.From.AsSlice()})
		if next := r.To.Next(); next.IsValid() {
			out = append(out, nftables.SetElement{Key: next.AsSlice(), IntervalEnd: true})
		}
	}
	return out
}

func chunks(els []nftables.SetElement, n int) [][]nftables.SetElement {
	var out [][]nftables.SetElement
	for len(els) > 0 {
		k := min(n, len(els))
		out = append(out, els[:k])
		els = els[k:]
	}
	return out
}
