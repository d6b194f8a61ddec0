package web

import (
	"context"
	"net/netip"
	"time"
)

// The probe's rate limits are counted in the store, so a fleet enforces
// them once: an attacker spreading probes over the nodes behind one name
// gets no more than from one node. Two fixed hourly windows: one per
// client network (an IPv4 /24, an IPv6 /64: what one subscriber line or
// one small rented block holds, RFC 6177), and one for all visitors,
// which bounds what the fleet as a whole can be made to probe.

// probeWindow is the length of both windows.
const probeWindow = time.Hour

// probeNetwork is the client network a probe is counted against.
func probeNetwork(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 24
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// probeLimit counts one probe by a and returns the refusal if a limit
// is reached: the client network's (probe.r.rate) or everybody's
// (probe.r.busy). A store that cannot count refuses: an unlimited probe
// is the thing to avoid.
func (s *Server) probeLimit(ctx context.Context, a netip.Addr) refusal {
	ok, err := s.st.TakeRate(ctx, "probe:"+probeNetwork(a).String(), probeWindow, s.cfg.Web.ProbePerHour)
	if err == nil && !ok {
		return "probe.r.rate"
	}
	if err == nil {
		ok, err = s.st.TakeRate(ctx, "probe:*", probeWindow, s.cfg.Web.ProbeFleetPerHour)
	}
	if err != nil {
		s.log.Warn("web probe: rate counter failed, probe refused", "err", err)
		return "probe.r.busy"
	}
	if !ok {
		return "probe.r.busy"
	}
	return ""
}

func init() {
	catalog["probe.r.busy"] = [2]string{"現在、調査が混み合っています。しばらくしてからお試しください", "the test is busy; try again later"}
}
