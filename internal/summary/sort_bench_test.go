package summary

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mailgate/internal/mailbox"
)

// BenchmarkSortSubjectFrom: SORT (SUBJECT REVERSE DATE) and (FROM) over
// 10,000 messages whose summaries are cached: the keys made and sorted
// per command (no file is read).
func BenchmarkSortSubjectFrom(b *testing.B) {
	f, err := mailbox.OpenFolder(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for i := range 10000 {
		msg := fmt.Sprintf("From: User %d <user%d@example.jp>\r\nSubject: Re: topic %d\r\nDate: Mon, 2 Mar 2026 10:%02d:00 +0000\r\n\r\nx\r\n", i%977, i%977, i%1013, i%60)
		if _, err := f.Append(strings.NewReader(msg), "", time.Unix(1772400000+int64(i), 0)); err != nil {
			b.Fatal(err)
		}
	}
	msgs := f.Snapshot()
	Sort(f, msgs, []Criterion{{Key: Subject}}) // fills the cache
	b.ResetTimer()
	for b.Loop() {
		Sort(f, msgs, []Criterion{{Key: Subject}, {Key: Date, Reverse: true}})
		Sort(f, msgs, []Criterion{{Key: From}})
	}
}
