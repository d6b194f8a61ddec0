package edge

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/BurntSushi/toml"

	"mailgate/internal/store"
)

// Pool files are how operators move thousands of prefixes in and out of
// the store (from IPAM or RADIUS exports): CSV with columns
// pool,kind,prefix (the header line is optional, # starts a comment), or
// TOML with [[pool]] tables.

// tomlPools is the TOML form.
type tomlPools struct {
	Pool []tomlPool `toml:"pool"`
}

type tomlPool struct {
	Name     string   `toml:"name"`
	Kind     string   `toml:"kind"`
	Prefixes []string `toml:"prefixes"`
}

// utf8BOM is U+FEFF as UTF-8: spreadsheets saving "CSV UTF-8" start the
// file with it. It marks the encoding and is no part of the first field.
var utf8BOM = []byte("\xef\xbb\xbf")

// ParsePoolFile reads rows from data; toml selects the TOML form.
func ParsePoolFile(data []byte, isTOML bool) ([]store.PoolRow, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return nil, errors.New("pool file: UTF-16 text (a spreadsheet's \"Unicode text\"): save it as CSV UTF-8 or plain CSV")
	}
	if isTOML {
		var tp tomlPools
		md, err := toml.Decode(string(data), &tp)
		if err != nil {
			return nil, fmt.Errorf("pool file: %w", err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return nil, fmt.Errorf("pool file: unknown key %s: want [[pool]] with name, kind, prefixes", und[0])
		}
		var rows []store.PoolRow
		for _, p := range tp.Pool {
			for _, pfx := range p.Prefixes {
				rows = append(rows, store.PoolRow{Pool: p.Name, Kind: p.Kind, Prefix: pfx})
			}
		}
		return rows, nil
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var rows []store.PoolRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pool file: %w", err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != 3 {
			row, _ := r.FieldPos(0)
			return nil, fmt.Errorf("pool file line %d: %d columns, want 3: pool,kind,prefix", row, len(rec))
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if len(rows) == 0 && strings.EqualFold(rec[0], "pool") && strings.EqualFold(rec[1], "kind") && strings.EqualFold(rec[2], "prefix") {
			continue // the optional header
		}
		rows = append(rows, store.PoolRow{Pool: rec[0], Kind: strings.ToLower(rec[1]), Prefix: rec[2]})
	}
	return rows, nil
}

// WritePoolCSV writes prefixes in the import format, header first.
func WritePoolCSV(w io.Writer, ps []store.PoolPrefix) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"pool", "kind", "prefix"})
	for _, p := range ps {
		cw.Write([]string{p.Pool, p.Kind, p.Prefix.String()})
	}
	cw.Flush()
	return cw.Error()
}

// WritePoolTOML writes prefixes as [[pool]] tables.
func WritePoolTOML(w io.Writer, ps []store.PoolPrefix) error {
	var tp tomlPools
	idx := map[string]int{}
	for _, p := range ps {
		i, ok := idx[p.Pool]
		if !ok {
			i = len(tp.Pool)
			idx[p.Pool] = i
			tp.Pool = append(tp.Pool, tomlPool{Name: p.Pool, Kind: p.Kind})
		}
		tp.Pool[i].Prefixes = append(tp.Pool[i].Prefixes, p.Prefix.String())
	}
	return toml.NewEncoder(w).Encode(tp)
}
