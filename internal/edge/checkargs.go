package edge

import (
	"fmt"
	"net/netip"
	"strconv"
)

// ParseCheck reads the arguments of one "would this be blocked" question
// (`edge check SRC DST [PORT]`, the API's edge check): two addresses of
// one family, a port (default 25). The errors say what to give instead.
func ParseCheck(srcText, dstText, portText string) (src, dst netip.Addr, port uint16, err error) {
	if src, err = netip.ParseAddr(srcText); err != nil {
		return src, dst, 0, fmt.Errorf("SRC %q: not an IP address", srcText)
	}
	if dst, err = netip.ParseAddr(dstText); err != nil {
		return src, dst, 0, fmt.Errorf("DST %q: not an IP address", dstText)
	}
	if src.Unmap().Is4() != dst.Unmap().Is4() {
		return src, dst, 0, fmt.Errorf("SRC %s and DST %s are of different families: no TCP connection joins them", src, dst)
	}
	port = SMTPPort
	if portText != "" {
		p, err := strconv.ParseUint(portText, 10, 16)
		if err != nil || p == 0 {
			return src, dst, 0, fmt.Errorf("PORT %q: want 1-65535", portText)
		}
		port = uint16(p)
	}
	return src, dst, port, nil
}
