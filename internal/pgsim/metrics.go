package pgsim

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Breaker states in the convention's words.
const (
	stateClosed     = "closed"
	stateOpen       = "open"
	stateHalfOpen   = "half_open"
	stateForcedOpen = "forced_open"
	stateDisabled   = "disabled"
)

var breakerStates = []string{stateClosed, stateOpen, stateHalfOpen, stateForcedOpen, stateDisabled}

// Call outcomes in the convention's words.
const (
	outcomeSuccess          = "success"
	outcomeFailure          = "failure"
	outcomeTimeout          = "timeout"
	outcomeShortCircuited   = "short_circuited"
	outcomeBulkheadRejected = "bulkhead_rejected"
)

var callOutcomes = []string{outcomeSuccess, outcomeFailure, outcomeTimeout, outcomeShortCircuited, outcomeBulkheadRejected}

// Outcomes of a settled PENDING operation.
const (
	resolvedSuccess = "success"
	resolvedFailure = "failure"
	resolvedExpired = "expired"
)

// Order statuses counted by pgsim_orders_total.
const (
	orderSuccess  = "success"  // paid
	orderFailed   = "failed"   // definitely not paid
	orderExpired  = "expired"  // the gateway never saw the payment within the agreed time
	orderRejected = "rejected" // 409: the user already had a PENDING order
)

// attemptBuckets reach past the 3 s read timeout so that a tail pressed
// against the timeout is visible as such. The 3.1 bucket catches attempts
// cut off by the timeout (they end a few ms after 3 s); without it they
// fall in (3, 4] and histogram_quantile interpolates them up to 4 s, a
// latency no attempt had. 1.1 does the same for db queries that waited
// out most of the pool's 1 s acquire timeout.
var attemptBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.1, 1.5, 2, 2.5, 3, 3.1, 4, 5, 10}

// liveValues are a dependency's gauges read at scrape time; those of a part
// the dependency lacks (depSettings) are not exported.
type liveValues struct {
	poolActive, poolIdle, poolPending float64
	bulkheadInFlight                  float64
	pendingCount, pendingOldest       float64
}

// metrics is the order service's registry in the resiltop convention.
type metrics struct {
	reg              *prometheus.Registry
	breakerState     *prometheus.GaugeVec
	transitions      *prometheus.CounterVec
	lastTransition   *prometheus.GaugeVec
	calls            *prometheus.CounterVec
	attemptDuration  *prometheus.HistogramVec
	retries          *prometheus.CounterVec
	retriesExhausted *prometheus.CounterVec
	acquireTimeouts  *prometheus.CounterVec
	pendingCreated   *prometheus.CounterVec
	pendingResolved  *prometheus.CounterVec
	orders           *prometheus.CounterVec
}

// depSettings are the configuration gauges of one dependency and the parts
// it has: a dependency without a breaker, bulkhead, pool or PENDING backlog
// exports none of their series, so resiltop shows them unknown, not zero.
type depSettings struct {
	timeout     time.Duration
	maxAttempts int
	bulkheadMax int // 0: no bulkhead
	poolMax     int // 0: no pool
	breaker     bool
	pending     bool
}

// Values of resilience_retries_total's idempotent label: whether a retried
// request was safe to repeat (a GET, or one carrying an idempotency key).
const (
	idempotentYes = "true"
	idempotentNo  = "false"
)

func idempotentLabel(safe bool) string {
	if safe {
		return idempotentYes
	}
	return idempotentNo
}

