package model

import (
	"math"
	"sort"
	"time"
)

// counterDelta is a counter's increase between two scrapes (DESIGN.md §7):
// a decrease is a reset, after which the new value is the increase.
func counterDelta(prev, cur float64) float64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// inWindow returns the samples with from ≤ t ≤ to (samples are oldest first).
func inWindow(ss []sample, from, to time.Time) []sample {
	i := sort.Search(len(ss), func(i int) bool { return !ss[i].t.Before(from) })
	j := samplesUpTo(ss, to)
	if i >= j {
		return nil
	}
	return ss[i:j]
}

// samplesUpTo returns how many of ss are at or before t. Snapshots almost
// always ask for every sample (t is the newest's time or later): that case
// costs one comparison instead of a binary search over the history.
func samplesUpTo(ss []sample, t time.Time) int {
	if n := len(ss); n == 0 || !ss[n-1].t.After(t) {
		return n
	}
	return sort.Search(len(ss), func(i int) bool { return ss[i].t.After(t) })
}

// increase returns a counter field's increase over the samples that carry
// it and the time between the first and the last of them (a scrape that
// lacked the series does not split the range, as in Prometheus's rate).
// ok is false with fewer than two such samples.
//
// The Store keeps counter fields as reset-free cumulatives (counterTrack):
// they never decrease, so the sum of the increases between neighbours is
// the last value minus the first, found in O(1) from the window's ends
// instead of a pass over it. Only a cumulative that overflowed to +Inf
// breaks that (Inf − Inf between neighbours is NaN), and is summed.
func increase(ss []sample, f int) (inc, span float64, ok bool) {
	first, last := 0, len(ss)-1
	for first <= last && math.IsNaN(ss[first].v[f]) {
		first++
	}
	for last > first && math.IsNaN(ss[last].v[f]) {
		last--
	}
	if first >= last {
		return nan, nan, false
	}
	span = ss[last].t.Sub(ss[first].t).Seconds()
	if a, b := ss[first].v[f], ss[last].v[f]; !math.IsInf(b, 0) {
		return b - a, span, true
	}
	return summedIncrease(ss[first:last+1], f), span, true
}

// summedIncrease sums a counter field's increases between neighbouring
// samples that carry it.
func summedIncrease(ss []sample, f int) float64 {
	inc, prev := 0.0, nan
	for i := range ss {
		v := ss[i].v[f]
		if math.IsNaN(v) {
			continue
		}
		if !math.IsNaN(prev) {
			inc += counterDelta(prev, v)
		}
		prev = v
	}
	return inc
}

// increases are the counter fields' increases over one window (increase),
// each found once: ratesOf reads several fields more than once.
type increases [nFields]struct {
	inc, span float64
	ok        bool
}

// find finds the increases of the fields ratesOf reads over the samples.
func (in *increases) find(ss []sample) {
	for _, f := range rateFields {
		in[f].inc, in[f].span, in[f].ok = increase(ss, f)
	}
}

// rateFields are the counter fields ratesOf reads.
var rateFields = append([]int{fTransitions, fRetries, fUnsafeRetries, fPendingCreated, fPendingResolved, fTimedOutFailures}, callFields...)

// rate is a counter's per-second rate over the window: its increase
// divided by the time it spans, without extrapolation. NaN when unknown.
func (in *increases) rate(f int) float64 {
	if !in[f].ok || in[f].span <= 0 {
		return nan
	}
	return in[f].inc / in[f].span
}

// total sums the increases of counter fields, and the longest span among
// them. ok is false when no field has two points.
func (in *increases) total(fields []int) (inc, span float64, ok bool) {
	for _, f := range fields {
		if !in[f].ok {
			continue
		}
		inc += in[f].inc
		span = max(span, in[f].span)
		ok = true
	}
	if !ok {
		return nan, nan, false
	}
	return inc, span, true
}

// callFields are the call counters of every outcome, in the order of
// Outcomes; nonSuccessFields those that count as errors in the error ratio.
var (
	callFields = func() []int {
		fs := make([]int, len(Outcomes))
		for i := range fs {
			fs[i] = fCalls + i
		}
		return fs
	}()
	nonSuccessFields = callFields[1:]
)

// timeoutFields count timeouts: calls whose outcome is a timeout, and
// timed-out calls a convention counts as failures (Observation.TimedOutFailures).
var timeoutFields = []int{callField(OutcomeTimeout), fTimedOutFailures}

// windowRates are a dependency's rates over a window of samples.
type windowRates struct {
	calls, errorRatio, timeouts, retries, retryRatio float64
	unsafeRetries                                    float64 // retries/s without an idempotency key
	unsafeRetried                                    float64 // their increase over the window
	rejected, created, resolved, transitions         float64
	timeoutRatio                                     float64 // timeouts / calls
}

