package model

import (
	"math"
	"time"
)

// cond is a finding condition judged at each sample of a dependency's
// history; a finding's Since is the start of the latest run in which its
// condition held (runSince).
type cond int

// The conditions whose runs date findings.
const (
	condRetry    cond = iota // retry_storm: retries/s against calls/s of the step ending at the sample
	condPool                 // pool_exhausted
	condBulkhead             // bulkhead_saturated: in flight against max
	condTail                 // tail_near_timeout: the step's p99 against the last sample's timeout
	condTimeouts             // timeouts_rising: the step's timeouts against its calls
	condGrowing              // backlog_growing: the PENDING count from the sample to the next
	condStale                // backlog_stale
	// bulkhead_saturated by rejections: the step ending at the sample had
	// calls and rejected some. The finding dates it within the window only.
	condRejecting
	nConds
)

// holds judges c at sample i of ss; pts are the steps (pts[i] ends at ss[i],
// pts[0] has no predecessor and is never judged), timeout the last
// sample's. known is false when the values cannot tell: such a sample
// neither extends nor breaks a run. condGrowing is judged on the pair i,
// i+1, so at every sample but the last.
func (c cond) holds(ss []sample, pts []Point, i int, th *Thresholds, timeout float64) (holds, known bool) {
	switch c {
	case condRetry:
		if i == 0 {
			return false, false
		}
		c, r := float64(pts[i].CallsPerSecond), float64(pts[i].RetriesPerSecond)
		switch {
		case math.IsNaN(c) || math.IsNaN(r) || c == 0 && r == 0:
			return false, false
		case c == 0:
			return true, true
		}
		return r/c >= th.RetryRatioWarning, true
	case condPool:
		a, m, p := ss[i].v[fPoolActive], ss[i].v[fPoolMax], ss[i].v[fPoolPending]
		if math.IsNaN(p) && (math.IsNaN(a) || math.IsNaN(m)) {
			return false, false
		}
		return p > 0 || (m > 0 && a >= m), true
	case condBulkhead:
		f, m := ss[i].v[fBulkheadInFlight], ss[i].v[fBulkheadMax]
		if math.IsNaN(f) || !(m > 0) {
			return false, false
		}
		return f >= th.BulkheadSaturation*m, true
	case condTail:
		if i == 0 {
			return false, false
		}
		v := float64(pts[i].Latency.P99)
		if math.IsNaN(v) {
			return false, false
		}
		return v >= th.TailNearTimeout*timeout, true
	case condTimeouts:
		if i == 0 {
			return false, false
		}
		c, t := float64(pts[i].CallsPerSecond), float64(pts[i].TimeoutsPerSecond)
		if !(c > 0) || math.IsNaN(t) {
			return false, false
		}
		return t/c >= th.TimeoutRatio, true
	case condGrowing:
		a, b := ss[i].v[fPendingCount], ss[i+1].v[fPendingCount]
		if math.IsNaN(a) || math.IsNaN(b) || a == b {
			return false, false
		}
		return b > a, true
	case condRejecting:
		if i == 0 {
			return false, false
		}
		return float64(pts[i].CallsPerSecond) > 0 && counterDelta(ss[i-1].v[fRejected], ss[i].v[fRejected]) > 0, true
	case condStale:
		a := ss[i].v[fPendingOldest]
		if math.IsNaN(a) {
			return false, false
		}
		return a > th.BacklogStaleAge.Seconds(), true
	}
	panic("unknown condition")
}

// judged is how many samples of n c is judged at.
func (c cond) judged(n int) int {
	if c == condGrowing {
		return max(n-1, 0)
	}
	return n
}

// since is the start of c's latest run over the whole of ss, walking it
// back from the newest sample: the reference that runs must equal, and
// what a Snapshot of a time before the newest sample uses.
func (c cond) since(ss []sample, pts []Point, th *Thresholds) time.Time {
	timeout := ss[len(ss)-1].v[fTimeout]
	return runSince(c.judged(len(ss)), func(i int) (bool, bool) {
		return c.holds(ss, pts, i, th, timeout)
	}, func(i int) time.Time { return ss[i].t })
}

