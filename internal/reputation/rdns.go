package reputation

import (
	"context"
	"net/netip"

	"mailgate/internal/dns"
)

// RDNS is what the client's reverse DNS says.
type RDNS struct {
	PTR       []string // the PTR names; none: no PTR record
	Confirmed string   // the PTR name that resolves back to the address
	Generic   string   // why the name looks generic; "" when it does not
	Err       error    // a lookup failed temporarily: nothing is concluded
}

// lookupRDNS finds ip's PTR names and which of them forward-confirms.
// known is a name the session already confirmed ("" when none): it is not
// looked up again.
func lookupRDNS(ctx context.Context, r dns.Resolver, ip netip.Addr, known string) RDNS {
	if known != "" {
		rd := RDNS{PTR: []string{known}, Confirmed: known}
		rd.Generic, _ = GenericName(known, ip)
		return rd
	}
	names, confirmed, err := dns.ReverseName(ctx, r, ip)
	rd := RDNS{PTR: names, Confirmed: confirmed, Err: err}
	if len(names) == 0 {
		return rd
	}
	name := rd.Confirmed
	if name == "" {
		name = names[0]
	}
	rd.Generic, _ = GenericName(name, ip)
	return rd
}
