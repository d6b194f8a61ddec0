package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
)

// CheckFiles opens every file a setting names (the *_file keys: the TLS
// and fleet certificates, secrets, the notice text) and reports, by key,
// those that cannot be read. Load does not: a command other than serve
// needs none of them, and may run as a user who cannot read the secrets.
// `mailgate config check` does, so that it does not say OK to a file
// serve would then stop on.
func (c *Config) CheckFiles() error {
	var errs []error
	walkFileSettings(reflect.ValueOf(c).Elem(), "", func(key, path string) {
		f, err := os.Open(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			return
		}
		f.Close()
	})
	return errors.Join(errs...)
}

// walkFileSettings calls fn for every non-empty string setting under v
// whose key ends in _file.
func walkFileSettings(v reflect.Value, prefix string, fn func(key, path string)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		fv := v.Field(i)
		switch {
		case fv.Kind() == reflect.Struct && name == "" && f.Anonymous:
			walkFileSettings(fv, prefix, fn)
		case fv.Kind() == reflect.Struct && name != "":
			walkFileSettings(fv, prefix+name+".", fn)
		case fv.Kind() == reflect.String && strings.HasSuffix(name, "_file") && fv.String() != "":
			fn(prefix+name, fv.String())
		}
	}
}
