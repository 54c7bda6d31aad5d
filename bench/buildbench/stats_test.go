package main

import (
	"slices"
	"testing"
	"time"
)

const ms1 = time.Millisecond

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want spread
	}{
		{"empty", nil, spread{}},
		{"one", []time.Duration{5 * ms1}, spread{1, 5 * ms1, 5 * ms1, 5 * ms1}},
		{"odd, unsorted", []time.Duration{9 * ms1, 1 * ms1, 4 * ms1}, spread{3, 1 * ms1, 4 * ms1, 9 * ms1}},
		{"even: mean of the middle two", []time.Duration{4 * ms1, 1 * ms1, 2 * ms1, 100 * ms1}, spread{4, 1 * ms1, 3 * ms1, 100 * ms1}},
		{"ties", []time.Duration{2 * ms1, 2 * ms1, 2 * ms1, 7 * ms1, 2 * ms1}, spread{5, 2 * ms1, 2 * ms1, 7 * ms1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			if got := summarize(in); got != tt.want {
				t.Errorf("summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("summarize reordered its input: %v, was %v", in, tt.in)
			}
		})
	}
}

func TestRatioSpread(t *testing.T) {
	s := time.Second
	tests := []struct {
		name        string
		num, den    []time.Duration
		n           int
		lo, mid, hi float64
	}{
		{"none", nil, nil, 0, 0, 0, 0},
		{"pairs", []time.Duration{12 * s, 10 * s, 30 * s}, []time.Duration{10 * s, 10 * s, 20 * s}, 3, 1.0, 1.2, 1.5},
		{"even count", []time.Duration{1 * s, 3 * s}, []time.Duration{1 * s, 1 * s}, 2, 1, 2, 3},
		{"missing side skipped", []time.Duration{2 * s, 0, 4 * s}, []time.Duration{1 * s, 1 * s, 1 * s}, 2, 2, 3, 4},
		{"unequal lengths use the pairs", []time.Duration{2 * s, 2 * s, 2 * s}, []time.Duration{1 * s}, 1, 2, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, lo, mid, hi := ratioSpread(tt.num, tt.den)
			if n != tt.n || !near(lo, tt.lo) || !near(mid, tt.mid) || !near(hi, tt.hi) {
				t.Errorf("ratioSpread = %d %.3f %.3f %.3f, want %d %.3f %.3f %.3f", n, lo, mid, hi, tt.n, tt.lo, tt.mid, tt.hi)
			}
		})
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		a, b time.Duration
		want float64
	}{
		{30 * time.Second, 2 * time.Second, 15},
		{time.Second, 0, 0},
		{0, time.Second, 0},
	}
	for _, tt := range tests {
		if got := ratio(tt.a, tt.b); !near(got, tt.want) {
			t.Errorf("ratio(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
