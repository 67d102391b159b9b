package model

import (
	"math"
	"time"
)

var nan = math.NaN()

// Value is a number that may be unknown. Unknown (NaN) is shown as "—" and
// written to JSON as null; it is never zero.
type Value float64

// Unknown is the unknown Value.
func Unknown() Value { return Value(nan) }

// Known reports whether v carries a number (not NaN, not ±Inf).
func (v Value) Known() bool {
	f := float64(v)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

// Severity ranks findings.
type Severity string

// Severities, worst first.
const (
	Critical Severity = "critical"
	Warning  Severity = "warning"
)

// FindingKind names a finding; the names are part of the JSON contract.
type FindingKind string

// The finding kinds.
const (
	TargetDown        FindingKind = "target_down"
	BreakerOpenKind   FindingKind = "breaker_open"
	BreakerFlapping   FindingKind = "breaker_flapping"
	RetryStorm        FindingKind = "retry_storm"
	PoolExhausted     FindingKind = "pool_exhausted"
	BulkheadSaturated FindingKind = "bulkhead_saturated"
	TailNearTimeout   FindingKind = "tail_near_timeout"
	TimeoutsRising    FindingKind = "timeouts_rising"
	BacklogGrowing    FindingKind = "backlog_growing"
	BacklogStale      FindingKind = "backlog_stale"
	UnsafeRetries     FindingKind = "unsafe_retries"
)

// FindingKinds lists every finding kind, in the order kindRank ranks them
// within a severity.
var FindingKinds = []FindingKind{
	TargetDown, BreakerOpenKind, PoolExhausted, RetryStorm, TimeoutsRising, TailNearTimeout,
	BulkheadSaturated, BacklogGrowing, BacklogStale, BreakerFlapping, UnsafeRetries,
}

// Finding is one thing wrong, with the numbers that triggered it.
type Finding struct {
	Kind       FindingKind
	Severity   Severity
	Target     string
	Dependency string    // "" for a target-level finding
	Message    string    // one line, e.g. "pg: retry storm — 14.2 retries/s for 9.8 first attempts/s (ratio 1.45)"
	Since      time.Time // first snapshot time the condition held; zero when unknown
	Advice     string    // the next step to take (see advice.go)
}

// Breaker is a dependency's breaker as last scraped.
type Breaker struct {
	State       BreakerState
	Since       time.Time // last transition; zero when unknown
	Transitions Value     // transitions within the window
	Limit       string    // a concurrency limit being hit (Envoy); "" when none
	// FailureRate and SlowCallRate are the breaker's own sliding-window
	// rates in percent as the target last reported them (resilience4j);
	// unknown when the target does not report them or does not know yet.
	FailureRate, SlowCallRate Value
}

// Quantiles are latency quantiles in seconds.
type Quantiles struct{ P50, P90, P99, P999 Value }

// Pool is a connection pool's use.
type Pool struct{ InUse, Max, Pending Value }

// Bulkhead is a concurrency limiter's use.
type Bulkhead struct{ InFlight, Max, RejectedPerSecond Value }

// Pending is the backlog of operations whose outcome is not yet known.
type Pending struct{ Count, OldestAgeSeconds, CreatedPerSecond, ResolvedPerSecond Value }

// Point is one step of a dependency's history: values derived between two
// consecutive scrapes, for charts and sparklines.
type Point struct {
	Time              time.Time
	CallsPerSecond    Value
	ErrorRatio        Value
	TimeoutsPerSecond Value
	RetriesPerSecond  Value
	Latency           Quantiles
	Breaker           BreakerState
	PoolInUse         Value
	BulkheadInFlight  Value
	PendingCount      Value
	PendingOldest     Value
	// Buckets are per-bucket observation rates (non-cumulative, per second)
	// in this step, aligned with Dependency.BucketBounds; nil without a histogram.
	Buckets []float64
}

// Dependency is everything known about one downstream dependency of one
// target, over the snapshot's window.
type Dependency struct {
	Target   string
	Name     string
	Profiles []string
	// Members are the target URLs of the dependencies a GroupByName row
	// stands for, worst first; nil for the Store's per-target dependencies.
	Members []string

	Breaker           Breaker
	CallsPerSecond    Value
	ErrorRatio        Value // non-successful calls / all calls
	TimeoutsPerSecond Value
	RetriesPerSecond  Value
	RetryRatio        Value // retries / first attempts
	// UnsafeRetriesPerSecond are retries of requests that carried no
	// idempotency key and were not safe to repeat; unknown where the
	// convention does not tell them apart.
	UnsafeRetriesPerSecond Value
	Latency                Quantiles
	// LatencyMean is an average latency in seconds that the target computed
	// itself, as last scraped (HAProxy: over its last 1024 connections);
	// unknown where a convention exports none. Never a quantile: show it
	// only where quantiles are unknown, and say it is an average.
	LatencyMean    Value
	TimeoutSeconds Value
	Pool           Pool
	Bulkhead       Bulkhead
	Pending        Pending
	// EjectedHosts is how many upstream hosts outlier detection has ejected
	// at the last scrape (Envoy); unknown elsewhere.
	EjectedHosts Value
	Findings     []Finding // worst first

	Stale    bool      // the target's last scrape failed or the dependency vanished
	LastSeen time.Time // time of the last scrape that carried it

	BucketBounds []float64 // upper bounds (seconds) of the latency histogram, for heatmaps
	// History is oldest first, within the window; shared read-only (see Snapshot).
	History []Point
}

// TargetHealth is how scraping one target goes.
type TargetHealth struct {
	URL            string
	Up             bool
	Err            string // last error; "" when up
	LastScrape     time.Time
	LastSuccess    time.Time // zero when never
	ScrapeDuration time.Duration
	Series         int
	Bytes          int64
	Profiles       []string
	// Warnings are the last scrape's non-fatal messages (Prometheus's
	// warnings, partial responses); shared read-only.
	Warnings []string
	// Source is true for the Prometheus server in fleet mode: it has no
	// metrics of its own but carries the queries' timing and errors.
	Source bool
}

// Event is one line of the event log.
type Event struct {
	Time       time.Time
	Target     string
	Dependency string // "" for target events
	Message    string // "breaker closed → open", "scrape failed: connection refused", …
}

// Snapshot is an immutable view of every target and dependency at one time.
// Its slices (a Dependency's History, Findings, Profiles, BucketBounds) may
// be shared with the Store and with other Snapshots: read them, never write.
type Snapshot struct {
	Time         time.Time
	Window       time.Duration
	Targets      []TargetHealth
	Dependencies []Dependency // worst first
	Findings     []Finding    // every finding, worst first
	Events       []Event      // oldest first, bounded
	// Conventions names every profile the Store reads pages with, sorted,
	// so a screen can say which conventions a bare page lacks.
	Conventions []string
}
