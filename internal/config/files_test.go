package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFilesNamesTheKey: a file setting that names no readable file
// is reported with its key; readable ones and empty settings pass.
func TestCheckFilesNamesTheKey(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "radius.secret")
	if err := os.WriteFile(secret, []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(write(t, `[tls]
cert_file = "`+filepath.Join(dir, "fullchain.pem")+`"
key_file = "`+filepath.Join(dir, "privkey.pem")+`"
[listen]
radius_accounting = "127.0.0.1:11813"
[radius]
secret_file = "`+secret+`"
`))
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckFiles()
	if err == nil || !strings.Contains(err.Error(), "tls.cert_file: open "+filepath.Join(dir, "fullchain.pem")+": no such file or directory") ||
		!strings.Contains(err.Error(), "tls.key_file: open ") || strings.Contains(err.Error(), "radius") {
		t.Fatalf("CheckFiles: %v", err)
	}
	if err := Default().CheckFiles(); err != nil {
		t.Fatalf("the zero config names no file: %v", err)
	}
}
