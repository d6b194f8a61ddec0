package srs

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// LoadSecrets reads the secrets file at path, creating it with a new
// random secret (mode 0600) when it does not exist. The format is
// PostSRSd's: one secret per line, the first signs, the others are still
// accepted, so a secret is rotated by adding a new first line and
// removing the old one after max_age days. A file others may read is
// refused: whoever has the secret can make our SRS addresses relay to
// anyone.
func LoadSecrets(path string) ([][]byte, error) {
	if err := create(path); err != nil {
		return nil, err
	}
	return ReadSecrets(path)
}

// ReadSecrets is LoadSecrets without creating a missing file: for tools
// that check addresses the node made (mailgate srs).
func ReadSecrets(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("srs secret file %s does not exist: `mailgate serve` creates it at first start (check srs.secret_file and data_dir)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("srs secret file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("srs secret file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("srs secret file %s is readable by others (mode %04o): chmod 600 it", path, fi.Mode().Perm())
	}
	var secrets [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := bytes.TrimSpace(sc.Bytes()); len(s) > 0 {
			secrets = append(secrets, bytes.Clone(s))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("srs secret file %s: %w", path, err)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("srs secret file %s holds no secret: put one on its first line, or remove the file to have one generated", path)
	}
	return secrets, nil
}

// Open returns the Rewriter of domain with the secrets of secretFile,
// which is created first when create is set (LoadSecrets).
func Open(domain, secretFile string, maxAge int, create bool) (*Rewriter, error) {
	read := ReadSecrets
	if create {
		read = LoadSecrets
	}
	secrets, err := read(secretFile)
	if err != nil {
		return nil, err
	}
	return New(domain, secrets, maxAge)
}

// create writes a new secret to path unless the file exists: 32 random
// bytes in base64, fsynced, so the secret that signed an address sent
// out survives a crash. O_EXCL: two starts never write two secrets.
func create(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("srs secret file: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	_, err = fmt.Fprintln(f, base64.StdEncoding.EncodeToString(key))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("srs secret file %s: %w", path, err)
	}
	return nil
}
