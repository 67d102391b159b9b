package profile

import (
	"hash/maphash"
	"math"
	"resiltop/internal/model"
	"slices"
	"sync"

	dto "github.com/prometheus/client_model/go"
)

func init() { register(native{}) }

// Native is the name of resiltop's own convention (docs/CONVENTION.md);
// its observations win merges.
const Native = "resiltop"

// Metric names of the resiltop convention (DESIGN.md §3, docs/CONVENTION.md).
const (
	nBreakerState     = "resilience_circuit_breaker_state"
	nBreakerTrans     = "resilience_circuit_breaker_transitions_total"
	nBreakerLastTrans = "resilience_circuit_breaker_last_transition_timestamp_seconds"
	nCalls            = "resilience_calls_total"
	nAttemptDuration  = "resilience_attempt_duration_seconds"
	nRetries          = "resilience_retries_total"
	nRetriesExhausted = "resilience_retries_exhausted_total"
	nTimeout          = "resilience_timeout_seconds"
	nRetryMaxAttempts = "resilience_retry_max_attempts"
	nBulkheadInFlight = "resilience_bulkhead_in_flight"
	nBulkheadMax      = "resilience_bulkhead_max_concurrent"
	nPoolConnections  = "resilience_pool_connections"
	nPoolMax          = "resilience_pool_max_connections"
	nPoolPending      = "resilience_pool_pending_acquires"
	nPoolAcqTimeouts  = "resilience_pool_acquire_timeouts_total"
	nPendingOps       = "resilience_pending_operations"
	nPendingOldest    = "resilience_pending_oldest_age_seconds"
	nPendingCreated   = "resilience_pending_created_total"
	nPendingResolved  = "resilience_pending_resolved_total"
)

// nativeFamilies are every family the profile reads.
var nativeFamilies = []string{
	nBreakerState, nBreakerTrans, nBreakerLastTrans, nCalls, nAttemptDuration, nRetries, nRetriesExhausted,
	nTimeout, nRetryMaxAttempts, nBulkheadInFlight, nBulkheadMax, nPoolConnections, nPoolMax, nPoolPending,
	nPoolAcqTimeouts, nPendingOps, nPendingOldest, nPendingCreated, nPendingResolved,
}

// native reads the resiltop convention: every series carries
// dependency="<name>"; types come from # TYPE, never from a name's suffix.
type native struct{}

func (native) Name() string { return Native }

// Families implements Profile.
func (native) Families() []string { return nativeFamilies }

func (native) Detect(p *model.Page) bool {
	return p.Family(nCalls) != nil || p.Family(nBreakerState) != nil
}

// aggregate says how several series of one dependency (extra labels such as
// an operation) combine: counts add up, configuration and ages take the maximum.
type aggregate int

const (
	aggSum aggregate = iota
	aggMax
)

func (native) Read(p *model.Page) []model.Observation {
	seen := seenSets.Get().(map[uint64]struct{})
	defer func() {
		// A map never shrinks, and clearing costs its size: one grown by
		// a hostile page is left to the GC.
		if len(seen) <= maxPooledSeen {
			clear(seen)
			seenSets.Put(seen)
		}
	}()
	r := nativeReader{deps: map[string]*model.Observation{}, seen: seen}
	// The label-set hash doubles as the series' identity in counter parts,
	// so it must be the same from one scrape's reader to the next.
	r.h.SetSeed(model.SeriesSeed)
	r.counter(p, nBreakerTrans, func(o *model.Observation) *float64 { return &o.Transitions }, nil)
	r.counter(p, nRetries, nil, func(o *model.Observation, m *dto.Metric, series uint64, v float64) {
		o.Add(&o.Retries, series, v)
		// The idempotent label (docs/CONVENTION.md) is optional: without
		// it, or with a value outside true|false, unsafe retries stay unknown.
		switch label(m, "idempotent") {
		case "false":
			o.Add(&o.UnsafeRetries, series, v)
		case "true":
			o.Add(&o.UnsafeRetries, series, 0)
		}
	})
	r.counter(p, nRetriesExhausted, func(o *model.Observation) *float64 { return &o.RetriesExhausted }, nil)
	r.counter(p, nPoolAcqTimeouts, func(o *model.Observation) *float64 { return &o.PoolAcquireTimeouts }, nil)
	r.counter(p, nPendingCreated, func(o *model.Observation) *float64 { return &o.PendingCreated }, nil)
	r.counter(p, nPendingResolved, func(o *model.Observation) *float64 { return &o.PendingResolved }, nil)
	r.counter(p, nCalls, nil, func(o *model.Observation, m *dto.Metric, series uint64, v float64) {
		out := model.Outcome(label(m, "outcome"))
		if !slices.Contains(model.Outcomes, out) {
			return // an outcome outside the convention is not guessed at
		}
		o.AddCall(out, series, v)
	})

	r.gauge(p, nBreakerLastTrans, aggMax, func(o *model.Observation) *float64 { return &o.LastTransition })
	r.gauge(p, nTimeout, aggMax, func(o *model.Observation) *float64 { return &o.TimeoutSeconds })
	r.gauge(p, nRetryMaxAttempts, aggMax, func(o *model.Observation) *float64 { return &o.RetryMaxAttempts })
	r.gauge(p, nBulkheadInFlight, aggSum, func(o *model.Observation) *float64 { return &o.BulkheadInFlight })
	r.gauge(p, nBulkheadMax, aggSum, func(o *model.Observation) *float64 { return &o.BulkheadMax })
	r.gauge(p, nPoolMax, aggSum, func(o *model.Observation) *float64 { return &o.PoolMax })
	r.gauge(p, nPoolPending, aggSum, func(o *model.Observation) *float64 { return &o.PoolPending })
	r.gauge(p, nPendingOps, aggSum, func(o *model.Observation) *float64 { return &o.PendingCount })
	r.gauge(p, nPendingOldest, aggMax, func(o *model.Observation) *float64 { return &o.PendingOldestAge })
	r.poolConnections(p)
	r.breakerState(p)
	r.histograms(p)

	out := make([]model.Observation, 0, len(r.order))
	for _, name := range r.order {
		out = append(out, *r.deps[name])
	}
	return out
}

