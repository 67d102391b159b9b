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
	j := sort.Search(len(ss), func(i int) bool { return ss[i].t.After(to) })
	if i >= j {
		return nil
	}
	return ss[i:j]
}

// increase sums the increases of one counter field over the samples that
// carry it, each against the previous one that did (a scrape that lacked
// the series does not split the range, as in Prometheus's rate), and
// returns the time between the first and the last of them. ok is false
// with fewer than two such samples.
func increase(ss []sample, f int) (inc, span float64, ok bool) {
	first, last := -1, -1
	for i := range ss {
		v := ss[i].v[f]
		if math.IsNaN(v) {
			continue
		}
		if last >= 0 {
			inc += counterDelta(ss[last].v[f], v)
		}
		if first < 0 {
			first = i
		}
		last = i
	}
	if first < 0 || first == last {
		return nan, nan, false
	}
	return inc, ss[last].t.Sub(ss[first].t).Seconds(), true
}

// rate is a counter's per-second rate over the samples: summed increases
// divided by the time they span, without extrapolation. NaN when unknown.
func rate(ss []sample, f int) float64 {
	inc, span, ok := increase(ss, f)
	if !ok || span <= 0 {
		return nan
	}
	return inc / span
}

// callTotals sums the increases of the given outcomes' call counters over
// the samples, and the longest span among them. ok is false when no outcome
// counter has two points.
func callTotals(ss []sample, outcomes []Outcome) (inc, span float64, ok bool) {
	fs := make([]int, 0, len(Outcomes))
	for _, o := range outcomes {
		fs = append(fs, callField(o))
	}
	return totals(ss, fs)
}

// totals sums the increases of counter fields over the samples, and the
// longest span among them. ok is false when no field has two points.
func totals(ss []sample, fields []int) (inc, span float64, ok bool) {
	for _, f := range fields {
		i, sp, k := increase(ss, f)
		if !k {
			continue
		}
		inc += i
		span = max(span, sp)
		ok = true
	}
	if !ok {
		return nan, nan, false
	}
	return inc, span, true
}

// timeoutFields count timeouts: calls whose outcome is a timeout, and
// timed-out calls a convention counts as failures (Observation.TimedOutFailures).
var timeoutFields = []int{callField(OutcomeTimeout), fTimedOutFailures}

// nonSuccess are the outcomes that count as errors in the error ratio.
var nonSuccess = Outcomes[1:]

// windowRates are a dependency's rates over a window of samples.
type windowRates struct {
	calls, errorRatio, timeouts, retries, retryRatio float64
	rejected, created, resolved, transitions         float64
	timeoutRatio                                     float64 // timeouts / calls
}

// ratesOf computes the window's rates (DESIGN.md §7).
func ratesOf(ss []sample) windowRates {
	w := windowRates{
		calls: nan, errorRatio: nan, retryRatio: nan, timeoutRatio: nan,
		timeouts:    nan,
		retries:     rate(ss, fRetries),
		rejected:    rate(ss, callField(OutcomeBulkheadRejected)),
		created:     rate(ss, fPendingCreated),
		resolved:    rate(ss, fPendingResolved),
		transitions: nan,
	}
	if inc, _, ok := increase(ss, fTransitions); ok {
		w.transitions = inc
	}
	if inc, span, ok := totals(ss, timeoutFields); ok && span > 0 {
		w.timeouts = inc / span
	}
	all, span, ok := callTotals(ss, Outcomes)
	if !ok || span <= 0 {
		return w
	}
	w.calls = all / span
	if all > 0 {
		// An outcome series a page never carried has counted nothing (a
		// client creates it on first use), so only success seen is ratio 0.
		w.errorRatio = 0
		if bad, _, ok := callTotals(ss, nonSuccess); ok {
			w.errorRatio = bad / all
		}
		if inc, _, ok := totals(ss, timeoutFields); ok {
			w.timeoutRatio = inc / all
		}
		// First attempts are logical calls: each call makes one first
		// attempt, its retries come after (Observation.Calls).
		if inc, _, ok := increase(ss, fRetries); ok {
			w.retryRatio = inc / all
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
func bucketIncrease(ss []sample) (bounds, inc []float64, ok bool) {
	last := len(ss) - 1
	for last >= 0 && ss[last].bounds == nil {
		last--
	}
	if last < 1 {
		return nil, nil, false
	}
	bounds = ss[last].bounds
	inc = make([]float64, len(bounds))
	prev := -1
	for i := 0; i <= last; i++ {
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
