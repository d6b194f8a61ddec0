// Package radius is an accounting server (RFC 2866) for the BNG: it
// records which subscriber held which address when, so a blocked port-25
// attempt or an abusive connection names the line behind it.
package radius

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc3162"
	"layeh.com/radius/rfc4818"

	"mailgate/internal/store"
)

// Sessions is where accounting goes (store.Store).
type Sessions interface {
	RecordSessionStart(ctx context.Context, ss store.SubscriberSession) error
	RecordSessionStop(ctx context.Context, ss store.SubscriberSession) error
	CloseNASSessions(ctx context.Context, nas string, at time.Time) (int64, error)
}

// Accounting serves Accounting-Requests from NASes that share Secret.
type Accounting struct {
	Sessions Sessions
	Secret   []byte
	Log      *slog.Logger
	// Now is the clock (tests replace it).
	Now func() time.Time

	srv *radius.PacketServer
}

// Serve answers on conn until Shutdown. Requests whose authenticator does
// not verify with the secret are dropped unanswered (RFC 2866 §3: the
// Request Authenticator), as the library does before our handler runs.
func (a *Accounting) Serve(conn net.PacketConn) error {
	a.srv = &radius.PacketServer{
		Handler:      radius.HandlerFunc(a.serve),
		SecretSource: radius.StaticSecretSource(a.Secret),
		ErrorLog:     slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	err := a.srv.Serve(conn)
	if err == radius.ErrServerShutdown {
		return nil
	}
	return err
}

// Shutdown stops serving once the requests being recorded are done.
func (a *Accounting) Shutdown(ctx context.Context) {
	if a.srv != nil {
		a.srv.Shutdown(ctx)
	}
}

func (a *Accounting) serve(w radius.ResponseWriter, r *radius.Request) {
	if r.Code != radius.CodeAccountingRequest {
		a.Log.Warn("radius: not an Accounting-Request, ignored", "code", r.Code, "nas", r.RemoteAddr)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.record(ctx, r); err != nil {
		// RFC 2866 §2: no Accounting-Response unless the record is
		// stored; the NAS retransmits.
		a.Log.Error("radius: accounting not recorded", "nas", r.RemoteAddr, "err", err)
		return
	}
	w.Write(r.Response(radius.CodeAccountingResponse))
}

// record stores one request by its Acct-Status-Type.
func (a *Accounting) record(ctx context.Context, r *radius.Request) error {
	p := r.Packet
	now := a.now()
	nas := nasName(p, r.RemoteAddr)
	status := rfc2866.AcctStatusType_Get(p)
	switch status {
	case rfc2866.AcctStatusType_Value_AccountingOn, rfc2866.AcctStatusType_Value_AccountingOff:
		n, err := a.Sessions.CloseNASSessions(ctx, nas, now)
		if err == nil {
			a.Log.Info("radius: NAS sessions closed", "nas", nas, "status", status.String(), "sessions", n)
		}
		return err
	case rfc2866.AcctStatusType_Value_Start, rfc2866.AcctStatusType_Value_InterimUpdate, rfc2866.AcctStatusType_Value_Stop:
	default:
		a.Log.Info("radius: status type not recorded", "nas", nas, "status", status.String())
		return nil // acknowledged: there is nothing of ours to keep
	}
	// RFC 2866 §5.2: Acct-Delay-Time is how long the NAS has been trying
	// to send this record, so the event happened that much earlier.
	at := now.Add(-time.Duration(rfc2866.AcctDelayTime_Get(p)) * time.Second)
	ss := store.SubscriberSession{
		NAS:       nas,
		SessionID: rfc2866.AcctSessionID_GetString(p),
		Username:  rfc2865.UserName_GetString(p),
		Class:     string(rfc2865.Class_Get(p)),
		Start:     at,
		Updated:   at,
	}
	if ip, ok := netip.AddrFromSlice(rfc2865.FramedIPAddress_Get(p)); ok {
		ss.IPv4 = ip.Unmap()
	}
	ss.IPv6 = prefixOf(rfc3162.FramedIPv6Prefix_Get(p))
	ss.Delegated = prefixOf(rfc4818.DelegatedIPv6Prefix_Get(p))
	// A session seen first in an update or a Stop started Acct-Session-Time
	// seconds before it (RFC 2866 §5.7).
	if status != rfc2866.AcctStatusType_Value_Start {
		ss.Start = at.Add(-time.Duration(rfc2866.AcctSessionTime_Get(p)) * time.Second)
	}
	if status == rfc2866.AcctStatusType_Value_Stop {
		ss.Stop = at
		return a.Sessions.RecordSessionStop(ctx, ss)
	}
	return a.Sessions.RecordSessionStart(ctx, ss)
}

// nasName names the NAS: NAS-Identifier, else NAS-IP-Address, else the
// address the request came from (RFC 2865 §5.4, §5.32).
func nasName(p *radius.Packet, from net.Addr) string {
	if id := rfc2865.NASIdentifier_GetString(p); id != "" {
		return id
	}
	if ip := rfc2865.NASIPAddress_Get(p); ip != nil {
		return ip.String()
	}
	if ua, ok := from.(*net.UDPAddr); ok {
		return ua.IP.String()
	}
	return from.String()
}

func prefixOf(n *net.IPNet) netip.Prefix {
	if n == nil {
		return netip.Prefix{}
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), bits).Masked()
}

func (a *Accounting) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