// seenSets are nativeReader.seen sets, reused between pages (cleared):
// a page of thousands of series made a new one of thousands of entries.
var seenSets = sync.Pool{New: func() any { return map[uint64]struct{}{} }}

// maxPooledSeen is the largest seen set kept for reuse.
const maxPooledSeen = 1 << 14

// nativeReader accumulates one page's observations by dependency.
type nativeReader struct {
	deps  map[string]*model.Observation
	order []string // first-seen order, so output is deterministic
	// last is the dependency of the last series read: a family lists a
	// dependency's series together, so most series need no map lookup.
	last    string
	lastObs *model.Observation
	// seen holds hashes of the label sets read so far, to count a
	// duplicate series once; a 64-bit hash keeps this allocation-free, and
	// a collision (odds ~n²/2⁶⁴) would only drop one series.
	seen map[uint64]struct{}
	h    maphash.Hash
}

// metric returns the observation the series belongs to and the series'
// identity (its family and labels hashed), or nil when the series has no
// usable dependency label or repeats an earlier series exactly (a duplicate
// series is counted once).
func (r *nativeReader) metric(family string, m *dto.Metric) (*model.Observation, uint64) {
	// The Store cleans names (mergeObservations); a name it would empty,
	// such as blanks, is dropped there.
	dep := label(m, "dependency")
	if dep == "" {
		return nil, 0
	}
	r.h.Reset()
	r.h.WriteString(family)
	for _, lp := range m.GetLabel() {
		r.h.WriteByte(0xff)
		r.h.WriteString(lp.GetName())
		r.h.WriteByte(0xfe)
		r.h.WriteString(lp.GetValue())
	}
	sum := r.h.Sum64()
	if _, dup := r.seen[sum]; dup {
		return nil, 0
	}
	r.seen[sum] = struct{}{}
	if r.lastObs != nil && dep == r.last {
		return r.lastObs, sum
	}
	o, ok := r.deps[dep]
	if !ok {
		obs := model.NewObservation(dep, Native)
		o = &obs
		r.deps[dep] = o
		r.order = append(r.order, dep)
	}
	r.last, r.lastObs = dep, o
	return o, sum
}

// counter sums a counter family into field per dependency (each series a
// part of it), or hands each value to each when it needs the labels.
// Non-finite and negative values are not counters and are skipped.
func (r *nativeReader) counter(p *model.Page, name string, field func(*model.Observation) *float64, each func(*model.Observation, *dto.Metric, uint64, float64)) {
	r.values(p, name, dto.MetricType_COUNTER, false, func(o *model.Observation, m *dto.Metric, series uint64, v float64) {
		if each != nil {
			each(o, m, series, v)
			return
		}
		o.Add(field(o), series, v)
	})
}

// gauge reads a gauge family into field per dependency.
func (r *nativeReader) gauge(p *model.Page, name string, agg aggregate, field func(*model.Observation) *float64) {
	r.gaugeEach(p, name, func(o *model.Observation, _ *dto.Metric, v float64) {
		if dst := field(o); dst != nil {
			accumulate(dst, v, agg)
		}
	})
}

// gaugeEach hands each finite gauge value of a family to each.
func (r *nativeReader) gaugeEach(p *model.Page, name string, each func(*model.Observation, *dto.Metric, float64)) {
	r.values(p, name, dto.MetricType_GAUGE, true, func(o *model.Observation, m *dto.Metric, _ uint64, v float64) { each(o, m, v) })
}

