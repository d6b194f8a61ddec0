package scan

import (
	"context"
	"errors"
	"strings"
	"testing"

	"mailgate/internal/verdict"
)

// engine is a Scanner that answers what the test says and records what it
// was sent.
type engine struct {
	res  *Result
	err  error
	sent []byte
}

func (e *engine) Name() string               { return "fake" }
func (e *engine) Ping(context.Context) error { return e.err }
func (e *engine) Scan(_ context.Context, r *Request) (*Result, error) {
	e.sent = r.Body
	return e.res, e.err
}

func run(st verdict.MessageStage, body string, rcpts ...string) (*verdict.Verdict, *verdict.Message) {
	p := &verdict.Pipeline{Message: []verdict.MessageStage{st}}
	m := &verdict.Message{ID: "Q1", From: "s@example.org", Rcpts: rcpts, Body: []byte(body)}
	return p.CheckMessage(context.Background(), &verdict.Client{Account: "u@isp.example"}, m), m
}

const msg = "X-Virus-Scan: clean (forged)\r\nX-Spam-Flag: NO\r\nX-Spam-Status: No,\r\n forged\r\nSubject: hello\r\nFrom: s@example.org\r\n\r\nbody\r\nX-Spam-Flag: NO\r\n"

// TestVirusStage: a virus is 554 5.7.0 with a note and the hook called; a
// clean message gets our field and loses the forged one; a scanner down is
// 451 4.7.0 or, when configured, accepted marked unchecked; oversize is
// the configured choice, never "clean".
func TestVirusStage(t *testing.T) {
	var heard []VirusFound
	e := &engine{res: &Result{Virus: "Eicar-Test-Signature.UNOFFICIAL"}}
	st := &VirusStage{Engine: e, OnError: Tempfail, Oversize: Reject, OnVirus: func(f VirusFound) { heard = append(heard, f) }}
	v, _ := run(st, msg, "a@isp.example")
	if v.Reply == nil || v.Reply.String() != "554 5.7.0 message contains a virus (Eicar-Test-Signature.UNOFFICIAL), not accepted" {
		t.Fatalf("virus: %v", v.Reply)
	}
	if f, _ := v.Notes[NoteVirus].(*VirusFound); f == nil || f.Account != "u@isp.example" || len(heard) != 1 {
		t.Fatalf("note %v, hook heard %v", v.Notes, heard)
	}
	if strings.Contains(string(e.sent), "X-Virus-Scan") {
		t.Fatalf("scanner was sent the forged field: %q", e.sent)
	}

	e.res = &Result{}
	v, _ = run(st, msg, "a@isp.example")
	if v.Reply != nil || len(v.Fields) != 1 || v.Fields[0] != "X-Virus-Scan: clean (fake)" || strings.Contains(string(v.Body), "X-Virus-Scan") {
		t.Fatalf("clean: %+v", v)
	}

	e.err = errors.New("connection refused")
	before := ErrorCounter("fake").Value()
	v, _ = run(st, msg, "a@isp.example")
	if v.Reply == nil || v.Reply.String() != "451 4.7.0 virus scan unavailable, try again later" || ErrorCounter("fake").Value() != before+1 {
		t.Fatalf("down, tempfail: %v", v.Reply)
	}
	st.OnError = Accept
	v, _ = run(st, msg, "a@isp.example")
	if v.Reply != nil || len(v.Fields) != 1 || v.Fields[0] != "X-Virus-Scan: unchecked, fake unavailable" {
		t.Fatalf("down, accept: %+v", v)
	}

	e.err = ErrTooLarge
	v, _ = run(st, msg, "a@isp.example")
	if v.Reply == nil || v.Reply.Code != 552 {
		t.Fatalf("over the scanner's limit, reject: %v", v.Reply)
	}
	st.Oversize, st.MaxBytes, e.err = Accept, 10, nil
	e.sent = nil
	v, _ = run(st, msg, "a@isp.example")
	if v.Reply != nil || v.Fields[0] != "X-Virus-Scan: unchecked, over the scan limit of 10 bytes" || e.sent != nil {
		t.Fatalf("over max_bytes, accept: %+v (sent %q)", v, e.sent)
	}
}

func spam(action string, score float64) *Result {
	return &Result{Spam: &Spam{Action: action, Score: score, Required: 15,
		Symbols: []Symbol{{"GTUBE", 0}, {"MIME_GOOD", -0.1}}, Message: "Gtube pattern"}}
}

