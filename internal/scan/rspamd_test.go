package scan

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const gtubeAnswer = `{"is_skipped":true,"score":15.0,"required_score":15.0,"action":"reject",
 "symbols":{"GTUBE":{"name":"GTUBE","score":0.0,"metric_score":0.0},"MIME_GOOD":{"name":"MIME_GOOD","score":-0.1,"options":["text/plain"]}},
 "messages":{"smtp_message":"Gtube pattern"},"message-id":"gtube-1@example.org","time_real":0.001}`

// TestRspamdRequestHeaders: /checkv2 gets the message as the body and the
// transaction in rspamd's request headers, every recipient in its own Rcpt
// and Hostname "unknown" without rDNS (else rspamd looks the PTR up).
func TestRspamdRequestHeaders(t *testing.T) {
	var got http.Header
	var gotBody, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotPath = r.Header.Clone(), r.Method+" "+r.URL.Path
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		io.WriteString(w, gtubeAnswer)
	}))
	defer srv.Close()
	r := NewRspamd(Endpoint{"tcp", srv.Listener.Addr().String()}, 5*time.Second)
	res, err := r.Scan(context.Background(), &Request{Body: []byte("Subject: x\r\n\r\nhi\r\n"),
		IP: netip.MustParseAddr("192.0.2.7"), Helo: "bad\r\nX-Injected: 1", From: "",
		Rcpts: []string{"a@isp.example", "b@isp.example"}, User: "u@isp.example", QueueID: "Q1", MTAName: "mx.isp.example"})
	if err != nil {
		t.Fatal(err)
	}
	if gotPath != "POST /checkv2" || gotBody != "Subject: x\r\n\r\nhi\r\n" {
		t.Fatalf("request %s with body %q", gotPath, gotBody)
	}
	want := map[string][]string{"Ip": {"192.0.2.7"}, "Hostname": {"unknown"}, "Helo": {"badX-Injected: 1"}, "From": {"<>"},
		"Rcpt": {"a@isp.example", "b@isp.example"}, "User": {"u@isp.example"}, "Queue-Id": {"Q1"}, "Mta-Name": {"mx.isp.example"}}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
	if got.Get("Deliver-To") != "" {
		t.Errorf("Deliver-To %q with two recipients", got.Get("Deliver-To"))
	}
	sp := res.Spam
	if sp.Action != ActionReject || sp.Score != 15 || sp.Required != 15 || sp.Message != "Gtube pattern" ||
		len(sp.Symbols) != 2 || sp.Symbols[0] != (Symbol{"GTUBE", 0}) || sp.Symbols[1] != (Symbol{"MIME_GOOD", -0.1}) {
		t.Fatalf("parsed %+v", sp)
	}
}

// TestRspamdUnixSocketAndPing: the same client over rspamd's unix socket;
// /ping answers pong.
func TestRspamdUnixSocketAndPing(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "normal.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" {
			io.WriteString(w, "pong\r\n")
			return
		}
		io.WriteString(w, `{"action":"no action","score":-0.1,"required_score":15,"symbols":{}}`)
	})}
	go srv.Serve(l)
	defer srv.Close()
	r := NewRspamd(Endpoint{"unix", sock}, 5*time.Second)
	if err := r.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := r.Scan(context.Background(), &Request{Body: []byte("\r\n")})
	if err != nil || res.Spam.Action != ActionNoAction || res.Spam.Score != -0.1 {
		t.Fatalf("Scan = %+v, %v", res, err)
	}
}

// TestRspamdErrors: an HTTP error, an answer without a judgement, an
// unknown action and a server that never answers are errors, not verdicts.
func TestRspamdErrors(t *testing.T) {
	answer, status := "", 200
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answer == "hang" {
			<-block
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	defer close(block)
	r := NewRspamd(Endpoint{"tcp", srv.Listener.Addr().String()}, 300*time.Millisecond)
	for _, tc := range []struct {
		answer string
		status int
		want   string
	}{
		{`{"error":"bad"}`, 500, "HTTP 500"},
		{`{"error":"no action"}`, 200, "without action"},
		{`{"action":"discard","score":1}`, 200, "unknown action"},
		{`{"action":`, 200, "bad answer"},
		{"hang", 200, "Timeout"},
	} {
		answer, status = tc.answer, tc.status
		_, err := r.Scan(context.Background(), &Request{Body: []byte("x")})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("answer %q: %v, want an error with %q", tc.answer, err, tc.want)
		}
	}
}

// FuzzParseRspamdReply: any answer is a judgement with a known action or
// an error; never a crash.
func FuzzParseRspamdReply(f *testing.F) {
	f.Add([]byte(gtubeAnswer))
	f.Add([]byte(`{"action":"no action","score":-0.1,"required_score":15,"symbols":{}}`))
	f.Add([]byte(`{"action":"add header","score":6,"symbols":{"X":{"score":"NaN"}}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseRspamdReply(b)
		if err != nil {
			return
		}
		if !knownActions[s.Action] || strings.ContainsAny(s.Message, "\r\n") {
			t.Fatalf("%q: parsed %+v", b, s)
		}
	})
}
