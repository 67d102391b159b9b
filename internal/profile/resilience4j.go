package profile

import (
	"math"
	"resiltop/internal/model"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// resilience4j reads resilience4j's Micrometer metrics as Spring Boot's
// actuator publishes them (docs/CONVENTIONS-SUPPORTED.md). The dependency is
// the instance `name`, so a breaker, a retry and a time limiter configured
// under one name are one dependency (and join the spring profile's HTTP
// client of that name). Series of several `group`s (Spring Cloud
// CircuitBreaker) add up under their name.
type resilience4j struct{}

func init() { register(resilience4j{}) }

// Name implements Profile.
func (resilience4j) Name() string { return "resilience4j" }

// r4jFamilies are every family the profile reads, in all the spellings
// Micrometer and resilience4j versions have used.
var r4jFamilies = []string{
	"resilience4j_bulkhead_active_thread_count",
	"resilience4j_bulkhead_available_concurrent_calls",
	"resilience4j_bulkhead_max_allowed_concurrent_calls",
	"resilience4j_bulkhead_max_thread_pool_size",
	"resilience4j_bulkhead_queue_capacity",
	"resilience4j_bulkhead_queue_depth",
	"resilience4j_circuitbreaker_calls",
	"resilience4j_circuitbreaker_calls_seconds",
	"resilience4j_circuitbreaker_calls_total",
	"resilience4j_circuitbreaker_failure_rate",
	"resilience4j_circuitbreaker_not_permitted_calls_total",
	"resilience4j_circuitbreaker_slow_call_rate",
	"resilience4j_circuitbreaker_state",
	"resilience4j_circuitbreakernot_permitted_calls_total",
	"resilience4j_retry_calls",
	"resilience4j_retry_calls_total",
	"resilience4j_thread_pool_bulkhead_active_thread_count",
	"resilience4j_thread_pool_bulkhead_max_thread_pool_size",
	"resilience4j_thread_pool_bulkhead_queue_capacity",
	"resilience4j_thread_pool_bulkhead_queue_depth",
	"resilience4j_timelimiter_calls",
	"resilience4j_timelimiter_calls_total",
}

// Families implements Profile.
func (resilience4j) Families() []string { return r4jFamilies }

// Detect implements Profile.
func (resilience4j) Detect(p *model.Page) bool { return detectAny(p, r4jFamilies, nil) }

// r4jAcc gathers one name's series before they become an Observation,
// because which family supplies the calls depends on which families exist.
type r4jAcc struct {
	oneHot      model.BreakerState
	stateCode   float64
	cbKinds     map[string]float64 // calls timer counts by kind
	oldKinds    map[string]float64 // pre-1.5 calls_total counter by kind
	retryKinds  map[string]float64
	tlKinds     map[string]float64
	notPermit   float64
	latency     *model.Histogram
	quantiles   map[float64]float64
	bhAvailable float64
	bhMax       float64
	tpActive    float64
	tpQueue     float64
	tpMaxSize   float64
	tpQueueCap  float64
	failureRate float64
	slowRate    float64
}

func newR4jAcc() *r4jAcc {
	return &r4jAcc{
		stateCode: nan, notPermit: nan, bhAvailable: nan, bhMax: nan,
		tpActive: nan, tpQueue: nan, tpMaxSize: nan, tpQueueCap: nan,
		failureRate: nan, slowRate: nan,
	}
}

// r4jStates maps the state label; METRICS_ONLY never trips, like DISABLED,
// but keeps recording, so resiltop shows it as disabled.
var r4jStates = map[string]model.BreakerState{
	"closed": model.BreakerClosed, "open": model.BreakerOpen, "half_open": model.BreakerHalfOpen,
	"forced_open": model.BreakerForcedOpen, "disabled": model.BreakerDisabled, "metrics_only": model.BreakerDisabled,
}

// r4jStateCodes is CircuitBreaker.State#getOrder, which pre-1.0 gauges
// exported without a state label.
var r4jStateCodes = map[float64]model.BreakerState{
	0: model.BreakerClosed, 1: model.BreakerOpen, 2: model.BreakerHalfOpen, 3: model.BreakerDisabled, 4: model.BreakerForcedOpen, 5: model.BreakerDisabled,
}

// r4jStatePriority decides when a page (wrongly) has several states at 1:
// the one that sheds traffic wins, so an open breaker is never hidden.
var r4jStatePriority = map[model.BreakerState]int{
	model.BreakerForcedOpen: 5, model.BreakerOpen: 4, model.BreakerHalfOpen: 3, model.BreakerClosed: 2, model.BreakerDisabled: 1,
}

// Read implements Profile.
func (r resilience4j) Read(p *model.Page) []model.Observation {
	multi := convMultiApp(p, convMicrometerPrefixes...)
	accs := map[string]*r4jAcc{}
	acc := func(m *dto.Metric) *r4jAcc {
		name := convLabel(m, "name")
		if name == "" {
			return nil
		}
		dep := convScoped(name, m, multi)
		a, ok := accs[dep]
		if !ok {
			a = newR4jAcc()
			accs[dep] = a
		}
		return a
	}
	for _, f := range p.Families {
		if !strings.HasPrefix(f.GetName(), "resilience4j_") {
			continue
		}
		for _, m := range f.GetMetric() {
			if a := acc(m); a != nil {
				a.read(f, m)
			}
		}
	}
	set := newConvSet(r.Name())
	for dep, a := range accs {
		a.fill(set.get(dep))
	}
	return set.list()
}

// addKind adds a known count to *kinds[kind].
func r4jAddKind(kinds *map[string]float64, m *dto.Metric, v float64) {
	v = convNonNeg(v)
	kind := convLabel(m, "kind")
	if math.IsNaN(v) || kind == "" {
		return
	}
	if *kinds == nil {
		*kinds = map[string]float64{}
	}
	(*kinds)[kind] += v
}

// read takes one sample of a resilience4j family.
func (a *r4jAcc) read(f *dto.MetricFamily, m *dto.Metric) {
	v := convValue(m)
	switch f.GetName() {
	case "resilience4j_circuitbreaker_state":
		if !convIsGauge(f) {
			return
		}
		if s := convLabel(m, "state"); s != "" {
			if st, ok := r4jStates[s]; ok && v == 1 && r4jStatePriority[st] > r4jStatePriority[a.oneHot] {
				a.oneHot = st
			}
			return
		}
		a.stateCode = v
	case "resilience4j_circuitbreaker_calls_seconds", "resilience4j_circuitbreaker_calls":
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			r4jAddKind(&a.cbKinds, m, float64(m.GetHistogram().GetSampleCount()))
			a.latency = convMergeHistogram(a.latency, convHistogram(m, 1))
		case dto.MetricType_SUMMARY:
			r4jAddKind(&a.cbKinds, m, float64(m.GetSummary().GetSampleCount()))
			a.quantiles = convQuantiles(a.quantiles, m, 1)
		}
	case "resilience4j_circuitbreaker_calls_total":
		if convIsCounter(f) {
			r4jAddKind(&a.oldKinds, m, v)
		}
	case "resilience4j_circuitbreaker_not_permitted_calls_total", "resilience4j_circuitbreakernot_permitted_calls_total":
		// The same counter under the 1.5.0 and later spellings: a page
		// carrying both must not count it twice.
		if convIsCounter(f) {
			convMax(&a.notPermit, convNonNeg(v))
		}
	case "resilience4j_circuitbreaker_failure_rate":
		if convIsGauge(f) {
			a.failureRate = r4jPercent(v)
		}
	case "resilience4j_circuitbreaker_slow_call_rate":
		if convIsGauge(f) {
			a.slowRate = r4jPercent(v)
		}
	case "resilience4j_retry_calls_total", "resilience4j_retry_calls":
		// resilience4j_retry_calls is the pre-1.3 gauge of the same
		// cumulative count; either type is read as that count.
		if convIsCounter(f) || convIsGauge(f) {
			r4jAddKind(&a.retryKinds, m, v)
		}
	case "resilience4j_timelimiter_calls_total", "resilience4j_timelimiter_calls":
		if convIsCounter(f) {
			r4jAddKind(&a.tlKinds, m, v)
		}
	case "resilience4j_bulkhead_available_concurrent_calls":
		convAdd(&a.bhAvailable, convNonNeg(v))
	case "resilience4j_bulkhead_max_allowed_concurrent_calls":
		convAdd(&a.bhMax, convNonNeg(v))
	case "resilience4j_thread_pool_bulkhead_active_thread_count", "resilience4j_bulkhead_active_thread_count":
		convAdd(&a.tpActive, convNonNeg(v))
	case "resilience4j_thread_pool_bulkhead_queue_depth", "resilience4j_bulkhead_queue_depth":
		convAdd(&a.tpQueue, convNonNeg(v))
	case "resilience4j_thread_pool_bulkhead_max_thread_pool_size", "resilience4j_bulkhead_max_thread_pool_size":
		convAdd(&a.tpMaxSize, convNonNeg(v))
	case "resilience4j_thread_pool_bulkhead_queue_capacity", "resilience4j_bulkhead_queue_capacity":
		convAdd(&a.tpQueueCap, convNonNeg(v))
	}
}