// TestSpamStageActions: rspamd's actions mapped to replies and fields.
func TestSpamStageActions(t *testing.T) {
	e := &engine{}
	st := &SpamStage{Engine: e, Defaults: Prefs{Enabled: true, Action: SpamHeader, Tag: "[SPAM]"}, Greylist: true, OnError: Accept}
	for _, tc := range []struct {
		action string
		score  float64
		reject bool
		reply  string
		flag   string
	}{
		{ActionReject, 15, true, "550 5.7.1 message refused as spam (Gtube pattern)", ""},
		{ActionReject, 15, false, "", "YES"},
		{ActionSoftReject, 9, false, "451 4.7.1 try again later (Gtube pattern)", ""},
		{ActionGreylist, 4.5, false, "451 4.7.1 try again later (Gtube pattern)", ""},
		{ActionAddHeader, 6.2, false, "", "YES"},
		{ActionRewriteSubject, 0, false, "", "YES"},
		{ActionNoAction, -0.6, false, "", "NO"},
	} {
		e.res, st.RejectAction = spam(tc.action, tc.score), tc.reject
		v, _ := run(st, msg, "a@isp.example")
		if tc.reply != "" {
			if v.Reply == nil || v.Reply.String() != tc.reply {
				t.Errorf("%s: reply %v, want %s", tc.action, v.Reply, tc.reply)
			}
			continue
		}
		if v.Reply != nil || len(v.Fields) != 3 || v.Fields[0] != "X-Spam-Flag: "+tc.flag {
			t.Errorf("%s: %+v", tc.action, v)
		}
	}
}

// TestSpamStageFields: forged X-Spam-* fields go (header only, before the
// engine sees the message); ours say score, threshold and rules, and
// X-Spam-Score is a non-negative integer for Sieve's i;ascii-numeric.
func TestSpamStageFields(t *testing.T) {
	e := &engine{res: spam(ActionAddHeader, 7.9)}
	st := &SpamStage{Engine: e, Defaults: Prefs{Enabled: true, Action: SpamHeader}}
	v, _ := run(st, msg, "a@isp.example")
	want := []string{"X-Spam-Flag: YES", "X-Spam-Status: Yes, score=7.9 required=15.0 tests=GTUBE,MIME_GOOD", "X-Spam-Score: 8"}
	if strings.Join(v.Fields, "|") != strings.Join(want, "|") {
		t.Fatalf("fields %q, want %q", v.Fields, want)
	}
	wantBody := "Subject: hello\r\nFrom: s@example.org\r\n\r\nbody\r\nX-Spam-Flag: NO\r\n"
	if string(v.Body) != wantBody || string(e.sent) != wantBody {
		t.Fatalf("stored %q, scanned %q; want %q", v.Body, e.sent, wantBody)
	}
	e.res = spam(ActionNoAction, -2.4)
	v, _ = run(st, msg, "a@isp.example")
	if v.Fields[2] != "X-Spam-Score: 0" || v.Fields[1] != "X-Spam-Status: No, score=-2.4 required=15.0 tests=GTUBE,MIME_GOOD" {
		t.Fatalf("negative score: %q", v.Fields)
	}
}

