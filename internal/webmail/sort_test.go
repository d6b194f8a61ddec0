package webmail

import (
	"testing"

	"mailgate/internal/summary"
)

// TestSubjectKeyIsSORTs: the list's subject order is IMAP SORT's
// (RFC 5256 §2.1 base subject, i;unicode-casemap) plus the markers only
// the webmail removes (webmailLeaders), which SORT keeps as the RFC does.
func TestSubjectKeyIsSORTs(t *testing.T) {
	for _, tc := range []struct{ subject, same string }{
		{"Re: [ml] Fwd: Plan (fwd)", "plan"},
		{"ＰＬＡＮ", "plan"},         // NFKD: full-width letters
		{"Re：返信: 会議", "会議"},      // full-width colon, Japanese reply marker
		{"AW: 転送: RE: 会議", "会議"}, // German reply, Japanese forward
	} {
		if got, want := subjectKey(tc.subject), subjectKey(tc.same); got != want {
			t.Errorf("%q: key %q, want %q (that of %q)", tc.subject, got, want, tc.same)
		}
	}
	if summary.SubjectKey("返信: 会議") == summary.SubjectKey("会議") {
		t.Error("IMAP SORT's key removes 返信:, which RFC 5256 §2.1 does not")
	}
	if summary.SubjectKey("Re: [ml] Plan") != subjectKey("Re: [ml] Plan") {
		t.Error("the webmail's key differs from SORT's on an RFC 5256 subject")
	}
}
