package delivery

import (
	"context"
	"errors"
	"strings"

	"mailgate/internal/address"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// Homes routes local recipients in a fleet (internal/fleet): each mailbox
// has one home node, and only that node writes its Maildir. nil on a
// single node.
type Homes interface {
	// Away returns account's home node when it is another node, "" when
	// the mailbox is on this one.
	Away(ctx context.Context, account string) (string, error)
	// Handoff hands m over to node for rcpts, all homed there.
	Handoff(ctx context.Context, node string, m *spool.Message, rcpts []string) map[string]Outcome
}

// OriginFleet starts the spool Origin of mail another node of the fleet
// handed in ("fleet:<node>").
const OriginFleet = "fleet:"

// handedIn reports mail handed in by another node. It is never fresh: the
// sender may repeat a hand-off whose 250 it did not see (it crashed), and
// then delivery must look for the copy already in the Maildir.
func handedIn(env *spool.Envelope) bool { return strings.HasPrefix(env.Origin, OriginFleet) }

// homedElsewhere reports whether a local recipient's mailbox, acct's,
// lives on another node (deliverHome hands it over) or its home cannot be
// looked up now (it stays pending, with the reason): either way not ours
// to deliver.
func (l *Local) homedElsewhere(ctx context.Context, r *spool.RcptState, acct string) bool {
	if l.Homes == nil {
		return false
	}
	node, err := l.Homes.Away(ctx, acct)
	if errors.Is(err, store.ErrMoving) {
		r.Error = "451 4.2.0 mailbox being moved to another node; it follows when the move is done"
		return true
	}
	if err != nil {
		r.Error = "451 4.3.0 home node lookup failed: " + err.Error()
		return true
	}
	return node != ""
}

// deliverHome hands every pending local recipient homed on another node to
// that node, one LMTP transaction per node. Failures leave them pending
// with the reason, retried on the remote-delivery schedule.
func (a *Agent) deliverHome(ctx context.Context, m *spool.Message, st *spool.State) {
	if a.Local.Homes == nil {
		return
	}
	byNode := map[string][]string{}
	var order []string
	for _, r := range st.Rcpts {
		if r.Status != spool.Pending {
			continue
		}
		if ours, err := a.Local.Dir.HasDomain(ctx, address.Domain(r.Addr)); err != nil || !ours {
			continue
		}
		acct, err := a.Local.Dir.Resolve(ctx, r.Addr)
		if err != nil {
			continue
		}
		node, err := a.Local.Homes.Away(ctx, acct)
		if err != nil || node == "" {
			continue
		}
		if byNode[node] == nil {
			order = append(order, node)
		}
		byNode[node] = append(byNode[node], r.Addr)
	}
	for _, node := range order {
		for rc, o := range a.Local.Homes.Handoff(ctx, node, m, byNode[node]) {
			for i := range st.Rcpts {
				if st.Rcpts[i].Addr == rc {
					st.Rcpts[i].Status, st.Rcpts[i].Error, st.Rcpts[i].Remote = o.Status, o.Text, o.Remote
				}
			}
		}
	}
}