// values hands each finite value of family name to each, with its
// dependency's observation and series identity. A family declared as
// anything but want (or untyped) is not this convention's and is skipped
// whole; negative values are skipped unless negative is true.
func (r *nativeReader) values(p *model.Page, name string, want dto.MetricType, negative bool, each func(*model.Observation, *dto.Metric, uint64, float64)) {
	f := p.Family(name)
	if f == nil || (f.GetType() != want && f.GetType() != dto.MetricType_UNTYPED) {
		return
	}
	for _, m := range f.GetMetric() {
		v := convValue(m)
		if math.IsNaN(v) || math.IsInf(v, 0) || (v < 0 && !negative) {
			continue
		}
		if o, series := r.metric(name, m); o != nil {
			each(o, m, series, v)
		}
	}
}

// poolConnections splits resilience_pool_connections by its state label.
func (r *nativeReader) poolConnections(p *model.Page) {
	r.gaugeEach(p, nPoolConnections, func(o *model.Observation, m *dto.Metric, v float64) {
		switch label(m, "state") {
		case "active":
			accumulate(&o.PoolActive, v, aggSum)
		case "idle":
			accumulate(&o.PoolIdle, v, aggSum)
		}
	})
}

// breakerRank orders states worst first, for a one-hot gauge that (wrongly)
// has several states set.
var breakerRank = map[model.BreakerState]int{
	model.BreakerForcedOpen: 5, model.BreakerOpen: 4, model.BreakerHalfOpen: 3, model.BreakerDisabled: 2, model.BreakerClosed: 1,
}

// breakerState reads the one-hot state gauge: the state whose value is 1.
func (r *nativeReader) breakerState(p *model.Page) {
	r.gaugeEach(p, nBreakerState, func(o *model.Observation, m *dto.Metric, v float64) {
		st := model.BreakerState(label(m, "state"))
		rank, ok := breakerRank[st]
		if !ok || v < 0.5 {
			return
		}
		if rank > breakerRank[o.Breaker] {
			o.Breaker = st
		}
	})
}

// histograms reads the attempt-duration histogram. Series of one dependency
// with the same bounds add up; a series with other bounds cannot be merged
// and is left out.
func (r *nativeReader) histograms(p *model.Page) {
	f := p.Family(nAttemptDuration)
	if f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
		return
	}
	for _, m := range f.GetMetric() {
		h := histogramOf(m.GetHistogram())
		if h == nil {
			continue
		}
		o, _ := r.metric(nAttemptDuration, m)
		if o == nil {
			continue
		}
		if o.Latency == nil {
			o.Latency = h
			continue
		}
		if !slices.Equal(o.Latency.Bounds, h.Bounds) {
			continue
		}
		for i := range h.Counts {
			o.Latency.Counts[i] += h.Counts[i]
		}
		o.Latency.Sum += h.Sum
		o.Latency.Count += h.Count
	}
}

// histogramOf converts a dto histogram to bounds ascending. Buckets with a
// NaN bound or a non-finite count are dropped. The +Inf bucket is implicit in
// the protobuf exposition (its count is the sample count), so it is added
// from the count when the page states one; without either the histogram has
// no +Inf bucket and its quantiles stay unknown.
func histogramOf(d *dto.Histogram) *model.Histogram {
	if d == nil || len(d.GetBucket()) == 0 {
		return nil
	}
	type bc struct{ b, c float64 }
	bs := make([]bc, 0, len(d.GetBucket())+1)
	for _, b := range d.GetBucket() {
		c := float64(b.GetCumulativeCount())
		if b.CumulativeCountFloat != nil {
			c = b.GetCumulativeCountFloat()
		}
		ub := b.GetUpperBound()
		if math.IsNaN(ub) || math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
			continue
		}
		bs = append(bs, bc{ub, c})
	}
	if len(bs) == 0 {
		return nil
	}
	slices.SortStableFunc(bs, func(x, y bc) int {
		switch {
		case x.b < y.b:
			return -1
		case x.b > y.b:
			return 1
		}
		return 0
	})
	count := float64(d.GetSampleCount())
	if d.SampleCountFloat != nil {
		count = d.GetSampleCountFloat()
	}
	hasCount := (d.SampleCount != nil || d.SampleCountFloat != nil) && !math.IsNaN(count) && !math.IsInf(count, 0)
	if !math.IsInf(bs[len(bs)-1].b, +1) && hasCount {
		bs = append(bs, bc{math.Inf(+1), count})
	}
	h := &model.Histogram{
		Bounds: make([]float64, len(bs)), Counts: make([]float64, len(bs)),
		Sum: d.GetSampleSum(), Count: nan,
	}
	if hasCount {
		h.Count = count
	}
	for i, x := range bs {
		h.Bounds[i], h.Counts[i] = x.b, x.c
	}
	return h
}

// accumulate folds v into *dst, where NaN means "nothing yet".
func accumulate(dst *float64, v float64, agg aggregate) {
	switch {
	case math.IsNaN(*dst):
		*dst = v
	case agg == aggSum:
		*dst += v
	case v > *dst:
		*dst = v
	}
}

// label returns the value of the named label, or "".
func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}
