package measure

import "testing"

// Issue 13 §5: with two runs the "median" was v[len/2], the better run.
func TestMedian(t *testing.T) {
	res := func(v ...float64) []Result {
		var rs []Result
		for _, x := range v {
			rs = append(rs, Result{Accepted: x})
		}
		return rs
	}
	accepted := func(r Result) float64 { return r.Accepted }
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{5}, 5}, {[]float64{900, 500}, 700}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(res(c.in...), accepted); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if got := Spread(res(900, 500), accepted, "%.0f"); got != "500 / 700 / 900" {
		t.Errorf("Spread = %q", got)
	}
}
