package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mailgate/internal/store"
)

// The console's charts: what the fleet's nodes wrote to the store's
// hourly buckets (store.RecordNodeStats: messages in and out, refusals by
// reason, queue size; the edge routers' blocked attempts), drawn as
// inline SVG by the server, so they need no script (the CSP allows none)
// and scale to a phone's width. Every number is also in a table under
// the chart.

// chartHours is how many hourly buckets the charts show, the current
// one last.
const chartHours = 24

// Chart geometry, in SVG user units (the viewBox; the page scales it).
const (
	chartW, chartH   = 480.0, 150.0
	plotTop, plotBot = 10.0, 130.0 // the bars' span; the hour labels below
	plotLeft         = 36.0        // room for the scale
)

type chartSeg struct {
	Y, H  float64
	Class string // the series' colour in style.css
	Title string // the tooltip: "14:00 UTC in.mx 3"
}

type chartBar struct {
	X, W float64
	Segs []chartSeg
}

type chartLabel struct {
	X    float64
	Text string
}

type chartLegend struct {
	Class, Name string
	Total       int64
}

// barChart is one stacked bar chart of hourly series.
type barChart struct {
	L      Lang
	ID     string
	Title  string
	Max    int64 // the scale's top
	Total  int64 // all series over all hours
	Bars   []chartBar
	Hours  []chartLabel
	Legend []chartLegend
	Rows   []chartRow // the numbers, for the table
}

type chartRow struct {
	Hour   string
	Values []int64
}

// chartSeries names one series of a chart: its store name and its label.
type chartSeries struct{ series, label string }

// newBarChart stacks series over the hours from first (a bucket start).
func newBarChart(l Lang, id, title string, data map[string][]store.StatPoint, first time.Time, series []chartSeries) barChart {
	c := barChart{L: l, ID: id, Title: title}
	values := make([][]int64, len(series)) // [series][hour]
	for i, s := range series {
		values[i] = make([]int64, chartHours)
		for _, p := range data[s.series] {
			if h := int(p.Bucket.Sub(first) / store.StatsBucket); h >= 0 && h < chartHours {
				values[i][h] += p.Value
			}
		}
		var total int64
		for _, v := range values[i] {
			total += v
		}
		c.Total += total
		c.Legend = append(c.Legend, chartLegend{Class: fmt.Sprintf("s%d", i), Name: s.label, Total: total})
	}
	for h := range chartHours {
		var sum int64
		for i := range series {
			sum += values[i][h]
		}
		c.Max = max(c.Max, sum)
	}
	c.Max = niceCeil(c.Max)
	step := (chartW - plotLeft) / chartHours
	for h := range chartHours {
		at := first.Add(time.Duration(h) * store.StatsBucket).UTC()
		bar := chartBar{X: plotLeft + float64(h)*step + 1, W: step - 2}
		row := chartRow{Hour: at.Format("01-02 15:04")}
		y := plotBot
		for i, s := range series {
			v := values[i][h]
			row.Values = append(row.Values, v)
			if v == 0 {
				continue
			}
			hgt := float64(v) / float64(c.Max) * (plotBot - plotTop)
			y -= hgt
			bar.Segs = append(bar.Segs, chartSeg{Y: y, H: hgt, Class: fmt.Sprintf("s%d", i),
				Title: fmt.Sprintf("%s UTC, %s: %d", at.Format("15:04"), s.label, v)})
		}
		c.Bars = append(c.Bars, bar)
		c.Rows = append(c.Rows, row)
		if h%6 == 0 {
			c.Hours = append(c.Hours, chartLabel{X: bar.X, Text: at.Format("15:04")})
		}
	}
	return c
}

