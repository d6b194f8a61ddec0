package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestFleetHomes: nodes register and beat; least-loaded picks the live node
// with the fewest mailboxes; a named home must be a registered node; a
// homeless account is claimed once, by the first node that asks; removing
// the account removes its home.
func TestFleetHomes(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Unix(1_800_000_000, 0)
		store.SetClock(s, func() time.Time { return now })
		must(t, s.AddDomain(ctx, "test", "isp.example"))
		for _, a := range []string{"a1", "a2", "a3", "old"} {
			must(t, s.AddAccount(ctx, "test", a+"@isp.example", "h"))
		}
		must(t, s.RegisterNode(ctx, "node-a", "127.0.0.1:1"))
		must(t, s.RegisterNode(ctx, "node-b", "127.0.0.1:2"))
		if err := s.RegisterNode(ctx, "Bad Name", "x"); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad node name: %v, want ErrInvalid", err)
		}

		if n, err := s.AssignHome(ctx, "test", "a1@isp.example", store.HomeLeastLoaded, time.Minute); err != nil || n != "node-a" {
			t.Fatalf("first least-loaded home = %q, %v; want node-a (tie broken by name)", n, err)
		}
		if n, err := s.AssignHome(ctx, "test", "a2@isp.example", store.HomeLeastLoaded, time.Minute); err != nil || n != "node-b" {
			t.Fatalf("second least-loaded home = %q, %v; want node-b", n, err)
		}
		if _, err := s.AssignHome(ctx, "test", "a2@isp.example", "node-a", time.Minute); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second assignment: %v, want ErrExists", err)
		}
		// node-b stops beating: least-loaded skips it.
		now = now.Add(2 * time.Minute)
		must(t, s.Heartbeat(ctx, "node-a"))
		if n, err := s.AssignHome(ctx, "test", "a3@isp.example", store.HomeLeastLoaded, time.Minute); err != nil || n != "node-a" {
			t.Fatalf("home with node-b silent = %q, %v; want node-a", n, err)
		}
		if _, err := s.AssignHome(ctx, "test", "old@isp.example", "node-z", time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unregistered home: %v, want ErrNotFound", err)
		}
		if err := s.Heartbeat(ctx, "node-z"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("heartbeat of unknown node: %v", err)
		}

		if _, err := s.Home(ctx, "old@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("home of an unhomed account: %v, want ErrNotFound", err)
		}
		if n, err := s.ClaimHome(ctx, "old@isp.example", "node-b"); err != nil || n != "node-b" {
			t.Fatalf("claim = %q, %v", n, err)
		}
		if n, err := s.ClaimHome(ctx, "old@isp.example", "node-a"); err != nil || n != "node-b" {
			t.Fatalf("second claim = %q, %v; want the first claim to stand", n, err)
		}
		must(t, s.SetHome(ctx, "test", "old@isp.example", "node-a"))
		if n, _ := s.Home(ctx, "old@isp.example"); n != "node-a" {
			t.Fatalf("home after SetHome = %q", n)
		}

		nodes, err := s.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes) != 2 || nodes[0].Name != "node-a" || nodes[0].Mailboxes != 3 || nodes[1].Mailboxes != 1 ||
			!nodes[0].Heartbeat.Equal(now) || nodes[1].Address != "127.0.0.1:2" {
			t.Fatalf("nodes = %+v", nodes)
		}
		must(t, s.RemoveAccount(ctx, "test", "a1@isp.example"))
		homes, err := s.Homes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := homes["a1@isp.example"]; ok || len(homes) != 3 {
			t.Fatalf("homes after removing a1 = %v", homes)
		}
	})
}

// TestFleetMoveMarks: a move is marked, resumable to the same node,
// refused to another while marked, and switches the home only from the
// node it left; an abort leaves the home; every step is audited.
func TestFleetMoveMarks(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(t, s.AddDomain(ctx, "test", "isp.example"))
		must(t, s.AddAccount(ctx, "test", "m@isp.example", "h"))
		for _, n := range []string{"node-a", "node-b", "node-c"} {
			must(t, s.RegisterNode(ctx, n, n+":1"))
		}
		if _, err := s.BeginMove(ctx, "test", "m@isp.example", "node-b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("move of a homeless account: %v", err)
		}
		must(t, s.SetHome(ctx, "test", "m@isp.example", "node-a"))
		if _, err := s.BeginMove(ctx, "test", "m@isp.example", "node-a"); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("move to its own home: %v", err)
		}
		from, err := s.BeginMove(ctx, "test", "m@isp.example", "node-b")
		if err != nil || from != "node-a" {
			t.Fatalf("BeginMove = %q, %v", from, err)
		}
		if n, to, _ := s.HomeState(ctx, "m@isp.example"); n != "node-a" || to != "node-b" {
			t.Fatalf("during the move: home %q moving to %q", n, to)
		}
		if _, err := s.BeginMove(ctx, "test", "m@isp.example", "node-c"); !errors.Is(err, store.ErrMoving) {
			t.Fatalf("second move elsewhere: %v, want ErrMoving", err)
		}
		if from, err := s.BeginMove(ctx, "test", "m@isp.example", "node-b"); err != nil || from != "node-a" {
			t.Fatalf("resuming the move: %q, %v", from, err)
		}
		if err := s.FinishMove(ctx, "test", "m@isp.example", "node-c", "node-b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("finish from the wrong node: %v", err)
		}
		must(t, s.AbortMove(ctx, "test", "m@isp.example", "copy failed"))
		if n, to, _ := s.HomeState(ctx, "m@isp.example"); n != "node-a" || to != "" {
			t.Fatalf("after abort: home %q moving to %q", n, to)
		}
		if err := s.FinishMove(ctx, "test", "m@isp.example", "node-a", "node-b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("finish of an aborted move: %v", err)
		}
		_, err = s.BeginMove(ctx, "test", "m@isp.example", "node-b")
		must(t, err)
		must(t, s.FinishMove(ctx, "test", "m@isp.example", "node-a", "node-b"))
		if n, to, _ := s.HomeState(ctx, "m@isp.example"); n != "node-b" || to != "" {
			t.Fatalf("after the move: home %q moving to %q", n, to)
		}
		log, err := s.AuditLog(ctx, 1)
		if err != nil || len(log) != 1 || log[0].Action != "user.move" || log[0].Detail != "node-a -> node-b" {
			t.Fatalf("audit: %+v, %v", log, err)
		}
	})
}
