package dnsrecords

import (
	"context"
	"fmt"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"

	"mailgate/internal/dns"
)

// Status of one expected record in the live DNS.
type Status string

const (
	OK        Status = "ok"
	Missing   Status = "missing"
	Different Status = "different"
	Failed    Status = "error" // the lookup itself failed (try again)
)

// Finding is the verdict on one expected record.
type Finding struct {
	Record
	Status Status
	Found  []string // what the DNS holds instead (Different), or the error
}

// Lookuper is what Check asks; *dns.Client is one.
type Lookuper interface {
	LookupRR(ctx context.Context, name string, qtype uint16) ([]mdns.RR, error)
}

// Check looks each record up and compares. Records of one kind that share
// a name (MX hosts) are compared as a set; TXT records are matched by
// their version tag (v=spf1, v=DMARC1 ...), since a name often holds
// other TXT records too.
func Check(ctx context.Context, r Lookuper, z *Zone) []Finding {
	var out []Finding
	for _, want := range z.Records {
		f := Finding{Record: want, Status: OK}
		rrs, err := r.LookupRR(ctx, want.Name, want.Type)
		switch {
		case dns.IsNotFound(err):
			f.Status = Missing
		case err != nil:
			f.Status, f.Found = Failed, []string{err.Error()}
		default:
			f.Status, f.Found = compare(want, rrs, z.Records)
		}
		out = append(out, f)
	}
	return out
}

// compare judges the live records at want's name against want.
func compare(want Record, rrs []mdns.RR, all []Record) (Status, []string) {
	var live []string
	for _, rr := range rrs {
		live = append(live, rdata(rr))
	}
	switch want.Type {
	case mdns.TypeTXT:
		tag := versionTag(want.Data)
		var same []string
		for _, l := range live {
			if strings.EqualFold(versionTag(l), tag) {
				same = append(same, l)
			}
		}
		switch {
		case len(same) == 0:
			return Missing, nil
		case len(same) == 1 && sameTXT(want.Data, same[0]):
			return OK, nil
		}
		return Different, same
	case mdns.TypeMX:
		// Every MX host we publish, and no other.
		var wantSet []string
		for _, r := range all {
			if r.Type == mdns.TypeMX && r.Name == want.Name {
				wantSet = append(wantSet, norm(r.Data))
			}
		}
		got := make([]string, len(live))
		for i, l := range live {
			got[i] = norm(l)
		}
		if !slices.Contains(got, norm(want.Data)) || len(got) != len(wantSet) {
			return Different, live
		}
		return OK, nil
	}
	if len(live) == 1 && norm(live[0]) == norm(want.Data) {
		return OK, nil
	}
	return Different, live
}

// rdata is a record's data in zone form; TXT strings joined, unquoted.
func rdata(rr mdns.RR) string {
	if t, ok := rr.(*mdns.TXT); ok {
		return dns.TXTData(t)
	}
	h := rr.Header().String()
	return strings.TrimSpace(strings.TrimPrefix(rr.String(), h))
}

func norm(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// versionTag is a TXT record's first tag ("v=spf1", "v=DMARC1").
func versionTag(s string) string {
	first, _, _ := strings.Cut(s, ";")
	first, _, _ = strings.Cut(strings.TrimSpace(first), " ")
	return strings.ReplaceAll(first, " ", "")
}

// sameTXT compares records as their syntax allows: SPF terms in any
// spacing, tag-lists (DKIM, DMARC, STS, TLS-RPT) as tag sets.
func sameTXT(a, b string) bool {
	if strings.HasPrefix(strings.ToLower(a), "v=spf1") {
		return norm(a) == norm(b)
	}
	return slices.Equal(tagSet(a), tagSet(b))
}

func tagSet(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(t, "=")
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k+"="+strings.Join(strings.Fields(v), ""))
		}
	}
	slices.Sort(out)
	return out
}

// Report prints the findings, one line each, and says whether all are ok.
func Report(findings []Finding) (string, bool) {
	var b strings.Builder
	good := true
	for _, f := range findings {
		fmt.Fprintf(&b, "%-9s %s %s", f.Status, f.Name, mdns.TypeToString[f.Type])
		if f.Status != OK {
			good = false
			fmt.Fprintf(&b, "\n          want: %s", f.Data)
			for _, x := range f.Found {
				fmt.Fprintf(&b, "\n          found: %s", x)
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), good
}