// TestSpamStagePrefs: each subscriber's choice: tag, junk, a threshold of
// their own, service off; recipients who disagree get the fields alone.
func TestSpamStagePrefs(t *testing.T) {
	prefs := map[string]Prefs{
		"tag@isp.example":   {Enabled: true, Action: SpamTag, Tag: "[SPAM]"},
		"junk@isp.example":  {Enabled: true, Action: SpamJunk},
		"junk2@isp.example": {Enabled: true, Action: SpamJunk},
		"high@isp.example":  {Enabled: true, Action: SpamJunk, Threshold: 10},
		"off@isp.example":   {Enabled: false, Action: SpamJunk},
	}
	e := &engine{res: spam(ActionAddHeader, 7.9)}
	st := &SpamStage{Engine: e, Defaults: Prefs{Enabled: true, Action: SpamHeader, Tag: "[SPAM]"},
		Prefs: func(_ context.Context, rc string) (Prefs, error) { return prefs[rc], nil }}
	for _, tc := range []struct {
		rcpts   []string
		junk    bool
		subject string
	}{
		{[]string{"tag@isp.example"}, false, "Subject: [SPAM] hello"},
		{[]string{"junk@isp.example", "junk2@isp.example"}, true, "Subject: hello"},
		{[]string{"high@isp.example"}, false, "Subject: hello"},
		{[]string{"off@isp.example"}, false, "Subject: hello"},
		{[]string{"junk@isp.example", "tag@isp.example"}, false, "Subject: hello"},
	} {
		v, _ := run(st, msg, tc.rcpts...)
		if v.Reply != nil || v.Junk != tc.junk || !strings.Contains(string(v.Body), tc.subject+"\r\n") {
			t.Errorf("%v: junk %v, body %q; want junk %v and %q", tc.rcpts, v.Junk, v.Body, tc.junk, tc.subject)
		}
	}
	// The threshold of one's own is what X-Spam-Status shows.
	v, _ := run(st, msg, "high@isp.example")
	if v.Fields[0] != "X-Spam-Flag: NO" || !strings.Contains(v.Fields[1], "score=7.9 required=10.0") {
		t.Fatalf("own threshold: %q", v.Fields)
	}
}

// TestSpamStageDown: rspamd down → accepted with X-Spam-Flag: UNCHECKED
// (forged fields still removed), or 451 4.7.1 when configured; on
// submission (ScoreOnly) nothing changes either way.
func TestSpamStageDown(t *testing.T) {
	e := &engine{err: errors.New("connection refused")}
	st := &SpamStage{Engine: e, Defaults: Prefs{Enabled: true, Action: SpamJunk}, OnError: Accept}
	v, _ := run(st, msg, "a@isp.example")
	if v.Reply != nil || v.Junk || strings.Join(v.Fields, "|") != "X-Spam-Flag: UNCHECKED|X-Spam-Status: Unchecked, fake unavailable" ||
		strings.Contains(string(v.Body), "X-Spam-Flag: NO\r\nX-Spam-Status") {
		t.Fatalf("down, accept: %+v", v)
	}
	st.OnError = Tempfail
	if v, _ = run(st, msg, "a@isp.example"); v.Reply == nil || v.Reply.String() != "451 4.7.1 spam check unavailable, try again later" {
		t.Fatalf("down, tempfail: %v", v.Reply)
	}
	sub := &SpamStage{Engine: e, ScoreOnly: true, OnError: Tempfail}
	if v, _ = run(sub, msg, "x@example.org"); v.Reply != nil || len(v.Fields) != 0 || string(v.Body) != msg {
		t.Fatalf("submission, down: %+v", v)
	}
	e.err, e.res = nil, spam(ActionReject, 15)
	sub.RejectAction = true
	if v, _ = run(sub, msg, "x@example.org"); v.Reply != nil || len(v.Fields) != 0 || v.Notes[NoteSpam] == nil {
		t.Fatalf("submission, spam: %+v", v)
	}
}

func TestTagSubject(t *testing.T) {
	for in, want := range map[string]string{
		"Subject: hi\r\n\r\nb":          "Subject: [SPAM] hi\r\n\r\nb",
		"Subject: [SPAM] hi\r\n\r\nb":   "Subject: [SPAM] hi\r\n\r\nb",
		"subject:hi\r\n there\r\n\r\n":  "subject:[SPAM] hi\r\n there\r\n\r\n",
		"From: a\r\n\r\nSubject: x\r\n": "Subject: [SPAM]\r\nFrom: a\r\n\r\nSubject: x\r\n",
	} {
		if got := string(tagSubject([]byte(in), "[SPAM]")); got != want {
			t.Errorf("tagSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRemoveFields: removing our fields keeps every other byte, and what
// is left has none of them in its header.
func FuzzRemoveFields(f *testing.F) {
	f.Add([]byte(msg))
	f.Add([]byte("X-Spam-Flag: YES"))
	f.Add([]byte("\r\n\r\nX-Spam: 1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, removed := removeFields(b, ourField)
		if !removed && string(out) != string(b) || len(out) > len(b) {
			t.Fatalf("%q → %q", b, out)
		}
		for _, fs := range headerFields(out) {
			if ourField(fs.Name) {
				t.Fatalf("%q still has %s", out, fs.Name)
			}
		}
		tagSubject(b, "[SPAM]")
	})
}