// niceCeil rounds a chart's top up to 1, 2 or 5 times a power of ten, so
// the scale reads easily; an empty chart gets a scale of 1.
func niceCeil(n int64) int64 {
	if n <= 1 {
		return 1
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

// hbar is one horizontal bar of a ranking (top sources, reasons).
type hbar struct {
	W                    float64
	TextY, RectY, ValueX float64
	Label                string
	Note                 string
	Value                int64
}

type hbarChart struct {
	L      Lang
	ID     string
	Title  string
	Height float64
	Bars   []hbar
}

const hbarRow = 22.0

func newHbarChart(l Lang, id, title string, bars []hbar) hbarChart {
	var top int64
	for _, b := range bars {
		top = max(top, b.Value)
	}
	c := hbarChart{L: l, ID: id, Title: title, Height: hbarRow * float64(len(bars))}
	for i, b := range bars {
		y := float64(i) * hbarRow
		b.W = 1
		if top > 0 {
			b.W = max(1, float64(b.Value)/float64(top)*(chartW-200))
		}
		b.TextY, b.RectY, b.ValueX = y+15, y+4, 134+b.W
		c.Bars = append(c.Bars, b)
	}
	return c
}

type consoleChartsData struct {
	Since    time.Time
	Blocked  barChart
	Sources  hbarChart
	Queue    barChart
	In       barChart
	Out      barChart
	Refusals hbarChart
}

func (s *Server) consoleCharts(w http.ResponseWriter, r *http.Request) {
	l := pickLang(r)
	first := store.StatBucketOf(time.Now()).Add(-(chartHours - 1) * store.StatsBucket)
	data, err := s.st.StatSeries(r.Context(), first)
	var top []store.AttemptRecord
	if err == nil {
		top, err = s.st.AttemptsReport(r.Context(), 10)
	}
	if err != nil {
		s.log.Error("web: console charts", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	d := consoleChartsData{Since: first.UTC()}
	d.Blocked = newBarChart(l, "blocked", l.T("chart.blocked"), data, first,
		[]chartSeries{{store.StatEdgeBlocked, l.T("chart.blocked.s")}})
	d.Queue = newBarChart(l, "queue", l.T("chart.queue"), data, first,
		[]chartSeries{{store.StatQueue, l.T("chart.queue.s")}})
	d.In = newBarChart(l, "in", l.T("chart.in"), data, first,
		[]chartSeries{{"in.mx", l.T("chart.in.mx")}, {"in.submission", l.T("chart.in.submission")}})
	d.Out = newBarChart(l, "out", l.T("chart.out"), data, first,
		[]chartSeries{{"out.delivered", l.T("chart.out.delivered")}, {"out.deferred", l.T("chart.out.deferred")}, {"out.failed", l.T("chart.out.failed")}})
	var sources []hbar
	for _, a := range top {
		sources = append(sources, hbar{Label: a.Source.String(), Note: a.Pool, Value: int64(a.Attempts)})
	}
	d.Sources = newHbarChart(l, "sources", l.T("chart.sources"), sources)
	d.Refusals = newHbarChart(l, "refusals", l.T("chart.refusals"), refusalBars(l, data))
	s.render(w, r, http.StatusOK, "console_charts", d)
}

// refusalBars totals the reject.<code> series over the charted hours,
// most frequent first, each with its reason in words.
func refusalBars(l Lang, data map[string][]store.StatPoint) []hbar {
	var out []hbar
	for series, pts := range data {
		code, ok := strings.CutPrefix(series, "reject.")
		if !ok {
			continue
		}
		var n int64
		for _, p := range pts {
			n += p.Value
		}
		out = append(out, hbar{Label: code, Note: refusalReason(l, code), Value: n})
	}
	slices.SortFunc(out, func(a, b hbar) int {
		return cmp.Or(cmp.Compare(b.Value, a.Value), strings.Compare(a.Label, b.Label))
	})
	return out
}

// refusalReason says what an enhanced status code means: the IANA
// registry's text for the codes mailgate sends, else its subject (RFC
// 3463 §3: X.1 addressing, X.2 mailbox, ... X.7 security or policy).
func refusalReason(l Lang, code string) string {
	parts := strings.Split(code, ".")
	if len(parts) != 3 {
		return ""
	}
	if _, ok := catalog["rej."+parts[1]+"."+parts[2]]; ok {
		return l.T("rej." + parts[1] + "." + parts[2])
	}
	if n, err := strconv.Atoi(parts[1]); err == nil && n >= 0 && n <= 7 {
		return l.T("rej." + parts[1])
	}
	return ""
}
