package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"mailgate/internal/metrics"
)

// Rspamd is a client of rspamd's normal worker over its HTTP protocol
// (https://rspamd.com/doc/developers/protocol.html). Connections are kept
// alive and reused by the HTTP transport.
type Rspamd struct {
	Endpoint Endpoint
	// Timeout bounds one whole request.
	Timeout time.Duration

	client *http.Client
}

// NewRspamd returns a client for the worker at e.
func NewRspamd(e Endpoint, timeout time.Duration) *Rspamd {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, e.Network, e.Address)
		},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Rspamd{Endpoint: e, Timeout: timeout, client: &http.Client{Transport: tr, Timeout: timeout}}
}

// Name implements Scanner.
func (r *Rspamd) Name() string { return "rspamd" }

// baseURL: the transport dials the endpoint itself, so the host part only
// fills the Host header.
const baseURL = "http://rspamd"

// Scan posts the message to /checkv2 with the transaction in the request
// headers rspamd reads.
func (r *Rspamd) Scan(ctx context.Context, req *Request) (*Result, error) {
	defer metrics.ObserveScan("rspamd", time.Now())
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/checkv2", bytes.NewReader(req.Body))
	if err != nil {
		return nil, err
	}
	h := hr.Header
	if req.IP.IsValid() {
		h.Set("IP", req.IP.String())
	}
	// Without Hostname rspamd's once_received looks the IP's PTR up
	// itself; "unknown" is what it expects when there is none.
	if req.Hostname != "" {
		h.Set("Hostname", req.Hostname)
	} else {
		h.Set("Hostname", "unknown")
	}
	setIf(h, "Helo", req.Helo)
	// An empty From is the null sender: rspamd takes "<>" for it.
	if req.From == "" {
		h.Set("From", "<>")
	} else {
		h.Set("From", req.From)
	}
	for _, rc := range req.Rcpts {
		h.Add("Rcpt", rc)
	}
	if len(req.Rcpts) == 1 {
		h.Set("Deliver-To", req.Rcpts[0])
	}
	setIf(h, "User", req.User)
	setIf(h, "Queue-Id", req.QueueID)
	setIf(h, "MTA-Name", req.MTAName)
	for k, vs := range h {
		for i, v := range vs {
			vs[i] = headerSafe(v)
		}
		h[k] = vs
	}
	resp, err := r.client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("rspamd %s: %w", r.Endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("rspamd %s: read answer: %w", r.Endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("rspamd %s: HTTP %d: %.200s", r.Endpoint, resp.StatusCode, body)
	}
	spam, err := ParseRspamdReply(body)
	if err != nil {
		return nil, fmt.Errorf("rspamd %s: %w", r.Endpoint, err)
	}
	return &Result{Spam: spam}, nil
}

// Ping is GET /ping → "pong".
func (r *Rspamd) Ping(ctx context.Context) error {
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/ping", nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(hr)
	if err != nil {
		return fmt.Errorf("rspamd %s: %w", r.Endpoint, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "pong" {
		return fmt.Errorf("rspamd %s: /ping answered HTTP %d %q, want pong", r.Endpoint, resp.StatusCode, b)
	}
	return nil
}

func setIf(h http.Header, k, v string) {
	if v != "" {
		h.Set(k, v)
	}
}

// headerSafe drops the bytes a header value must not carry (an
// attacker-chosen HELO with CR/LF would otherwise split the request).
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// rspamdReply is the part of /checkv2's JSON answer we use.
type rspamdReply struct {
	Action        *string  `json:"action"`
	Score         *float64 `json:"score"`
	RequiredScore float64  `json:"required_score"`
	Symbols       map[string]struct {
		Score float64 `json:"score"`
	} `json:"symbols"`
	Messages struct {
		SMTP string `json:"smtp_message"`
	} `json:"messages"`
}

var knownActions = map[string]bool{
	ActionReject: true, ActionSoftReject: true, ActionRewriteSubject: true,
	ActionAddHeader: true, ActionGreylist: true, ActionNoAction: true,
}

// ParseRspamdReply reads /checkv2's JSON answer. An answer without action
// and score, or with an action rspamd does not define, is an error: the
// message was not judged.
func ParseRspamdReply(b []byte) (*Spam, error) {
	var r rspamdReply
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("bad answer: %w", err)
	}
	if r.Action == nil || r.Score == nil {
		return nil, fmt.Errorf("answer without action or score: %.200s", b)
	}
	if !knownActions[*r.Action] {
		return nil, fmt.Errorf("unknown action %q", *r.Action)
	}
	s := &Spam{Action: *r.Action, Score: *r.Score, Required: r.RequiredScore, Message: headerSafe(r.Messages.SMTP)}
	for name, sym := range r.Symbols {
		s.Symbols = append(s.Symbols, Symbol{Name: name, Score: sym.Score})
	}
	sort.Slice(s.Symbols, func(i, j int) bool { return s.Symbols[i].Name < s.Symbols[j].Name })
	return s, nil
}