// ratesOf computes the window's rates (DESIGN.md §7).
func ratesOf(ss []sample) windowRates {
	var in increases
	in.find(ss)
	w := windowRates{
		calls: nan, errorRatio: nan, retryRatio: nan, timeoutRatio: nan,
		timeouts:      nan,
		retries:       in.rate(fRetries),
		unsafeRetries: in.rate(fUnsafeRetries),
		unsafeRetried: nan,
		rejected:      in.rate(fRejected),
		created:       in.rate(fPendingCreated),
		resolved:      in.rate(fPendingResolved),
		transitions:   nan,
	}
	if in[fTransitions].ok {
		w.transitions = in[fTransitions].inc
	}
	if in[fUnsafeRetries].ok {
		w.unsafeRetried = in[fUnsafeRetries].inc
	}
	if inc, span, ok := in.total(timeoutFields); ok && span > 0 {
		w.timeouts = inc / span
	}
	all, span, ok := in.total(callFields)
	if !ok || span <= 0 {
		return w
	}
	w.calls = all / span
	if all > 0 {
		// An outcome series a page never carried has counted nothing (a
		// client creates it on first use), so only success seen is ratio 0.
		w.errorRatio = 0
		if bad, _, ok := in.total(nonSuccessFields); ok {
			w.errorRatio = bad / all
		}
		if inc, _, ok := in.total(timeoutFields); ok {
			w.timeoutRatio = inc / all
		}
		// First attempts are logical calls: each call makes one first
		// attempt, its retries come after (Observation.Calls).
		if in[fRetries].ok {
			w.retryRatio = in[fRetries].inc / all
		}
	}
	return w
}

// quantileLevels are the latency quantiles resiltop shows.
var quantileLevels = [4]float64{0.5, 0.9, 0.99, 0.999}

// bucketIncrease returns the per-bucket increases (cumulative, aligned with
// the last sample's bounds) between each sample with that layout and the
// previous sample with a histogram, when that one has the layout too: a
// scrape that lacked the histogram does not split the range, as for
// counters (increase). Each bucket is a counter of its own, with its own
// resets, as Prometheus treats it. ok is false without two such samples.
//
// When the window's first and last histograms share their bounds slice,
// every histogram between them is of one reset-free run (histTrack), and
// the sum of the increases is last − first, without a pass over the window.
func bucketIncrease(ss []sample) (bounds, inc []float64, ok bool) {
	last := len(ss) - 1
	for last >= 0 && ss[last].bounds == nil {
		last--
	}
	if last < 1 {
		return nil, nil, false
	}
	bounds = ss[last].bounds
	first := 0
	for ss[first].bounds == nil {
		first++
	}
	if first < last && &ss[first].bounds[0] == &bounds[0] {
		a, b := ss[first].counts, ss[last].counts
		inc = make([]float64, len(bounds))
		for k := range inc {
			inc[k] = b[k] - a[k]
		}
		return bounds, inc, true
	}
	inc = make([]float64, len(bounds))
	prev := -1
	for i := first; i <= last; i++ {
		if ss[i].bounds == nil {
			continue
		}
		j := prev
		prev = i
		if j < 0 {
			continue
		}
		a, b := &ss[j], &ss[i]
		if !sameBounds(a.bounds, bounds) || !sameBounds(b.bounds, bounds) {
			continue
		}
		for k := range inc {
			inc[k] += counterDelta(a.counts[k], b.counts[k])
		}
		ok = true
	}
	if !ok {
		return nil, nil, false
	}
	return bounds, inc, true
}

// sameBounds compares layouts, cheaply when they share the slice.
func sameBounds(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// quantilesOf computes p50/p90/p99/p999 from cumulative counts over sorted,
// distinct bounds, exactly as HistogramQuantile does, but sorting and fixing
// the buckets once for all four levels. scratch is reused between calls.
func quantilesOf(bounds, counts []float64, scratch *[]Bucket) Quantiles {
	if len(bounds) == 0 || !math.IsInf(bounds[len(bounds)-1], +1) {
		return unknownQuantiles()
	}
	bs := (*scratch)[:0]
	for i := range bounds {
		bs = append(bs, Bucket{bounds[i], counts[i]})
	}
	*scratch = bs
	correctPrecisionErrors(bs)
	ensureMonotonic(bs)
	var q [4]float64
	for i, level := range quantileLevels {
		q[i] = quantileOfPrepared(level, bs)
	}
	return Quantiles{P50: Value(q[0]), P90: Value(q[1]), P99: Value(q[2]), P999: Value(q[3])}
}

// summaryQuantiles picks the shown levels from quantiles a target computed
// itself; levels it does not expose stay unknown.
func summaryQuantiles(m map[float64]float64) Quantiles {
	pick := func(level float64) Value {
		for q, v := range m {
			if math.Abs(q-level) < 1e-9 {
				return Value(v)
			}
		}
		return Unknown()
	}
	return Quantiles{P50: pick(0.5), P90: pick(0.9), P99: pick(0.99), P999: pick(0.999)}
}

// unknownQuantiles has every level unknown.
func unknownQuantiles() Quantiles {
	return Quantiles{P50: Unknown(), P90: Unknown(), P99: Unknown(), P999: Unknown()}
}
