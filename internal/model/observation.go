package model

import (
	"hash/maphash"
	"math"

	dto "github.com/prometheus/client_model/go"
)

// Outcome classifies a finished logical call.
type Outcome string

// The outcomes of the resiltop convention (docs/CONVENTION.md).
const (
	OutcomeSuccess          Outcome = "success"
	OutcomeFailure          Outcome = "failure"
	OutcomeTimeout          Outcome = "timeout" // unknown outcome, not a failure
	OutcomeShortCircuited   Outcome = "short_circuited"
	OutcomeBulkheadRejected Outcome = "bulkhead_rejected"
)

// Outcomes lists every Outcome in display order.
var Outcomes = []Outcome{OutcomeSuccess, OutcomeFailure, OutcomeTimeout, OutcomeShortCircuited, OutcomeBulkheadRejected}

// BreakerState is a circuit breaker's state as resiltop names it.
type BreakerState string

// Breaker states. BreakerUnknown means no profile reported one.
const (
	BreakerUnknown    BreakerState = "unknown"
	BreakerClosed     BreakerState = "closed"
	BreakerOpen       BreakerState = "open"
	BreakerHalfOpen   BreakerState = "half_open"
	BreakerForcedOpen BreakerState = "forced_open"
	BreakerDisabled   BreakerState = "disabled"
)

// Histogram is a cumulative latency histogram in seconds as scraped:
// Bounds ascending (the last is +Inf when the page had one), Counts the
// cumulative count at each bound.
type Histogram struct {
	Bounds []float64
	Counts []float64
	Sum    float64
	Count  float64
}

// Observation is what one profile read about one dependency from one page:
// raw counter and gauge values, never rates. Every float is NaN when the page
// does not say; profiles start from NewObservation so that holds.
// Counters are cumulative as exposed; the Store turns them into rates.
type Observation struct {
	Dependency string
	Profile    string // the profile's Name

	// Breaker.
	Breaker        BreakerState // BreakerUnknown when not reported
	BreakerLimit   string       // a concurrency limit being hit (Envoy), e.g. "pending"; "" when none
	LastTransition float64      // unix seconds of the last transition
	Transitions    float64      // counter: every state transition

	// Calls: logical calls (one per operation, retries inside it), counters
	// per outcome. A missing key means the page had no such series.
	// Outcomes never overlap: a call is counted once. Several profiles may
	// count the same calls, so a dependency's calls come from one profile.
	Calls map[Outcome]float64
	// TimedOutFailures counts calls that timed out but that the convention
	// already counts in another outcome (Envoy's timeouts are 504s, in its
	// 5xx; resilience4j's retry and breaker count a time limiter's timeout
	// as failed). They count as timeouts, not as more calls. It belongs to
	// Calls and is taken with them.
	TimedOutFailures float64 // counter

	Retries float64 // counter: attempts after the first
	// UnsafeRetries counts the retries among Retries of requests that were
	// neither safe to repeat nor carried an idempotency key: each may have
	// a second effect (a second charge). NaN when the convention does not say.
	UnsafeRetries    float64 // counter
	RetriesExhausted float64 // counter: calls that ran out of attempts
	RetryMaxAttempts float64 // gauge: configuration
	TimeoutSeconds   float64 // gauge: configured per-attempt timeout

	// Latency of every attempt; nil when the page has no histogram.
	Latency *Histogram
	// LatencyQuantiles are quantiles the target computed itself (summaries),
	// quantile -> seconds; used only when Latency is nil.
	LatencyQuantiles map[float64]float64
	// LatencyMean is an average the target computed itself (seconds), for
	// conventions that only expose averages (HAProxy); used when nothing better exists.
	LatencyMean float64

	PoolActive          float64 // gauge: connections in use
	PoolIdle            float64 // gauge
	PoolMax             float64 // gauge
	PoolPending         float64 // gauge: waiters for a connection
	PoolAcquireTimeouts float64 // counter

	BulkheadInFlight float64 // gauge
	BulkheadMax      float64 // gauge

	PendingCount     float64 // gauge: operations whose outcome is not yet known
	PendingOldestAge float64 // gauge: seconds
	PendingCreated   float64 // counter
	PendingResolved  float64 // counter (all outcomes)

	// BreakerFailureRate and BreakerSlowCallRate are the breaker's own
	// sliding-window rates in percent as the target computed them
	// (resilience4j); NaN when the target does not know yet (it reports -1).
	BreakerFailureRate  float64
	BreakerSlowCallRate float64
	// ForcedRejections counts calls rejected because an operator forced the
	// breaker open by configuration (Envoy runtime maintenance mode, where no
	// state gauge exists): while it rises, the breaker is forced open.
	ForcedRejections float64 // counter
	// EjectedHosts is how many upstream hosts outlier detection has ejected (Envoy).
	EjectedHosts float64 // gauge

	// parts are the raw values of the series a counter field was added up
	// from (Add, AddCall). A sum of counters is not a counter: when one of
	// its series vanishes the sum drops, which would read as a reset of the
	// whole sum. The Store follows each series on its own instead (cumulate).
	// A counter field without parts is one series.
	parts []counterPart
}

