package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailgate/internal/address"
)

// A fleet is several nodes on one PostgreSQL database. Each node registers
// itself here (name, internal address, heartbeat), and every mailbox has
// one home node: the only node that touches its Maildir. The others hand
// mail for it over and proxy its readers there (internal/fleet).
//
// On SQLite (one node) these tables stay empty: nothing registers and no
// home is looked up.

func init() {
	register(migration{Version: 700, Name: "fleet nodes and mailbox homes", SQL: `
CREATE TABLE fleet_nodes (
	name TEXT PRIMARY KEY,
	address TEXT NOT NULL,
	started_at BIGINT NOT NULL,
	heartbeat_at BIGINT NOT NULL
);
CREATE TABLE mailbox_homes (
	account TEXT PRIMARY KEY REFERENCES accounts(address) ON DELETE CASCADE,
	node TEXT NOT NULL,
	assigned_at BIGINT NOT NULL
);
CREATE INDEX mailbox_homes_node ON mailbox_homes(node)`})
}

// HomeLeastLoaded is the home assignment that picks the live node holding
// the fewest mailboxes.
const HomeLeastLoaded = "least-loaded"

// FleetNode is one registered node.
type FleetNode struct {
	Name      string
	Address   string // internal listener other nodes dial (LMTP, proxy)
	Started   time.Time
	Heartbeat time.Time
	Mailboxes int // accounts homed on it
}

// RegisterNode records (or refreshes) this node at start-up.
func (s *Store) RegisterNode(ctx context.Context, name, addr string) error {
	if err := checkNodeName(name); err != nil {
		return err
	}
	now := s.now().Unix()
	_, err := s.exec(ctx, `INSERT INTO fleet_nodes (name, address, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET address = excluded.address, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
		name, addr, now, now)
	return err
}

// Heartbeat says the node is alive now.
func (s *Store) Heartbeat(ctx context.Context, name string) error {
	res, err := s.exec(ctx, `UPDATE fleet_nodes SET heartbeat_at = ? WHERE name = ?`, s.now().Unix(), name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("fleet node %s: %w (removed while running?)", name, ErrNotFound)
	}
	return nil
}

// Nodes lists the registered nodes by name, with their mailbox counts.
func (s *Store) Nodes(ctx context.Context) ([]FleetNode, error) {
	rows, err := s.query(ctx, `SELECT n.name, n.address, n.started_at, n.heartbeat_at, (SELECT COUNT(*) FROM mailbox_homes h WHERE h.node = n.name) FROM fleet_nodes n ORDER BY n.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FleetNode
	for rows.Next() {
		var n FleetNode
		var started, beat int64
		if err := rows.Scan(&n.Name, &n.Address, &started, &beat, &n.Mailboxes); err != nil {
			return nil, err
		}
		n.Started, n.Heartbeat = time.Unix(started, 0), time.Unix(beat, 0)
		out = append(out, n)
	}
	return out, rows.Err()
}

// Node returns one registered node.
func (s *Store) Node(ctx context.Context, name string) (*FleetNode, error) {
	var n FleetNode
	var started, beat int64
	err := s.queryRow(ctx, `SELECT name, address, started_at, heartbeat_at FROM fleet_nodes WHERE name = ?`, name).
		Scan(&n.Name, &n.Address, &started, &beat)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("fleet node %s: %w; `mailgate node list` shows the registered nodes", name, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	n.Started, n.Heartbeat = time.Unix(started, 0), time.Unix(beat, 0)
	return &n, nil
}

// Home returns the node holding account's mailbox, ErrNotFound when it has
// none yet (an account made before the fleet: see ClaimHome).
func (s *Store) Home(ctx context.Context, account string) (string, error) {
	var node string
	err := s.queryRow(ctx, `SELECT node FROM mailbox_homes WHERE account = ?`, account).Scan(&node)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("home of %s: %w", account, ErrNotFound)
	}
	return node, err
}

// Homes maps every homed account to its node (for `user list`).
func (s *Store) Homes(ctx context.Context) (map[string]string, error) {
	rows, err := s.query(ctx, `SELECT account, node FROM mailbox_homes`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var a, n string
		if err := rows.Scan(&a, &n); err != nil {
			return nil, err
		}
		out[a] = n
	}
	return out, rows.Err()
}

// ClaimHome makes node the home of an account that has none, and returns
// the account's home: node, or the one another node claimed first. The
// insert is atomic, so two nodes delivering at once agree on one home.
// Accounts made before the fleet existed get a home this way, from the
// first node that delivers to them; when their Maildir is elsewhere, pin
// them with `mailgate user home` before enabling the fleet.
func (s *Store) ClaimHome(ctx context.Context, account, node string) (string, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO mailbox_homes (account, node, assigned_at)
SELECT address, ?, ? FROM accounts WHERE address = ? ON CONFLICT (account) DO NOTHING`), node, s.now().Unix(), account)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return s.auditTx(ctx, tx, "node:"+node, "user.home", account, node+" (claimed on first delivery)")
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return s.Home(ctx, account)
}

// SetHome records node as account's home, without moving any mail: for
// accounts whose Maildir is already there. The node must be registered.
func (s *Store) SetHome(ctx context.Context, actor, account, node string) error {
	norm, err := address.Normalize(account)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkHomeTx(ctx, tx, norm, node); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO mailbox_homes (account, node, assigned_at) VALUES (?, ?, ?)
ON CONFLICT (account) DO UPDATE SET node = excluded.node, assigned_at = excluded.assigned_at`), norm, node, s.now().Unix()); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "user.home", norm, node)
	})
}

