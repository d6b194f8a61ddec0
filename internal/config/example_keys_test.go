package config

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// tomlKeys lists the dotted key of every setting in t (a struct type): the
// names a config file can use.
func tomlKeys(t reflect.Type, prefix string, out map[string]bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" {
			continue
		}
		if name == "" && f.Anonymous {
			tomlKeys(f.Type, prefix, out) // embedded: its keys are the parent's
			continue
		}
		if name == "" {
			name = f.Name
		}
		key := prefix + name
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(textUnmarshaler) && ft.Kind() != reflect.Interface {
			tomlKeys(ft, key+".", out)
			continue
		}
		out[key] = true
	}
}

var textUnmarshaler = reflect.TypeOf((*interface{ UnmarshalText([]byte) error })(nil)).Elem()

// commentedKeys lists the settings the example shows commented out
// ("# key = value", under a live or commented-out table header): documented,
// though not set.
func commentedKeys() map[string]bool {
	keys := map[string]bool{}
	table := ""
	for _, line := range strings.Split(Example, "\n") {
		rest, commented := strings.CutPrefix(line, "# ")
		if !commented {
			rest = line
		}
		if h, ok := strings.CutPrefix(rest, "["); ok && (!commented || strings.HasSuffix(h, "]")) {
			table = strings.Trim(h, "[] ")
			continue
		}
		if commented && looksLikeSetting(rest) {
			k, _, _ := strings.Cut(rest, " = ")
			if table != "" {
				k = table + "." + k
			}
			keys[k] = true
		}
	}
	return keys
}

func looksLikeSetting(s string) bool {
	k, _, ok := strings.Cut(s, " = ")
	return ok && k != "" && strings.Trim(k, "abcdefghijklmnopqrstuvwxyz_0123456789") == ""
}

// TestExampleDocumentsEveryKey: every setting Config has appears in the
// example `mailgate config example` prints, commented out or not.
func TestExampleDocumentsEveryKey(t *testing.T) {
	var c Config
	md, err := toml.Decode(Example, &c)
	if err != nil {
		t.Fatal(err)
	}
	inExample := commentedKeys()
	for _, k := range md.Keys() {
		inExample[k.String()] = true
	}
	keys := map[string]bool{}
	tomlKeys(reflect.TypeOf(Config{}), "", keys)
	var missing []string
	for k := range keys {
		if !inExample[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("settings missing from the example (internal/config/example.go):\n%s", strings.Join(missing, "\n"))
	}
}