// counterPart is one series' raw cumulative value in a counter field.
type counterPart struct {
	field  int    // sample field (fRetries, callField(out), …)
	series uint64 // the series' identity: SeriesOf or PartID
	value  float64
}

// SeriesSeed seeds series identities (SeriesOf, PartID), so they are
// comparable between scrapes; a profile that hashes labels itself uses it too.
var SeriesSeed = maphash.MakeSeed()

// SeriesOf identifies a series of a page by its family and labels (in the
// order the page gave them, which a target keeps from scrape to scrape).
func SeriesOf(family string, m *dto.Metric) uint64 {
	var h maphash.Hash
	h.SetSeed(SeriesSeed)
	h.WriteString(family)
	for _, lp := range m.GetLabel() {
		h.WriteByte(0xff)
		h.WriteString(lp.GetName())
		h.WriteByte(0xfe)
		h.WriteString(lp.GetValue())
	}
	return h.Sum64()
}

// PartID identifies a part a profile already summed itself by a key of its
// own (a response class, a resilience4j kind); series within one key still
// add up before the Store sees them.
func PartID(key string) uint64 { return maphash.String(SeriesSeed, key) }

// Add adds series' value v into *dst, one of o's fields; NaN in *dst means
// nothing yet, an unknown v is ignored. When dst is a counter field the
// series is recorded as a part, so the Store can follow it on its own.
func (o *Observation) Add(dst *float64, series uint64, v float64) {
	if math.IsNaN(v) {
		return
	}
	if math.IsNaN(*dst) {
		*dst = v
	} else {
		*dst += v
	}
	if f := o.counterOf(dst); f >= 0 {
		o.addPart(counterPart{f, series, v})
	}
}

// AddCall adds series' value v (unknown when not a finite count ≥ 0) to o.Calls[out].
func (o *Observation) AddCall(out Outcome, series uint64, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return
	}
	if o.Calls == nil {
		o.Calls = make(map[Outcome]float64, len(Outcomes))
	}
	o.Calls[out] += v
	o.addPart(counterPart{callField(out), series, v})
}

// addPart records a part. The first makes room for a dependency's usual
// number (an outcome or two per call counter, a few other counters), so
// a page costs one allocation per dependency here, not five of doubling.
func (o *Observation) addPart(p counterPart) {
	if o.parts == nil {
		o.parts = make([]counterPart, 0, 16)
	}
	o.parts = append(o.parts, p)
}

// counterOf returns the sample field of the counter dst points to, or -1
// when dst is not one of o's counter fields.
func (o *Observation) counterOf(dst *float64) int {
	switch dst {
	case &o.Transitions:
		return fTransitions
	case &o.Retries:
		return fRetries
	case &o.UnsafeRetries:
		return fUnsafeRetries
	case &o.RetriesExhausted:
		return fRetriesExhausted
	case &o.PoolAcquireTimeouts:
		return fPoolAcquireTimeouts
	case &o.PendingCreated:
		return fPendingCreated
	case &o.PendingResolved:
		return fPendingResolved
	case &o.ForcedRejections:
		return fForcedRejections
	case &o.TimedOutFailures:
		return fTimedOutFailures
	}
	return -1
}

// NewObservation returns an observation of dep by profile with every value unknown.
func NewObservation(dep, profile string) Observation {
	return Observation{
		Dependency: dep, Profile: profile, Breaker: BreakerUnknown,
		LastTransition: nan, Transitions: nan,
		TimedOutFailures: nan,
		Retries:          nan, UnsafeRetries: nan, RetriesExhausted: nan, RetryMaxAttempts: nan, TimeoutSeconds: nan,
		LatencyMean: nan,
		PoolActive:  nan, PoolIdle: nan, PoolMax: nan, PoolPending: nan, PoolAcquireTimeouts: nan,
		BulkheadInFlight: nan, BulkheadMax: nan,
		PendingCount: nan, PendingOldestAge: nan, PendingCreated: nan, PendingResolved: nan,
		BreakerFailureRate: nan, BreakerSlowCallRate: nan, ForcedRejections: nan, EjectedHosts: nan,
	}
}