// PickHome resolves a home policy to a node: HomeLeastLoaded (the node
// with the fewest mailboxes among those whose heartbeat is younger than
// live, other than except) or a registered node's name.
func (s *Store) PickHome(ctx context.Context, policy string, live time.Duration, except string) (string, error) {
	return s.pickHome(ctx, s.db, policy, live, except)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) pickHome(ctx context.Context, q queryRower, policy string, live time.Duration, except string) (string, error) {
	if policy != HomeLeastLoaded {
		var n int
		if err := q.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM fleet_nodes WHERE name = ?`), policy).Scan(&n); err != nil {
			return "", err
		}
		if n == 0 {
			return "", fmt.Errorf("fleet node %q: %w; a node registers when `mailgate serve` starts with [fleet] set (see `mailgate node list`)", policy, ErrNotFound)
		}
		return policy, nil
	}
	var node string
	err := q.QueryRowContext(ctx, s.q(`SELECT n.name FROM fleet_nodes n WHERE n.heartbeat_at >= ? AND n.name <> ?
ORDER BY (SELECT COUNT(*) FROM mailbox_homes h WHERE h.node = n.name), n.name LIMIT 1`), s.now().Add(-live).Unix(), except).Scan(&node)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("no fleet node has sent a heartbeat in the last %s: %w; start one, or name the node", live, ErrNotFound)
	}
	return node, err
}

// AssignHome gives a new account its home by policy (see PickHome) and
// returns the node chosen.
func (s *Store) AssignHome(ctx context.Context, actor, account, policy string, live time.Duration) (string, error) {
	norm, err := address.Normalize(account)
	if err != nil {
		return "", fmt.Errorf("account: %w", err)
	}
	var node string
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if node, err = s.pickHome(ctx, tx, policy, live, ""); err != nil {
			return err
		}
		if err := s.checkHomeTx(ctx, tx, norm, node); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO mailbox_homes (account, node, assigned_at) VALUES (?, ?, ?)`), norm, node, s.now().Unix()); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("home of %s: %w; use `mailgate user move` to change it", norm, ErrExists)
			}
			return err
		}
		return s.auditTx(ctx, tx, actor, "user.home", norm, node+" ("+policy+")")
	})
	return node, err
}

// HomedOn lists the accounts whose home is node.
func (s *Store) HomedOn(ctx context.Context, node string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT account FROM mailbox_homes WHERE node = ? ORDER BY account`, node)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// checkHomeTx verifies the account exists and the node is registered.
func (s *Store) checkHomeTx(ctx context.Context, tx *sql.Tx, account, node string) error {
	var accounts, nodes int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT (SELECT COUNT(*) FROM accounts WHERE address = ?), (SELECT COUNT(*) FROM fleet_nodes WHERE name = ?)`),
		account, node).Scan(&accounts, &nodes); err != nil {
		return err
	}
	if accounts == 0 {
		return fmt.Errorf("account %s: %w", account, ErrNotFound)
	}
	if nodes == 0 {
		return fmt.Errorf("fleet node %q: %w; a node registers when `mailgate serve` starts with [fleet] set (see `mailgate node list`)", node, ErrNotFound)
	}
	return nil
}

// checkNodeName keeps node names to what a certificate's DNS name and a
// log line carry without quoting.
func checkNodeName(name string) error {
	if name == "" || len(name) > 63 {
		return fmt.Errorf("fleet node name %q: %w (1 to 63 characters)", name, ErrInvalid)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("fleet node name %q: %w (lower-case letters, digits, '-' and '.')", name, ErrInvalid)
		}
	}
	if strings.HasPrefix(name, "-") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("fleet node name %q: %w (must start with a letter or digit)", name, ErrInvalid)
	}
	return nil
}
