package fleet

import (
	"context"
	"errors"

	"mailgate/internal/store"
)

// Homes answers "where does this mailbox live" for a node of the fleet.
type Homes struct {
	Store *store.Store
	Self  string // this node's name
}

// Away returns the home node of account when it is another node, "" when
// the mailbox is here. An account without a home (made before the fleet)
// is claimed by this node: the first node to deliver to it becomes its
// home, atomically, so every node agrees.
func (h *Homes) Away(ctx context.Context, account string) (string, error) {
	node, err := h.Store.Home(ctx, account)
	if errors.Is(err, store.ErrNotFound) {
		node, err = h.Store.ClaimHome(ctx, account, h.Self)
	}
	if err != nil {
		return "", err
	}
	if node == h.Self {
		return "", nil
	}
	return node, nil
}
