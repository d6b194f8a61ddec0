package edge

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store"
)

// TestLoadSaysWhatAFailedCarrierLookupKeeps: with an earlier answer (the
// runner's later loads) the log says it is kept; without one (a one-shot
// command, the runner's first load) it says the hosts are not in the
// policy, not that something was kept.
func TestLoadSaysWhatAFailedCarrierLookupKeeps(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "mailgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.AddCarrierEntries(ctx, "test", "broken", []string{"broken.example"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prev map[string][]MXHost
		want string
	}{
		{nil, "carrier resolution failed; the domain's mail hosts are not in the policy (there is no earlier answer to keep)"},
		{map[string][]MXHost{"broken.example": {{Host: "old", Addrs: []netip.Addr{a("192.0.2.1")}}}}, "carrier resolution failed; keeping the previous addresses"},
	} {
		var logged bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logged, nil))
		if _, _, err := Load(ctx, st, fakeResolver{}, c.prev, time.Now(), log); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logged.String(), `msg="`+c.want+`"`) || !strings.Contains(logged.String(), "broken.example") {
			t.Errorf("prev %v: logged %q, want %q", c.prev, logged.String(), c.want)
		}
	}
}
