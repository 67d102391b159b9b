package main

import (
	"math"
	"math/rand/v2"

	dto "github.com/prometheus/client_model/go"

	"resiltop/internal/scrape/scrapetest"
)

// Families of the resiltop convention (docs/CONVENTION.md) a fake target
// serves. The names live here, in the simulated service, as in pgsim.
const (
	familyState       = "resilience_circuit_breaker_state"
	familyCalls       = "resilience_calls_total"
	familyRetries     = "resilience_retries_total"
	familyLatency     = "resilience_attempt_duration_seconds"
	familyTimeout     = "resilience_timeout_seconds"
	familyInFlight    = "resilience_bulkhead_in_flight"
	familyBulkheadMax = "resilience_bulkhead_max_concurrent"
	familyPoolConns   = "resilience_pool_connections"
	familyPoolMax     = "resilience_pool_max_connections"
	familyPending     = "resilience_pending_operations"
)

// depTruth is one dependency of a fake target and its true rates, per
// second: the page's counters are these rates times the time since the
// target's epoch, so any two scrapes' increase over their time apart is
// exactly the rate (up to the counters' whole numbers).
type depTruth struct {
	name                               string
	success, failure, timeout, retries float64
	// cum[i] is the rate of attempts that took at most bounds[i] seconds;
	// attempts is the rate of all (the +Inf bucket).
	cum      []float64
	attempts float64
	inFlight float64 // bulkhead in flight, a constant gauge
}

// bounds are the latency histogram's finite upper bounds.
var bounds = scrapetest.Bounds

// randomTruth draws a dependency's rates: 5–100 calls/s, up to a fifth
// failing, a few timing out, retries up to half the calls, and 200–1000
// attempts/s, mostly in one latency bucket with a tail in two slower ones.
func randomTruth(name string, rng *rand.Rand) depTruth {
	d := depTruth{name: name, success: 5 + 95*rng.Float64()}
	d.failure = d.success * 0.2 * rng.Float64()
	d.timeout = 5 * rng.Float64()
	d.retries = d.calls() * 0.5 * rng.Float64()
	// Attempts are drawn on their own, many per second, so that the
	// slowest bucket gains enough whole observations in a few seconds for
	// p99 to be stable; no check relates them to calls.
	d.attempts = 200 + 800*rng.Float64()
	d.inFlight = float64(rng.IntN(20))
	// No quantile checked (p50, p99) falls on a bucket boundary, where
	// whole-number counts would tip it into the next bucket.
	k := 1 + rng.IntN(len(bounds)-4)
	share := make([]float64, len(bounds)+1) // per bucket, +Inf last
	share[k], share[k+1], share[k+3] = 0.9, 0.08, 0.02
	run := 0.0
	for i := range bounds {
		run += share[i]
		d.cum = append(d.cum, run*d.attempts)
	}
	return d
}

// calls is the rate of logical calls, every outcome.
func (d depTruth) calls() float64 { return d.success + d.failure + d.timeout }

// errorRatio is the share of calls that did not succeed.
func (d depTruth) errorRatio() float64 { return (d.failure + d.timeout) / d.calls() }

// retryRatio is retries per first attempt (one per logical call).
func (d depTruth) retryRatio() float64 { return d.retries / d.calls() }

// quantile is the q-quantile of the attempt latencies, worked out from the
// bucket rates as histogram_quantile does (linear within a bucket, the
// lower bound of the first 0, the highest finite bound for the +Inf
// bucket): the oracle resiltop's figures are checked against.
func (d depTruth) quantile(q float64) float64 {
	rank := q * d.attempts
	lower, below := 0.0, 0.0
	for i, c := range d.cum {
		if c >= rank && c > below {
			return lower + (bounds[i]-lower)*(rank-below)/(c-below)
		}
		lower, below = bounds[i], c
	}
	return bounds[len(bounds)-1]
}

// families adds the dependency's series at elapsed seconds since the
// epoch; without a histogram when noLatency.
func (d depTruth) families(b *scrapetest.Builder, elapsed float64, noLatency bool) {
	l := func(kv ...string) []*dto.LabelPair {
		return scrapetest.Labels(append([]string{"dependency", d.name}, kv...)...)
	}
	count := func(rate float64) float64 { return math.Floor(rate * elapsed) }
	for _, s := range []string{"closed", "open", "half_open", "forced_open", "disabled"} {
		v := 0.0
		if s == "closed" {
			v = 1
		}
		b.Gauge(familyState, "Circuit breaker state, one-hot.", l("state", s), v)
	}
	b.Counter(familyCalls, "Logical calls by outcome.", l("outcome", "success"), count(d.success))
	b.Counter(familyCalls, "Logical calls by outcome.", l("outcome", "failure"), count(d.failure))
	b.Counter(familyCalls, "Logical calls by outcome.", l("outcome", "timeout"), count(d.timeout))
	b.Counter(familyRetries, "Attempts after the first.", l(), count(d.retries))
	b.Gauge(familyTimeout, "Per-attempt timeout.", l(), 1)
	b.Gauge(familyInFlight, "Calls in flight.", l(), d.inFlight)
	b.Gauge(familyBulkheadMax, "Bulkhead size.", l(), 20)
	b.Gauge(familyPoolConns, "Pool connections by state.", l("state", "active"), 4)
	b.Gauge(familyPoolConns, "Pool connections by state.", l("state", "idle"), 6)
	b.Gauge(familyPoolMax, "Pool size.", l(), 10)
	b.Gauge(familyPending, "Operations of unknown outcome.", l(), 2)
	if noLatency {
		return
	}
	cum := make([]uint64, len(d.cum))
	for i, c := range d.cum {
		cum[i] = uint64(count(c))
	}
	n := count(d.attempts)
	b.Histogram(familyLatency, "Duration of every attempt.", l(), bounds, cum, uint64(n), n*0.1)
}
