package model

import (
	"math"
	"testing"
)

// inf is +Inf, for bucket tables.
var inf = math.Inf(+1)

// bk builds buckets from bound, count pairs.
func bk(pairs ...float64) []Bucket {
	out := make([]Bucket, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Bucket{UpperBound: pairs[i], Count: pairs[i+1]})
	}
	return out
}

// The vectors below are ported from Prometheus's
// promql/promqltest/testdata/histograms.test (classic `_bucket` cases,
// values at 50m: each series `0+Nx10` holds 10×N; rates over a window scale
// every bucket alike and give the same quantiles). Aggregations are summed
// by hand per le, as `sum by (le)` does.
var (
	testhistogramPositive = bk(0.1, 50, 0.2, 70, 1, 110, inf, 120)
	testhistogramNegative = bk(-0.2, 10, -0.1, 20, 0.3, 20, inf, 30)
	testhistogram2        = bk(0, 0, 2, 10, 4, 20, 6, 30, inf, 30)
	testhistogram3Pos     = bk(0, 0, 0.1, 50, 0.2, 70, 1, 110, inf, 110)
	testhistogram3Neg     = bk(-0.25, 0, -0.2, 10, -0.1, 20, 0.3, 20, inf, 20)
	requestDurationAll    = bk(0.1, 100, 0.2, 190, inf, 250)
	nonmonotonic          = bk(0.1, 20, 1, 10, 10, 50, 100, 40, 1000, 90, inf, 80)
	// le="0.2", "2e-1" and "2.0e-1" are one bound after parsing.
	mixedIns1 = bk(0.1, 10, 0.2, 10, 0.2, 10, 0.2, 10, inf, 40)
	mixedIns2 = bk(inf, 0, inf, 0)
)

