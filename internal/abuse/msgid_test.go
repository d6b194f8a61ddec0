package abuse

import (
	"bufio"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// queuedNotices reads every message in the spool as it will be sent.
func queuedNotices(t *testing.T, sp *spool.Spool) map[string]mail.Header {
	t.Helper()
	ids, err := sp.IDs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]mail.Header{}
	for _, id := range ids {
		m, err := sp.Open(id)
		if err != nil {
			t.Fatal(err)
		}
		h, err := textproto.ReadHeader(bufio.NewReader(m.Body()))
		m.Close()
		if err != nil {
			t.Fatalf("notice %s: header: %v", id, err)
		}
		out[strings.Join(m.Envelope.To, ",")] = mail.Header{Header: message.Header{Header: h}}
	}
	return out
}

// checkMessageID fails unless the notice has exactly one Message-ID and it
// is an RFC 5322 §3.6.4 msg-id: "<" id-left "@" id-right ">", the right
// side our hostname.
func checkMessageID(t *testing.T, to string, h mail.Header) {
	t.Helper()
	raw := h.Values("Message-Id")
	if len(raw) != 1 {
		t.Fatalf("notice to %s: Message-ID fields %q, want one", to, raw)
	}
	id, err := h.MessageID()
	if err != nil || !strings.HasSuffix(id, "@mail.isp.example") {
		t.Fatalf("notice to %s: Message-ID %q: %q, %v", to, raw[0], id, err)
	}
}

// TestNoticeMessageID: the OP25B notice, as queued, has a well-formed
// Message-ID (it was written without the angle brackets).
func TestNoticeMessageID(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	f := &fakeNotices{
		recs:    []store.AttemptRecord{{Source: netip.MustParseAddr("10.0.0.1"), Attempts: 11, FirstSeen: t0, LastSeen: t0}},
		holders: map[string]string{"10.0.0.1": "a"},
		links:   map[string]string{"a": "a@isp.example"},
		last:    map[string]*store.Notice{},
	}
	p := NoticePolicy{Threshold: 10, From: "postmaster@isp.example", Hostname: "mail.isp.example"}
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	now := t0.Add(time.Hour)
	cases, err := PlanNotices(t.Context(), f, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := SendNotices(t.Context(), f, p, sp, "test", cases, now, false); err != nil {
		t.Fatal(err)
	}
	sent := queuedNotices(t, sp)
	if len(sent) != 1 {
		t.Fatalf("queued %v, want the one notice", sent)
	}
	for to, h := range sent {
		checkMessageID(t, to, h)
	}
}

// TestCompromiseNoticeMessageID: both compromise notices, the
// subscriber's and the operator's, as queued, have a well-formed
// Message-ID.
func TestCompromiseNoticeMessageID(t *testing.T) {
	st := &signalStore{}
	m := testMonitor(t, st, CompromiseEnforce)
	m.Policy.Operator = "abuse@noc.example"
	m.respond(t.Context(), "a@isp.example", SignalVirus, "EICAR")
	sent := queuedNotices(t, m.Spool)
	_, sub := sent["a@isp.example"]
	_, op := sent["abuse@noc.example"]
	if len(sent) != 2 || !sub || !op {
		t.Fatalf("queued %v, want the subscriber's and the operator's notices", sent)
	}
	for to, h := range sent {
		checkMessageID(t, to, h)
	}
}
