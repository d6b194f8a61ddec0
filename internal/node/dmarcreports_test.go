package node

import (
	"context"
	"strings"
	"testing"

	"mailgate/internal/config"
)

// TestDMARCReportJobOffSaysHowToTurnItOn: `dmarc report-now` with the
// zero config names the settings to set, not an empty From address.
func TestDMARCReportJobOffSaysHowToTurnItOn(t *testing.T) {
	_, err := DMARCReportJob(context.Background(), config.Default(), nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "DMARC aggregate reports are off: set [dmarc_reports] enabled = true, org_name and from") {
		t.Fatalf("err = %v", err)
	}
}
