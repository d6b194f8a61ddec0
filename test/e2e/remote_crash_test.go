package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailgate/internal/loadgen"
)

// TestRemoteCrashDuringDeliveryLosesNothing: 40 messages for a remote
// domain whose MX answers DATA slowly; the node is killed (SIGKILL) while
// deliveries are in flight and restarted. Every message reaches the MX at
// least once, complete, and the queue ends empty.
func TestRemoteCrashDuringDeliveryLosesNothing(t *testing.T) {
	port := FreePort(t)
	s := startSink(t, "127.0.0.6", port, "", "-w", "1")
	d := startDNS(t, "slow.test. 60 IN MX 10 mx.slow.test.", "mx.slow.test. 60 IN A 127.0.0.6")
	n := remoteNode(t, d, port, map[string]string{"concurrency_per_destination": "4"})
	n.Start()
	const total = 40
	for i := 0; i < total; i++ {
		seq := fmt.Sprintf("crash-%d", i)
		submit(t, n, []string{"jack@slow.test"}, loadgen.Message(rmSender, "jack@slow.test", seq, 2000))
	}
	s.wait(t, 4, n)
	// Waiting for one of the 4 connection slots is not a failed attempt:
	// no message may have been pushed back by the retry schedule.
	if q := n.MustCLI("", "queue", "list"); regexp.MustCompile(`jack@slow\.test\s+[1-9]`).MatchString(q) {
		t.Errorf("messages waiting for a slot were counted as attempts:\n%s", q)
	}
	n.Kill()
	before := len(s.messages())
	if before >= total {
		t.Fatalf("all %d delivered before the crash; the test proves nothing", before)
	}
	n.Start()
	deadline := time.Now().Add(60 * time.Second)
	endRE := regexp.MustCompile(`(?m)^end (crash-\d+)\r?$`)
	for {
		seen := map[string]int{}
		for _, m := range s.messages() {
			if sm := endRE.FindStringSubmatch(m); sm != nil && strings.Contains(m, "X-Loadgen-Seq: "+sm[1]) {
				seen[sm[1]]++
			}
		}
		if len(seen) == total && spoolEmpty(n) {
			dups := len(s.messages()) - total
			t.Logf("%d delivered before the kill, %d duplicates after restart (at-least-once)", before, dups)
			return
		}
		if time.Now().After(deadline) {
			var missing []string
			for i := 0; i < total; i++ {
				if seen[fmt.Sprintf("crash-%d", i)] == 0 {
					missing = append(missing, fmt.Sprint(i))
				}
			}
			t.Fatalf("missing after restart: %v\nqueue:\n%s\nlog:\n%s", missing, n.MustCLI("", "queue", "list"), n.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
