package loadgen

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"mailgate/internal/certs"
)

// TestFloorTakesEveryMessageWhole: the floor server answers the pipelined
// client's every command, so each message gets its 250; with a durable
// directory each one is a file there holding the content as sent, with
// the dot-stuffing undone (RFC 5321 §4.5.2).
func TestFloorTakesEveryMessageWhole(t *testing.T) {
	cert, err := certs.Load("", "", t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, durable := range []string{"", dir} {
		l := Load{Clients: 3, PerConn: 2, Size: 2048, Messages: 10}
		r, err := Floor(context.Background(), certs.ServerConfig(cert), durable, l)
		if err != nil || r.Sent != 10 || r.Failed != 0 {
			t.Fatalf("durable %q: sent %d, failed %d, %v (%v)", durable, r.Sent, r.Failed, err, r.FirstErr)
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "new", "*"))
	if err != nil || len(files) != 10 {
		t.Fatalf("%d files in new/, want 10 (%v)", len(files), err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 2048 || !bytes.HasPrefix(b, []byte("From: <floor@floor.invalid>\r\n")) || !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatalf("stored message: %d bytes, %q ... %q", len(b), b[:40], b[len(b)-10:])
	}
}

// TestFloorContentDotStuffing: a content line the client stuffed comes
// back with one dot.
func TestFloorContentDotStuffing(t *testing.T) {
	lines := [][]byte{[]byte("a\r\n"), []byte("..b\r\n"), []byte(".\r\n")}
	var msg bytes.Buffer
	err := readContent(func() ([]byte, error) { l := lines[0]; lines = lines[1:]; return l, nil }, &msg)
	if err != nil || msg.String() != "a\r\n.b\r\n" {
		t.Fatalf("content %q, %v", msg.String(), err)
	}
}