func TestHistogramQuantilePrometheusVectors(t *testing.T) {
	tests := []struct {
		name    string
		q       float64
		buckets []Bucket
		want    float64
	}{
		{"testhistogram3 positive q0", 0, testhistogram3Pos, 0},
		{"testhistogram3 negative q0", 0, testhistogram3Neg, -0.25},
		{"testhistogram3 positive q0.25", 0.25, testhistogram3Pos, 0.055},
		{"testhistogram3 negative q0.25", 0.25, testhistogram3Neg, -0.225},
		{"testhistogram3 positive q0.5", 0.5, testhistogram3Pos, 0.125},
		{"testhistogram3 negative q0.5", 0.5, testhistogram3Neg, -0.2},
		{"testhistogram3 positive q0.75", 0.75, testhistogram3Pos, 0.45},
		{"testhistogram3 negative q0.75", 0.75, testhistogram3Neg, -0.15},
		{"testhistogram3 positive q1", 1, testhistogram3Pos, 1},
		{"testhistogram3 negative q1", 1, testhistogram3Neg, -0.1},
		{"quantile too low, positive", -0.1, testhistogramPositive, math.Inf(-1)},
		{"quantile too low, negative", -0.1, testhistogramNegative, math.Inf(-1)},
		{"quantile too high, positive", 1.01, testhistogramPositive, inf},
		{"quantile too high, negative", 1.01, testhistogramNegative, inf},
		{"quantile NaN, positive", math.NaN(), testhistogramPositive, math.NaN()},
		{"quantile NaN, negative", math.NaN(), testhistogramNegative, math.NaN()},
		{"lowest bucket, positive", 0, testhistogramPositive, 0},
		{"lowest bucket, negative", 0, testhistogramNegative, -0.2},
		{"highest bucket, positive", 1, testhistogramPositive, 1},
		{"highest bucket, negative", 1, testhistogramNegative, 0.3},
		{"q0.2 positive", 0.2, testhistogramPositive, 0.048},
		{"q0.2 negative", 0.2, testhistogramNegative, -0.2},
		{"q0.5 positive", 0.5, testhistogramPositive, 0.15},
		{"q0.5 negative", 0.5, testhistogramNegative, -0.15},
		{"q0.8 positive", 0.8, testhistogramPositive, 0.72},
		{"q0.8 negative", 0.8, testhistogramNegative, 0.3},
		{"middle of bucket q1/6", 1. / 6., testhistogram2, 1},
		{"middle of bucket q0.5", 0.5, testhistogram2, 3},
		{"middle of bucket q5/6", 5. / 6., testhistogram2, 5},
		{"sum by le q0.3", 0.3, requestDurationAll, 0.075},
		{"sum by le q0.5", 0.5, requestDurationAll, 0.1277777777777778},
		{"by instance ins1 q0.3", 0.3, bk(0.1, 40, 0.2, 70, inf, 100), 0.075},
		{"by instance ins2 q0.3", 0.3, bk(0.1, 60, 0.2, 120, inf, 150), 0.075},
		{"by instance ins1 q0.5", 0.5, bk(0.1, 40, 0.2, 70, inf, 100), 0.1333333333},
		{"by instance ins2 q0.5", 0.5, bk(0.1, 60, 0.2, 120, inf, 150), 0.125},
		{"by job job1 q0.3", 0.3, bk(0.1, 30, 0.2, 80, inf, 100), 0.1},
		{"by job job2 q0.3", 0.3, bk(0.1, 70, 0.2, 110, inf, 150), 0.0642857142857143},
		{"by job job1 q0.5", 0.5, bk(0.1, 30, 0.2, 80, inf, 100), 0.14},
		{"by job job2 q0.5", 0.5, bk(0.1, 70, 0.2, 110, inf, 150), 0.1125},
		{"job1 ins1 q0.3", 0.3, bk(0.1, 10, 0.2, 30, inf, 40), 0.11},
		{"job1 ins2 q0.3", 0.3, bk(0.1, 20, 0.2, 50, inf, 60), 0.09},
		{"job2 ins1 q0.3", 0.3, bk(0.1, 30, 0.2, 40, inf, 60), 0.06},
		{"job2 ins2 q0.3", 0.3, bk(0.1, 40, 0.2, 70, inf, 90), 0.0675},
		{"job1 ins1 q0.5", 0.5, bk(0.1, 10, 0.2, 30, inf, 40), 0.15},
		{"job1 ins2 q0.5", 0.5, bk(0.1, 20, 0.2, 50, inf, 60), 0.13333333333333333},
		{"job2 ins1 q0.5", 0.5, bk(0.1, 30, 0.2, 40, inf, 60), 0.1},
		{"job2 ins2 q0.5", 0.5, bk(0.1, 40, 0.2, 70, inf, 90), 0.11666666666666667},
		{"nonmonotonic q0.01", 0.01, nonmonotonic, 0.0045},
		{"nonmonotonic q0.5", 0.5, nonmonotonic, 8.5},
		{"nonmonotonic q0.99", 0.99, nonmonotonic, 979.75},
		{"mixed le ins1 q0.5", 0.5, mixedIns1, 0.15},
		{"mixed le ins1 q0.75", 0.75, mixedIns1, 0.2},
		{"mixed le ins1 q1", 1, mixedIns1, 0.2},
		{"mixed le ins2 q0.5", 0.5, mixedIns2, math.NaN()},
		{"mixed le ins2 q1", 1, mixedIns2, math.NaN()},
		{"empty buckets", 0.2, bk(0.1, 0, 0.2, 0, inf, 0), math.NaN()},
		{"constant buckets, zero rate", 1, bk(0, 0, 1, 0, 2, 0, inf, 0), math.NaN()},
		// Cases of the function's contract not in histograms.test.
		{"no +Inf bucket", 0.5, bk(0.1, 1, 0.2, 2), math.NaN()},
		{"no buckets", 0.5, nil, math.NaN()},
		{"unsorted input", 0.5, bk(inf, 120, 1, 110, 0.1, 50, 0.2, 70), 0.15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]Bucket(nil), tt.buckets...)
			got := HistogramQuantile(tt.q, in)
			if !sameFloat(got, tt.want) {
				t.Errorf("HistogramQuantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.buckets[i] {
					t.Fatalf("input modified at %d", i)
				}
			}
		})
	}
}

// sameFloat compares like promqltest: NaN equals NaN, infinities by sign,
// numbers within a relative 1e-6 (its default epsilon).
func sameFloat(got, want float64) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsInf(want, 0):
		return got == want
	}
	return math.Abs(got-want) <= 1e-6*math.Max(1, math.Abs(want))
}

func TestQuantilesOfMatchesHistogramQuantile(t *testing.T) {
	var scratch []Bucket
	for _, bs := range [][]Bucket{testhistogramPositive, testhistogramNegative, nonmonotonic, requestDurationAll} {
		bounds, counts := make([]float64, len(bs)), make([]float64, len(bs))
		for i, b := range bs {
			bounds[i], counts[i] = b.UpperBound, b.Count
		}
		got := quantilesOf(bounds, counts, &scratch)
		for i, v := range []Value{got.P50, got.P90, got.P99, got.P999} {
			if want := HistogramQuantile(quantileLevels[i], bs); !sameFloat(float64(v), want) {
				t.Errorf("%v: level %v = %v, want %v", bs, quantileLevels[i], v, want)
			}
		}
	}
}