func newMetrics(settings map[string]depSettings, live func(dep string) liveValues) *metrics {
	dep := []string{"dependency"}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "resilience_circuit_breaker_state", Help: "Circuit breaker state, one-hot over closed, open, half_open, forced_open, disabled.",
		}, []string{"dependency", "state"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resilience_circuit_breaker_transitions_total", Help: "Circuit breaker state transitions.",
		}, []string{"dependency", "from", "to"}),
		lastTransition: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "resilience_circuit_breaker_last_transition_timestamp_seconds", Help: "Unix time of the breaker's last transition (its creation before any).",
		}, dep),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resilience_calls_total", Help: "Logical calls (retries inside) by final outcome.",
		}, []string{"dependency", "outcome"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "resilience_attempt_duration_seconds", Help: "Duration of every attempt, retries included.", Buckets: attemptBuckets,
		}, dep),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resilience_retries_total", Help: "Attempts after the first; idempotent=false when the request was neither a GET nor carried an idempotency key.",
		}, []string{"dependency", "idempotent"}),
		retriesExhausted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resilience_retries_exhausted_total", Help: "Calls that ran out of attempts.",
		}, dep),
		acquireTimeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resilience_pool_acquire_timeouts_total", Help: "Attempts whose deadline passed while waiting for a connection.",
		}, dep),
		pendingCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resilience_pending_created_total", Help: "Operations that entered PENDING (outcome not yet known).",
		}, dep),
		pendingResolved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resilience_pending_resolved_total", Help: "PENDING operations settled, by outcome: success, failure, expired.",
		}, []string{"dependency", "outcome"}),
		orders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgsim_orders_total", Help: "Orders by status: success, failed, expired, rejected (409, the user had a PENDING order).",
		}, []string{"status"}),
	}
	timeoutG := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "resilience_timeout_seconds", Help: "Configured per-attempt timeout.",
	}, dep)
	attemptsG := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "resilience_retry_max_attempts", Help: "Configured maximum attempts per call, the first included.",
	}, dep)
	bulkheadMaxG := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "resilience_bulkhead_max_concurrent", Help: "Configured bulkhead size.",
	}, dep)
	poolMaxG := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "resilience_pool_max_connections", Help: "Configured connection pool size.",
	}, dep)
	now := float64(time.Now().UnixNano()) / 1e9
	for d, s := range settings {
		timeoutG.WithLabelValues(d).Set(s.timeout.Seconds())
		attemptsG.WithLabelValues(d).Set(float64(s.maxAttempts))
		// Zeros that are known from the start, so rates are known at once.
		if s.bulkheadMax > 0 {
			bulkheadMaxG.WithLabelValues(d).Set(float64(s.bulkheadMax))
		}
		if s.poolMax > 0 {
			poolMaxG.WithLabelValues(d).Set(float64(s.poolMax))
			m.acquireTimeouts.WithLabelValues(d)
		}
		if s.breaker {
			for _, st := range breakerStates {
				m.breakerState.WithLabelValues(d, st).Set(0)
				for _, to := range breakerStates {
					if st != to {
						m.transitions.WithLabelValues(d, st, to)
					}
				}
			}
			m.breakerState.WithLabelValues(d, stateClosed).Set(1)
			m.lastTransition.WithLabelValues(d).Set(now)
		}
		for _, o := range callOutcomes {
			m.calls.WithLabelValues(d, o)
		}
		m.attemptDuration.WithLabelValues(d)
		m.retries.WithLabelValues(d, idempotentYes)
		m.retries.WithLabelValues(d, idempotentNo)
		m.retriesExhausted.WithLabelValues(d)
		if s.pending {
			m.pendingCreated.WithLabelValues(d)
			for _, o := range []string{resolvedSuccess, resolvedFailure, resolvedExpired} {
				m.pendingResolved.WithLabelValues(d, o)
			}
		}
	}
	for _, s := range []string{orderSuccess, orderFailed, orderExpired, orderRejected} {
		m.orders.WithLabelValues(s)
	}
	m.reg.MustRegister(m.breakerState, m.transitions, m.lastTransition, m.calls, m.attemptDuration,
		m.retries, m.retriesExhausted, m.acquireTimeouts, m.pendingCreated, m.pendingResolved, m.orders,
		timeoutG, attemptsG, bulkheadMaxG, poolMaxG, &liveCollector{settings: settings, read: live})
	return m
}

// setBreaker records a transition of dep's breaker from → to.
func (m *metrics) setBreaker(dep, from, to string, at time.Time) {
	m.breakerState.WithLabelValues(dep, from).Set(0)
	m.breakerState.WithLabelValues(dep, to).Set(1)
	m.transitions.WithLabelValues(dep, from, to).Inc()
	m.lastTransition.WithLabelValues(dep).Set(float64(at.UnixNano()) / 1e9)
}

var (
	descPoolConns = prometheus.NewDesc("resilience_pool_connections",
		"Open connections by state: active (serving a request), idle.", []string{"dependency", "state"}, nil)
	descPoolPending = prometheus.NewDesc("resilience_pool_pending_acquires",
		"Requests waiting for a connection.", []string{"dependency"}, nil)
	descInFlight = prometheus.NewDesc("resilience_bulkhead_in_flight",
		"Calls holding a bulkhead permit.", []string{"dependency"}, nil)
	descPending = prometheus.NewDesc("resilience_pending_operations",
		"Operations whose outcome is not yet known.", []string{"dependency"}, nil)
	descPendingOldest = prometheus.NewDesc("resilience_pending_oldest_age_seconds",
		"Age of the oldest PENDING operation; 0 when there is none.", []string{"dependency"}, nil)
)

// liveCollector reads gauges that change with every request at scrape time
// instead of updating gauge vectors on every connection event.
type liveCollector struct {
	settings map[string]depSettings
	read     func(dep string) liveValues
}

// Describe implements prometheus.Collector.
func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPoolConns, descPoolPending, descInFlight, descPending, descPendingOldest} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	for d, s := range c.settings {
		v := c.read(d)
		if s.poolMax > 0 {
			ch <- prometheus.MustNewConstMetric(descPoolConns, prometheus.GaugeValue, v.poolActive, d, "active")
			ch <- prometheus.MustNewConstMetric(descPoolConns, prometheus.GaugeValue, v.poolIdle, d, "idle")
			ch <- prometheus.MustNewConstMetric(descPoolPending, prometheus.GaugeValue, v.poolPending, d)
		}
		if s.bulkheadMax > 0 {
			ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, v.bulkheadInFlight, d)
		}
		if s.pending {
			ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, v.pendingCount, d)
			ch <- prometheus.MustNewConstMetric(descPendingOldest, prometheus.GaugeValue, v.pendingOldest, d)
		}
	}
}
