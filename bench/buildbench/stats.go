package main

// Statistics over repeated runs. The machine is shared, so every figure is
// reported as a spread (min, median, max) and ratios are taken between
// medians, or between the two halves of one interleaved round.

import (
	"slices"
	"time"
)

// spread summarises repeated measurements of one thing.
type spread struct {
	N                int
	Min, Median, Max time.Duration
}

// summarize returns the spread of ds; the median of an even count is the
// mean of the middle two. An empty ds gives the zero spread (N == 0), which
// the report shows as "n/a" rather than as a time of zero.
func summarize(ds []time.Duration) spread {
	if len(ds) == 0 {
		return spread{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return spread{N: n, Min: s[0], Median: med, Max: s[n-1]}
}

// ratio is a/b, or 0 when either is missing.
func ratio(a, b time.Duration) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ratioSpread summarises the per-round ratios num[i]/den[i] of paired runs.
// Pairs with a missing side are skipped.
func ratioSpread(num, den []time.Duration) (n int, lo, mid, hi float64) {
	var rs []float64
	for i := range min(len(num), len(den)) {
		if r := ratio(num[i], den[i]); r > 0 {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(rs)
	k := len(rs)
	mid = rs[k/2]
	if k%2 == 0 {
		mid = (rs[k/2-1] + rs[k/2]) / 2
	}
	return k, rs[0], mid, rs[k-1]
}
