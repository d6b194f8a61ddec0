package reputation

import (
	"context"
	"fmt"
	"net/netip"

	"mailgate/internal/verdict"
)

// CheckConnect runs the checks that need nothing but the client's address,
// for the MX to answer before its greeting (RFC 5321 §3.1): the DNS lists
// (listings, and PBL-style dynamic answers) and other ISPs' imported
// dynamic ranges. ctx bounds it all (the MX's connect_wait); a list that
// has not answered by then does not list the client.
//
// An address in one of our own dynamic pools is not judged here: whether
// it is refused depends on whether the subscriber authenticates, which the
// session decides later (ownPoolFinding).
func (c *Checker) CheckConnect(ctx context.Context, ip netip.Addr) *Report {
	ip = ip.Unmap()
	rep := &Report{IP: ip}
	var ranges *Ranges
	if c.spaces != nil {
		r, policy := c.readSpaces(ctx)
		if policy != nil {
			if pool, prefix, ok := policy.Listed(ip); ok {
				rep.add(Finding{Check: "own pools", Result: fmt.Sprintf("our dynamic pool %s (%s): judged after EHLO", pool, prefix)})
				return rep
			}
		}
		ranges = r
	}
	var dynamic []string
	if len(c.lists) > 0 {
		for _, a := range lookupAll(ctx, c.lists, ip, c.cfg.DNSBLTimeout) {
			rep.add(c.listFinding(ip, a))
			if a.Dynamic {
				dynamic = append(dynamic, "listed by "+a.List.Zone)
			}
		}
	}
	if c.spaces != nil {
		dynamic = importedFinding(rep, ranges, dynamic)
	}
	c.dynamicFinding(rep, "", dynamic)
	return rep
}

// ConnectStage refuses, before the greeting, the clients CheckConnect
// refuses (verdict.ConnectStage).
type ConnectStage struct{ C *Checker }

func (ConnectStage) Name() string { return "reputation" }

func (s ConnectStage) CheckConnect(ctx context.Context, ip netip.Addr) *verdict.Reply {
	return s.C.CheckConnect(ctx, ip).Refusal
}
