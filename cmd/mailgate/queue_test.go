package main

import (
	"strings"
	"testing"
)

// TestQueueCommandsOnAnEmptyQueue: --all on an empty queue says so (it
// printed nothing), and an unknown ID points at `queue list` for every
// command that takes IDs.
func TestQueueCommandsOnAnEmptyQueue(t *testing.T) {
	t.Chdir(t.TempDir()) // the zero config: ./mailgate-data
	for _, action := range []string{"retry", "hold", "release"} {
		out, err := runCLI(t, "queue", action, "--all")
		if err != nil || out != "the queue is empty: nothing to "+action+"\n" {
			t.Errorf("queue %s --all: %q, %v", action, out, err)
		}
	}
	for _, action := range []string{"remove", "retry", "bounce", "show"} {
		_, err := runCLI(t, "queue", action, "nope")
		if err == nil || !strings.Contains(err.Error(), "nope: spool: no such message (see `mailgate queue list`)") {
			t.Errorf("queue %s nope: %v", action, err)
		}
	}
}
