package abuse

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
)

// windowCounts is a RateCounter: counts per counter name, one window.
type windowCounts struct {
	n    map[string]int
	keys []string
	err  error
}

func (w *windowCounts) TakeRate(_ context.Context, counter string, _ time.Duration, max int) (bool, error) {
	if w.err != nil {
		return false, w.err
	}
	w.n[counter]++
	w.keys = append(w.keys, counter)
	return w.n[counter] <= max, nil
}

func bounceLimiter(c RateCounter, perDomain, perClient int) *BounceLimiter {
	return &BounceLimiter{Counter: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PerDomain: config.Rate{Max: perDomain, Per: time.Hour}, PerClient: config.Rate{Max: perClient, Per: time.Hour}}
}

// TestBounceLimiter: the client is counted by its IPv6 /64 and before the
// domain (lower-cased); past either limit the reply is 450 4.7.1 naming
// it; an "off" limit is not counted; a counter that fails defers (451
// 4.3.0) rather than let the bounce through; a nil limiter limits nothing.
func TestBounceLimiter(t *testing.T) {
	ctx := context.Background()
	c := &windowCounts{n: map[string]int{}}
	l := bounceLimiter(c, 1, 2)
	if r := l.Take(ctx, "2001:db8::1", "carol@Sender.Example"); r != nil {
		t.Fatalf("first bounce: %v", r)
	}
	if want := []string{"srs-bounce:client:2001:db8::/64", "srs-bounce:domain:sender.example"}; !reflect.DeepEqual(c.keys, want) {
		t.Fatalf("counters %v, want %v", c.keys, want)
	}
	r := l.Take(ctx, "2001:db8::2", "dave@sender.example")
	if r == nil || r.String() != "450 4.7.1 Rate limited: too many bounces to sender.example through our forwarding addresses (at most 1/hour), try again later" {
		t.Fatalf("second bounce to the domain: %v", r)
	}
	r = l.Take(ctx, "2001:db8::3", "erin@other.example")
	if r == nil || !strings.HasPrefix(r.String(), "450 4.7.1 Rate limited: too many bounces from your address ") {
		t.Fatalf("third bounce from the /64: %v", r)
	}
	if c.n["srs-bounce:domain:other.example"] != 0 {
		t.Fatal("a bounce the client's limit refused was counted against its domain")
	}

	off := bounceLimiter(&windowCounts{n: map[string]int{}}, 1, 0)
	for i := 0; i < 3; i++ {
		if r := off.Take(ctx, "192.0.2.1", "x"+string(rune('a'+i))+"@d"+string(rune('a'+i))+".example"); r != nil {
			t.Fatalf("per-client limit off: %v", r)
		}
	}

	failing := bounceLimiter(&windowCounts{err: errors.New("database is locked")}, 1, 1)
	if r := failing.Take(ctx, "192.0.2.1", "carol@sender.example"); r == nil || r.Code != 451 {
		t.Fatalf("failing counter: %v, want 451 4.3.0", r)
	}
	var none *BounceLimiter
	if r := none.Take(ctx, "192.0.2.1", "carol@sender.example"); r != nil {
		t.Fatalf("nil limiter: %v", r)
	}
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	if k := counterKey("srs-bounce:domain:", long); len(k) > 200 || !strings.HasPrefix(k, "srs-bounce:domain:sha256:") {
		t.Fatalf("counter key for a 253-octet domain: %q", k)
	}
}

// TestBounceLimiterOneBudgetPerDomain: subdomains of one organizational
// domain (RFC 7489 §3.2) and its Unicode and A-label spellings share one
// budget; a subdomain each was a fresh budget each.
func TestBounceLimiterOneBudgetPerDomain(t *testing.T) {
	ctx := context.Background()
	c := &windowCounts{n: map[string]int{}}
	l := bounceLimiter(c, 3, 0)
	for _, to := range []string{"a@x1.victim.example", "b@x2.victim.example", "c@bücher.example", "d@Victim.Example"} {
		if r := l.Take(ctx, "192.0.2.1", to); r != nil {
			t.Fatalf("%s: %v", to, r)
		}
	}
	if r := l.Take(ctx, "192.0.2.1", "e@x3.victim.example"); r == nil || r.Code != 450 {
		t.Fatalf("fourth bounce to victim.example's subdomains: %v, want 450", r)
	}
	if r := l.Take(ctx, "192.0.2.1", "f@xn--bcher-kva.example"); r != nil {
		t.Fatalf("second bounce to bücher.example: %v", r)
	}
	if c.n["srs-bounce:domain:xn--bcher-kva.example"] != 2 {
		t.Fatalf("counters %v: want bücher.example's two under its A-label", c.n)
	}
}
