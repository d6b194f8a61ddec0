package edge

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// FeedEntry is one dynamic prefix as disclosed to carriers and receivers
// (the PBL-style list of "end-user ranges that should not deliver
// unauthenticated SMTP directly").
type FeedEntry struct {
	Prefix     string    `json:"prefix"`
	Pool       string    `json:"pool"`
	Family     string    `json:"family"`
	LastChange time.Time `json:"last_change"`
}

// Feed lists our dynamic space exactly as the DNSBL answers it
// (Policy.ListedSpace): static holes and exemptions are left out, so a
// receiver using the feed does not treat fixed-IP customers as dynamic.
func Feed(p *Policy) []FeedEntry {
	var out []FeedEntry
	for _, l := range p.ListedSpace() {
		fam := "ipv4"
		if l.Prefix.Addr().Is6() {
			fam = "ipv6"
		}
		out = append(out, FeedEntry{l.Prefix.String(), l.Pool, fam, l.Added.UTC()})
	}
	return out
}

// WriteFeed writes the feed as txt (one prefix a line), csv or json.
func WriteFeed(w io.Writer, format string, es []FeedEntry) error {
	switch format {
	case "txt", "":
		fmt.Fprintf(w, "# dynamic subscriber prefixes: direct-to-MX SMTP from these is not expected\n")
		for _, e := range es {
			if _, err := fmt.Fprintln(w, e.Prefix); err != nil {
				return err
			}
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"prefix", "pool", "family", "last_change"})
		for _, e := range es {
			cw.Write([]string{e.Prefix, e.Pool, e.Family, e.LastChange.Format(time.RFC3339)})
		}
		cw.Flush()
		return cw.Error()
	case "json":
		if es == nil {
			es = []FeedEntry{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(es)
	}
	return fmt.Errorf("feed format %q: want txt, csv or json", format)
}
