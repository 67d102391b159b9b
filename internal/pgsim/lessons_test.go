package pgsim

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestDBPoolHeldAcrossSlowPG: with the db connection held across the pg
// call, a slow pg drains the db pool (in use = max, waiters, acquire
// timeouts); released before the call, the pool stays healthy under the
// same load.
func TestDBPoolHeldAcrossSlowPG(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		release bool
	}{
		{"held across the call", false},
		{"released before the call", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tm := fastTiming()
			tm.BreakerMinCalls = 10000 // an open pg breaker would free the pool: the lesson is the pool
			s := startSim(t, Config{RPS: 20, DBPool: 8, ReleaseDBBeforeCall: tc.release,
				Scenarios: map[string]string{DepPG: Slow}, Timing: tm})
			pool := func() (active, max, waiting, timeouts float64) {
				f := scrape(t, s.MetricsURL)
				return value(f, "resilience_pool_connections", "dependency", DepDB, "state", "active"),
					value(f, "resilience_pool_max_connections", "dependency", DepDB),
					value(f, "resilience_pool_pending_acquires", "dependency", DepDB),
					value(f, "resilience_pool_acquire_timeouts_total", "dependency", DepDB)
			}
			if !tc.release {
				waitFor(t, 10*time.Second, "db in use = max with waiters and acquire timeouts", func() bool {
					a, m, w, to := pool()
					return m == 8 && a == m && w > 0 && to > 0
				})
				return
			}
			// The held case exhausts the pool within about 2 s; the same
			// load must not make a single waiter in 4 s here.
			deadline := time.Now().Add(4 * time.Second)
			for time.Now().Before(deadline) {
				if a, m, w, to := pool(); w > 0 || to > 0 || a >= m {
					t.Fatalf("db pool with release-before-call: %v of %v in use, %v waiting, %v acquire timeouts", a, m, w, to)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if calls := value(scrape(t, s.MetricsURL), "resilience_calls_total", "dependency", DepDB, "outcome", outcomeSuccess); calls == 0 {
				t.Errorf("no db queries ran")
			}
		})
	}
}

// TestDuplicateChargesWithoutKeys: under flaky, a charged payment's answer
// is sometimes lost; a retry without an idempotency key charges again, and
// the order client's retries are counted as idempotent="false".
func TestDuplicateChargesWithoutKeys(t *testing.T) {
	t.Parallel()
	tm := fastTiming()
	tm.BreakerMinCalls = 10000 // keep the breaker closed: the lesson is the retries
	s := startSim(t, Config{RPS: 20, NoIdempotencyKeys: true, Timing: tm, Scenarios: map[string]string{DepPG: Flaky}})
	waitFor(t, 10*time.Second, "a duplicate charge", func() bool {
		return value(scrape(t, s.GatewayMetricsURL), "pgsim_duplicate_charges_total") > 0
	})
	fams := scrape(t, s.MetricsURL)
	if v := value(fams, "resilience_retries_total", "dependency", DepPG, "idempotent", idempotentNo); v == 0 {
		t.Errorf("pg retries without a key = 0, want > 0")
	}
}

// TestProxyRetriesHidden: a proxy that retries timed-out tries by itself
// (ViaProxy) while the order client retries nothing (MaxAttempts 1). Its
// retries show on pg-proxy, none on pg; with keys they charge nothing twice,
// without keys they do.
func TestProxyRetriesHidden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		noKeys bool
	}{
		{"with keys", false},
		{"without keys", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tm := fastTiming()
			tm.AttemptTimeout, tm.ProxyTryTimeout = time.Second, 300*time.Millisecond
			tm.BreakerMinCalls = 10000
			// Blackhole charges half the payments it swallows at once: each
			// of the proxy's tries is a chance to charge.
			s := startSim(t, Config{RPS: 20, ViaProxy: true, MaxAttempts: 1, NoIdempotencyKeys: tc.noKeys,
				Timing: tm, Scenarios: map[string]string{DepPG: Blackhole}})
			idem := idempotentYes
			if tc.noKeys {
				idem = idempotentNo
			}
			waitFor(t, 10*time.Second, "20 proxy retries", func() bool {
				return value(scrape(t, s.MetricsURL), "resilience_retries_total", "dependency", DepPGProxy, "idempotent", idem) >= 20
			})
			if !tc.noKeys {
				// Let the last held tries end before counting charges.
				time.Sleep(500 * time.Millisecond)
			} else {
				waitFor(t, 5*time.Second, "a duplicate charge", func() bool {
					return value(scrape(t, s.GatewayMetricsURL), "pgsim_duplicate_charges_total") > 0
				})
			}
			fams := scrape(t, s.MetricsURL)
			if r := value(fams, "resilience_retries_total", "dependency", DepPG); r != 0 {
				t.Errorf("the order client retried %v times, want 0 (MaxAttempts 1)", r)
			}
			gw := scrape(t, s.GatewayMetricsURL)
			if charges := value(gw, "pgsim_charges_total"); charges == 0 {
				t.Errorf("no charges: blackhole should take half the payments")
			}
			if dup := value(gw, "pgsim_duplicate_charges_total"); !tc.noKeys && dup != 0 {
				t.Errorf("%v duplicate charges with keys, want 0", dup)
			}
		})
	}
}

