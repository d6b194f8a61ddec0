package mailbox

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFirstDeliveriesAtOnce: many deliveries racing to a mailbox that does
// not exist yet all land; none finds tmp/ made and new/ missing.
func TestFirstDeliveriesAtOnce(t *testing.T) {
	root := t.TempDir()
	for box := range 20 {
		dir := filepath.Join(root, fmt.Sprint(box))
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := DeliveryName(time.Unix(1_800_000_000, 0), fmt.Sprint(i), "h", 5)
				errs <- DeliverNew(dir, name, strings.NewReader("x\r\n"))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("mailbox %d: %v", box, err)
			}
		}
	}
}