// r4jPercent keeps a rate in 0..100; resilience4j reports -1 until the
// sliding window has its minimum number of calls, which is unknown, not 0.
func r4jPercent(v float64) float64 {
	if math.IsNaN(v) || v < 0 || v > 100 {
		return nan
	}
	return v
}

// fill writes the gathered series into o.
func (a *r4jAcc) fill(o *model.Observation) {
	switch {
	case a.oneHot != "":
		o.Breaker = a.oneHot
	case !math.IsNaN(a.stateCode):
		if st, ok := r4jStateCodes[a.stateCode]; ok {
			o.Breaker = st
		}
	}
	o.BreakerFailureRate, o.BreakerSlowCallRate = a.failureRate, a.slowRate

	// Logical calls: the retry counts one per call however many attempts
	// it made, so it is preferred; then the breaker (one per attempt that
	// reached it), then the time limiter. Ignored calls (exceptions the team
	// configured as not a failure of the dependency) are neither success nor
	// failure and are left out.
	switch {
	case a.retryKinds != nil:
		for kind, n := range a.retryKinds {
			switch kind {
			case "successful_without_retry", "successful_with_retry":
				o.AddCall(model.OutcomeSuccess, model.PartID("retry "+kind), n)
			case "failed_without_retry", "failed_with_retry":
				o.AddCall(model.OutcomeFailure, model.PartID("retry "+kind), n)
			}
		}
		// resilience4j does not count attempts. A call "with retry" made at
		// least one more attempt, so their sum is a lower bound of attempts
		// after the first, and the retry ratio reads as the share of calls
		// that retried (see docs/CONVENTIONS-SUPPORTED.md).
		o.Add(&o.Retries, model.PartID("retry successful_with_retry"), a.retryKinds["successful_with_retry"])
		o.Add(&o.Retries, model.PartID("retry failed_with_retry"), a.retryKinds["failed_with_retry"])
		o.RetriesExhausted = a.retryKinds["failed_with_retry"]
	case a.cbKinds != nil:
		o.AddCall(model.OutcomeSuccess, 0, a.cbKinds["successful"])
		o.AddCall(model.OutcomeFailure, 0, a.cbKinds["failed"])
	case r4jHasAny(a.oldKinds, "successful", "failed"):
		o.AddCall(model.OutcomeSuccess, 0, a.oldKinds["successful"])
		o.AddCall(model.OutcomeFailure, 0, a.oldKinds["failed"])
	case r4jHasAny(a.tlKinds, "successful", "failed"):
		o.AddCall(model.OutcomeSuccess, 0, a.tlKinds["successful"])
		o.AddCall(model.OutcomeFailure, 0, a.tlKinds["failed"])
	}
	notPermit := a.notPermit
	if n, ok := a.oldKinds["not_permitted"]; ok {
		convMax(&notPermit, n)
	}
	o.AddCall(model.OutcomeShortCircuited, 0, notPermit)
	if n, ok := a.tlKinds["timeout"]; ok {
		// A timed-out call is an unknown outcome. The retry and the breaker
		// record it as failed too, so with their calls it is a timeout
		// inside the failures (it is not subtracted from them: the
		// difference of two counters is not a counter, it would fake
		// resets). The time limiter's own kinds are disjoint.
		if a.retryKinds != nil || a.cbKinds != nil || r4jHasAny(a.oldKinds, "successful", "failed") {
			o.Add(&o.TimedOutFailures, 0, n)
		} else {
			o.AddCall(model.OutcomeTimeout, 0, n)
		}
	}

	o.Latency = a.latency
	if o.Latency == nil {
		o.LatencyQuantiles = a.quantiles
	}

	// Semaphore bulkhead first; a thread-pool bulkhead's in-flight work is
	// its busy threads plus its queue, out of max threads plus queue capacity.
	switch {
	case !math.IsNaN(a.bhMax):
		o.BulkheadMax = a.bhMax
		if !math.IsNaN(a.bhAvailable) && a.bhAvailable <= a.bhMax {
			o.BulkheadInFlight = a.bhMax - a.bhAvailable
		}
	case !math.IsNaN(a.tpMaxSize):
		o.BulkheadMax = a.tpMaxSize
		if !math.IsNaN(a.tpQueueCap) {
			o.BulkheadMax += a.tpQueueCap
		}
		if !math.IsNaN(a.tpActive) {
			o.BulkheadInFlight = a.tpActive
			if !math.IsNaN(a.tpQueue) {
				o.BulkheadInFlight += a.tpQueue
			}
		}
	}
}

func r4jHasAny(m map[string]float64, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}