// runs are where the latest run of each condition starts in a dependency's
// samples, and where its breaker's latest state began, kept up to date as
// samples are appended, trimmed and thinned (under the Store's write lock),
// so that a Snapshot dates findings without walking the history: with a
// 1 s interval and 15 minutes kept, those walks read 900 samples per
// finding, and were the largest share of a Snapshot in which every
// dependency had a new sample.
type runs struct {
	// start is the index of the first sample of the latest run, -1 when
	// the condition never held; in whether the newest sample at which it
	// was known held it (the latest run goes on).
	start [nConds]int
	in    [nConds]bool
	// timeout is what condTail was judged against: the last sample's
	// timeout, as its bits (a NaN must equal itself). When a new sample
	// brings another, the whole history is judged again.
	timeout uint64
	// breaker is the index of the first sample of the newest run of
	// samples with one breaker state (breakerSince).
	breaker int
}

// judge extends c's run by its judgement at sample i.
func (r *runs) judge(c cond, ss []sample, pts []Point, i int, th *Thresholds) {
	holds, known := c.holds(ss, pts, i, th, math.Float64frombits(r.timeout))
	switch {
	case !known:
	case !holds:
		r.in[c] = false
	case !r.in[c]:
		r.start[c], r.in[c] = i, true
	}
}

// rebuild judges every sample of ss again: after thinning, which changes
// the steps, or when the timeout condTail is judged against changed.
func (r *runs) rebuild(c cond, ss []sample, pts []Point, th *Thresholds) {
	r.start[c], r.in[c] = -1, false
	for i := range c.judged(len(ss)) {
		r.judge(c, ss, pts, i, th)
	}
}

// reset judges the whole of ss again for every condition.
func (r *runs) reset(ss []sample, pts []Point, th *Thresholds) {
	r.timeout = math.Float64bits(ss[len(ss)-1].v[fTimeout])
	for c := range nConds {
		r.rebuild(c, ss, pts, th)
	}
	r.breaker = breakerRun(ss)
}

// appended takes in the newest sample of ss.
func (r *runs) appended(ss []sample, pts []Point, th *Thresholds) {
	i := len(ss) - 1
	if i == 0 {
		r.reset(ss, pts, th)
		return
	}
	for c := range nConds {
		switch {
		case c == condTail && math.Float64bits(ss[i].v[fTimeout]) != r.timeout:
			r.timeout = math.Float64bits(ss[i].v[fTimeout])
			r.rebuild(c, ss, pts, th)
		case c == condGrowing:
			r.judge(c, ss, pts, i-1, th)
		default:
			r.judge(c, ss, pts, i, th)
		}
	}
	if ss[i].breaker != ss[i-1].breaker {
		r.breaker = i
	}
}

// trimmed takes in that the k oldest samples were dropped; ss are those left.
func (r *runs) trimmed(k int, ss []sample, pts []Point, th *Thresholds) {
	for c := range nConds {
		// The first sample left has no step any more: for the steps'
		// conditions it is dropped too.
		first := 0
		if c == condRetry || c == condTail || c == condTimeouts || c == condRejecting {
			first = 1
		}
		switch s := r.start[c]; {
		case s >= k+first:
			r.start[c] = s - k
		case s >= 0:
			// The run began among the dropped: it goes on from the first
			// sample left that is known, if that one holds.
			r.start[c] = -1
			i := first
			for ; i < c.judged(len(ss)); i++ {
				if holds, known := c.holds(ss, pts, i, th, math.Float64frombits(r.timeout)); known {
					if holds {
						r.start[c] = i
					}
					break
				}
			}
			if i == c.judged(len(ss)) {
				r.in[c] = false
			}
		}
	}
	r.breaker = max(r.breaker-k, 0)
}

// since is the start of c's latest run.
func (r *runs) since(c cond, ss []sample) time.Time {
	if s := r.start[c]; s >= 0 {
		return ss[s].t
	}
	return time.Time{}
}

// sinceFrom is the start of c's latest run among the samples from the
// one at index from on (a window's), when c holds at the newest sample:
// the run's part there.
func (r *runs) sinceFrom(c cond, ss []sample, from int) time.Time {
	return ss[max(r.start[c], from)].t
}
