package web

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// TestMailRequestsPerAccountAreCapped: one account's webmail requests run
// at most maxMailRequests at once (uploads held open here, as a client
// trickling large attachments holds them); more get 429 with Retry-After
// while another account is served, and a finished one frees its slot.
func TestMailRequestsPerAccountAreCapped(t *testing.T) {
	s, _, _ := composeSite(t, nil)
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	var uploads []*io.PipeWriter
	t.Cleanup(func() { // before the server's Close, which waits for them
		for _, pw := range uploads {
			pw.CloseWithError(io.ErrUnexpectedEOF)
		}
	})
	done := make(chan struct{}, maxMailRequests)
	for range maxMailRequests {
		pr, pw := io.Pipe()
		uploads = append(uploads, pw)
		req, _ := http.NewRequest("POST", s.secure.URL+"/mail/compose", pr)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		go func() {
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
			done <- struct{}{}
		}()
		go io.WriteString(pw, "--x\r\nContent-Disposition: form-data; name=\"attach\"; filename=\"a.bin\"\r\n\r\n")
	}
	for s.srv.mailSlots.inUse("taro@example.jp") < maxMailRequests {
		time.Sleep(10 * time.Millisecond) // wait for the uploads to be running
	}
	resp, _ := s.do(c, "GET", s.secure.URL+"/mail/", nil, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a request past %d running: %d (Retry-After %q), want 429 with Retry-After", maxMailRequests, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	other := s.client(s.secure)
	s.loginAs(other, "hanako@example.jp", "battery staple")
	if resp, _ := s.do(other, "GET", s.secure.URL+"/mail/", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("another account: %d, want 200", resp.StatusCode)
	}
	uploads[0].CloseWithError(io.ErrUnexpectedEOF)
	<-done
	for s.srv.mailSlots.inUse("taro@example.jp") >= maxMailRequests {
		time.Sleep(10 * time.Millisecond)
	}
	if resp, _ := s.do(c, "GET", s.secure.URL+"/mail/", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("after an upload ended: %d, want 200", resp.StatusCode)
	}
}
