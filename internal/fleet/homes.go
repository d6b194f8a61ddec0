package fleet

import (
	"context"
	"errors"
	"fmt"

	"mailgate/internal/store"
)

// Homes answers "where does this mailbox live" for a node of the fleet.
type Homes struct {
	Store *store.Store
	Self  string // this node's name
}

// Away returns the home node of account when it is another node, "" when
// the mailbox is here; store.ErrMoving while it moves between nodes. An account without a home (made before the fleet)
// is claimed by this node: the first node to deliver to it becomes its
// home, atomically, so every node agrees.
func (h *Homes) Away(ctx context.Context, account string) (string, error) {
	node, movingTo, err := h.Store.HomeState(ctx, account)
	if errors.Is(err, store.ErrNotFound) {
		node, err = h.Store.ClaimHome(ctx, account, h.Self)
	}
	if err != nil {
		return "", err
	}
	if movingTo != "" {
		// Neither home may touch it until the copy is done: mail and
		// logins wait, and then find the new home.
		return "", fmt.Errorf("%s: %w from %s to %s", account, store.ErrMoving, node, movingTo)
	}
	if node == h.Self {
		return "", nil
	}
	return node, nil
}
