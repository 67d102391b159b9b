package model

import (
	"math"
	"slices"
	"sort"
)

// Bucket is one cumulative bucket of a classic histogram: the number of
// observations less than or equal to UpperBound.
type Bucket struct {
	UpperBound float64
	Count      float64
}

// precisionTolerance is Prometheus's tolerance for float noise between
// neighbouring bucket counts (promql/quantile.go, correctPrecisionErrors).
const precisionTolerance = 1e-12

// HistogramQuantile returns the q-quantile of a classic histogram the way
// Prometheus's histogram_quantile does (promql/quantile.go, bucketQuantile):
// buckets are sorted by upper bound, equal bounds merged, a +Inf bucket is
// required, float noise and decreases are flattened, and the value is
// interpolated linearly inside the bucket holding the rank, with an implicit
// lower bound of 0. Special cases: q NaN → NaN, q < 0 → -Inf, q > 1 → +Inf,
// no +Inf bucket, fewer than two buckets or no observations → NaN; a rank in
// the +Inf bucket gives the highest finite bound; a rank in a first bucket
// whose bound is ≤ 0 gives that bound.
//
// It is a port rather than an import because Prometheus's engine is not a
// dependency of this module; buckets is not modified.
func HistogramQuantile(q float64, buckets []Bucket) float64 {
	if math.IsNaN(q) {
		return math.NaN()
	}
	if q < 0 {
		return math.Inf(-1)
	}
	if q > 1 {
		return math.Inf(+1)
	}
	if len(buckets) == 0 {
		return math.NaN()
	}
	bs := slices.Clone(buckets)
	slices.SortStableFunc(bs, func(a, b Bucket) int {
		switch {
		case a.UpperBound < b.UpperBound:
			return -1
		case a.UpperBound > b.UpperBound:
			return +1
		}
		return 0
	})
	if !math.IsInf(bs[len(bs)-1].UpperBound, +1) {
		return math.NaN()
	}
	bs = coalesceBuckets(bs)
	correctPrecisionErrors(bs)
	ensureMonotonic(bs)
	return quantileOfPrepared(q, bs)
}

// quantileOfPrepared is the interpolation step of HistogramQuantile on
// buckets that are sorted, coalesced, monotonic and end in +Inf.
func quantileOfPrepared(q float64, bs []Bucket) float64 {
	if math.IsNaN(q) {
		return math.NaN()
	}
	if q < 0 {
		return math.Inf(-1)
	}
	if q > 1 {
		return math.Inf(+1)
	}
	if len(bs) < 2 {
		return math.NaN()
	}
	observations := bs[len(bs)-1].Count
	if observations == 0 {
		return math.NaN()
	}
	rank := q * observations
	b := sort.Search(len(bs)-1, func(i int) bool { return bs[i].Count >= rank })
	if b == len(bs)-1 {
		return bs[len(bs)-2].UpperBound
	}
	if b == 0 && bs[0].UpperBound <= 0 {
		return bs[0].UpperBound
	}
	var (
		start float64
		end   = bs[b].UpperBound
		count = bs[b].Count
	)
	if b > 0 {
		start = bs[b-1].UpperBound
		count -= bs[b-1].Count
		rank -= bs[b-1].Count
	}
	return start + (end-start)*(rank/count)
}

// coalesceBuckets merges buckets with the same upper bound; bs is sorted.
func coalesceBuckets(bs []Bucket) []Bucket {
	last := bs[0]
	i := 0
	for _, b := range bs[1:] {
		if b.UpperBound == last.UpperBound {
			last.Count += b.Count
			continue
		}
		bs[i] = last
		last = b
		i++
	}
	bs[i] = last
	return bs[:i+1]
}

// correctPrecisionErrors flattens differences between neighbours that are
// float noise, so they are not mistaken for decreases.
func correctPrecisionErrors(bs []Bucket) {
	prev := bs[0].Count
	for i := 1; i < len(bs); i++ {
		curr := bs[i].Count
		delta := math.Abs(curr - prev)
		if delta == 0 {
			continue
		}
		if delta/curr <= precisionTolerance {
			bs[i].Count = prev
			continue
		}
		prev = curr
	}
}

// ensureMonotonic removes decreases between successive buckets (the
// histogram's envelope), which the binary search relies on.
func ensureMonotonic(bs []Bucket) {
	maxCount := bs[0].Count
	for i := 1; i < len(bs); i++ {
		switch {
		case bs[i].Count > maxCount:
			maxCount = bs[i].Count
		case bs[i].Count < maxCount:
			bs[i].Count = maxCount
		}
	}
}