// TestBurstRejectsAtBulkhead: a burst of concurrent orders fills the
// bulkheads (rejections) and queues on the db pool; a second burst is
// refused while the first runs.
func TestBurstRejectsAtBulkhead(t *testing.T) {
	t.Parallel()
	tm := fastTiming()
	tm.BurstDuration = 3 * time.Second
	s := startSim(t, Config{Timing: tm})
	desc, err := s.Burst()
	if err != nil || desc == "" {
		t.Fatalf("Burst: %q, %v", desc, err)
	}
	if _, err := s.Burst(); !errors.Is(err, ErrBurstRunning) {
		t.Errorf("second Burst while the first runs: %v, want ErrBurstRunning", err)
	}
	var waiters float64
	waitFor(t, 10*time.Second, "bulkhead rejections and db waiters", func() bool {
		f := scrape(t, s.MetricsURL)
		waiters = max(waiters, value(f, "resilience_pool_pending_acquires", "dependency", DepDB))
		return value(f, "resilience_calls_total", "outcome", outcomeBulkheadRejected) > 0 && waiters > 0
	})
	waitFor(t, 10*time.Second, "the burst to end", func() bool {
		_, err := s.Burst()
		return err == nil
	})
}

// TestFailoverToPG2: with Failover, once pg's breaker opens in an outage,
// payments go to pg2; without it there is no pg2.
func TestFailoverToPG2(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{RPS: 20, Failover: true, Timing: fastTiming()})
	if deps := s.Dependencies(); len(deps) != 4 || deps[3] != DepPG2 {
		t.Errorf("Dependencies with failover: %v, want pg2 among them", deps)
	}
	time.Sleep(500 * time.Millisecond)
	if err := s.SetScenario(DepPG, Outage); err != nil {
		t.Fatal(err)
	}
	switched := time.Now()
	before := value(scrape(t, s.MetricsURL), "resilience_calls_total", "dependency", DepPG2, "outcome", outcomeSuccess)
	waitFor(t, 10*time.Second, "pg open and pg2 taking payments", func() bool {
		f := scrape(t, s.MetricsURL)
		open := value(f, "resilience_circuit_breaker_state", "dependency", DepPG, "state", stateOpen) +
			value(f, "resilience_circuit_breaker_state", "dependency", DepPG, "state", stateHalfOpen)
		return open == 1 && value(f, "resilience_calls_total", "dependency", DepPG2, "outcome", outcomeSuccess) >= before+5
	})
	t.Logf("pg2 took payments %v after pg's outage began", time.Since(switched).Round(100*time.Millisecond))

	plain := startSim(t, Config{Timing: fastTiming()})
	if deps := plain.Dependencies(); len(deps) != 3 {
		t.Errorf("Dependencies without failover: %v", deps)
	}
	if f := scrape(t, plain.MetricsURL); value(f, "resilience_calls_total", "dependency", DepPG2) != 0 || hasSeries(f["resilience_calls_total"], "dependency", DepPG2) {
		t.Errorf("pg2 exported without failover")
	}
	var list struct {
		CircuitBreakers map[string]map[string]any `json:"circuitBreakers"`
	}
	doJSON(t, http.MethodGet, s.AdminURL+"/circuitbreakers", "", "", nil, &list)
	if list.CircuitBreakers[DepPG2] == nil {
		t.Errorf("pg2's breaker not listed by the actuator: %v", list.CircuitBreakers)
	}
}
