package fleet

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func tarOf(t *testing.T, entries ...tar.Header) *tar.Reader {
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, h := range entries {
		body := []byte("x")
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := w.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			w.Write(body)
		}
	}
	w.Close()
	return tar.NewReader(&b)
}

// TestExtractStaysInside: a received Maildir is written under its root
// only: names leaving it, links and devices are refused.
func TestExtractStaysInside(t *testing.T) {
	root := t.TempDir()
	ok := tarOf(t, tar.Header{Typeflag: tar.TypeDir, Name: "cur/"}, tar.Header{Typeflag: tar.TypeReg, Name: "cur/1.M1.host,S=1:2,S"},
		tar.Header{Typeflag: tar.TypeReg, Name: "mailgate-uidlist"})
	if err := extract(ok, root); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "cur", "1.M1.host,S=1:2,S")); err != nil || string(b) != "x" {
		t.Fatalf("extracted file: %q, %v", b, err)
	}
	for name, h := range map[string]tar.Header{
		"dot-dot":  {Typeflag: tar.TypeReg, Name: "../escape"},
		"absolute": {Typeflag: tar.TypeReg, Name: "/tmp/escape"},
		"nested":   {Typeflag: tar.TypeReg, Name: "cur/../../escape"},
		"symlink":  {Typeflag: tar.TypeSymlink, Name: "link", Linkname: "/etc/passwd"},
		"hardlink": {Typeflag: tar.TypeLink, Name: "hl", Linkname: "mailgate-uidlist"},
		"device":   {Typeflag: tar.TypeChar, Name: "dev"},
	} {
		dir := t.TempDir()
		if err := extract(tarOf(t, h), filepath.Join(dir, "root")); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
			t.Errorf("%s: wrote outside the root", name)
		}
	}
}
