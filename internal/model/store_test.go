package model

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// counters of one scrape of one dependency, for page().
type pg struct {
	dep                            string
	success, failure, timeout      float64
	rejected, retries, transitions float64
	state                          string
	buckets                        []float64 // cumulative counts at 0.1, 0.5, 1, +Inf
	timeoutSec, active, max, wait  float64
	pending, oldest                float64
	created, resolved              float64
}

// page renders scrapes of dependencies in the resiltop convention.
func page(deps ...pg) string {
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f+"\n", a...) }
	w("# TYPE resilience_calls_total counter")
	for _, d := range deps {
		w(`resilience_calls_total{dependency=%q,outcome="success"} %g`, d.dep, d.success)
		w(`resilience_calls_total{dependency=%q,outcome="failure"} %g`, d.dep, d.failure)
		w(`resilience_calls_total{dependency=%q,outcome="timeout"} %g`, d.dep, d.timeout)
		w(`resilience_calls_total{dependency=%q,outcome="bulkhead_rejected"} %g`, d.dep, d.rejected)
	}
	w("# TYPE resilience_retries_total counter")
	for _, d := range deps {
		w(`resilience_retries_total{dependency=%q} %g`, d.dep, d.retries)
	}
	w("# TYPE resilience_circuit_breaker_transitions_total counter")
	for _, d := range deps {
		w(`resilience_circuit_breaker_transitions_total{dependency=%q,from="closed",to="open"} %g`, d.dep, d.transitions)
	}
	w("# TYPE resilience_circuit_breaker_state gauge")
	for _, d := range deps {
		st := d.state
		if st == "" {
			st = "closed"
		}
		for _, s := range []string{"closed", "open", "half_open", "forced_open", "disabled"} {
			v := 0
			if s == st {
				v = 1
			}
			w(`resilience_circuit_breaker_state{dependency=%q,state=%q} %d`, d.dep, s, v)
		}
	}
	w("# TYPE resilience_attempt_duration_seconds histogram")
	for _, d := range deps {
		if d.buckets == nil {
			continue
		}
		for i, le := range []string{"0.1", "0.5", "1", "+Inf"} {
			w(`resilience_attempt_duration_seconds_bucket{dependency=%q,le=%q} %g`, d.dep, le, d.buckets[i])
		}
		w(`resilience_attempt_duration_seconds_count{dependency=%q} %g`, d.dep, d.buckets[3])
		w(`resilience_attempt_duration_seconds_sum{dependency=%q} 1`, d.dep)
	}
	gauges := []struct {
		name string
		get  func(pg) float64
	}{
		{"resilience_timeout_seconds", func(d pg) float64 { return d.timeoutSec }},
		{"resilience_pool_max_connections", func(d pg) float64 { return d.max }},
		{"resilience_pool_pending_acquires", func(d pg) float64 { return d.wait }},
		{"resilience_pending_operations", func(d pg) float64 { return d.pending }},
		{"resilience_pending_oldest_age_seconds", func(d pg) float64 { return d.oldest }},
	}
	for _, g := range gauges {
		w("# TYPE %s gauge", g.name)
		for _, d := range deps {
			w(`%s{dependency=%q} %g`, g.name, d.dep, g.get(d))
		}
	}
	w("# TYPE resilience_pool_connections gauge")
	for _, d := range deps {
		w(`resilience_pool_connections{dependency=%q,state="active"} %g`, d.dep, d.active)
	}
	for _, c := range []struct {
		name string
		get  func(pg) float64
	}{
		{"resilience_pending_created_total", func(d pg) float64 { return d.created }},
		{"resilience_pending_resolved_total", func(d pg) float64 { return d.resolved }},
	} {
		w("# TYPE %s counter", c.name)
		for _, d := range deps {
			w(`%s{dependency=%q} %g`, c.name, d.dep, c.get(d))
		}
	}
	return b.String()
}

// ingest feeds pages at the given seconds after t0 to a new store.
func ingest(t testing.TB, o StoreOptions, target string, pages map[float64]string) *Store {
	t.Helper()
	s := NewStore(o)
	feed(t, s, target, pages)
	return s
}

// feed ingests pages in time order.
func feed(t testing.TB, s *Store, target string, pages map[float64]string) {
	t.Helper()
	var times []float64
	for k := range pages {
		times = append(times, k)
	}
	for len(times) > 0 {
		mi := 0
		for i := range times {
			if times[i] < times[mi] {
				mi = i
			}
		}
		sec := times[mi]
		times = append(times[:mi], times[mi+1:]...)
		if pages[sec] == "" {
			s.Ingest(Scrape{Target: target, Time: at(sec), Err: errors.New("connection refused")})
			continue
		}
		s.Ingest(Scrape{Target: target, Time: at(sec), Page: parsePage(t, pages[sec])})
	}
}

// dep finds a dependency in a snapshot.
func dep(t testing.TB, s *Snapshot, name string) Dependency {
	t.Helper()
	for _, d := range s.Dependencies {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("dependency %q not in snapshot (%d deps)", name, len(s.Dependencies))
	return Dependency{}
}

// near compares values, treating unknown as equal to unknown.
func near(got Value, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(float64(got))
	}
	return math.Abs(float64(got)-want) < 1e-9*math.Max(1, math.Abs(want))
}

func TestStoreRates(t *testing.T) {
	tests := []struct {
		name  string
		pages map[float64]string
		check func(t *testing.T, d Dependency)
	}{{
		name: "steady rates over the window",
		pages: map[float64]string{
			0:  page(pg{dep: "pg", success: 100, failure: 10, timeout: 0, retries: 5}),
			10: page(pg{dep: "pg", success: 180, failure: 20, timeout: 10, retries: 55}),
		},
		check: func(t *testing.T, d Dependency) {
			// 100 calls in 10 s: 80 success, 10 failure, 10 timeout; 50 retries.
			want := map[string][2]float64{
				"calls/s":    {float64(d.CallsPerSecond), 10},
				"error":      {float64(d.ErrorRatio), 0.2},
				"timeouts/s": {float64(d.TimeoutsPerSecond), 1},
				"retries/s":  {float64(d.RetriesPerSecond), 5},
				"retryratio": {float64(d.RetryRatio), 0.5},
			}
			for k, v := range want {
				if !near(Value(v[0]), v[1]) {
					t.Errorf("%s = %v, want %v", k, v[0], v[1])
				}
			}
		},
	}, {
		name: "a decrease is a reset: the new value is the increase",
		pages: map[float64]string{
			0:  page(pg{dep: "pg", success: 1000}),
			10: page(pg{dep: "pg", success: 1100}),
			20: page(pg{dep: "pg", success: 30}),
		},
		check: func(t *testing.T, d Dependency) {
			if !near(d.CallsPerSecond, 130.0/20) {
				t.Errorf("calls/s = %v, want %v", d.CallsPerSecond, 130.0/20)
			}
		},
	}, {
		name:  "one scrape: rates unknown, gauges known",
		pages: map[float64]string{0: page(pg{dep: "pg", success: 5, timeoutSec: 0.8, pending: 3})},
		check: func(t *testing.T, d Dependency) {
			for name, v := range map[string]Value{"calls": d.CallsPerSecond, "error": d.ErrorRatio, "p99": d.Latency.P99, "transitions": d.Breaker.Transitions} {
				if v.Known() {
					t.Errorf("%s = %v, want unknown", name, v)
				}
			}
			if !near(d.TimeoutSeconds, 0.8) || !near(d.Pending.Count, 3) {
				t.Errorf("gauges = %v %v", d.TimeoutSeconds, d.Pending.Count)
			}
		},
	}, {
		name: "no calls in the window: error ratio unknown, rate zero",
		pages: map[float64]string{
			0: page(pg{dep: "pg", success: 5}),
			5: page(pg{dep: "pg", success: 5}),
		},
		check: func(t *testing.T, d Dependency) {
			if !near(d.CallsPerSecond, 0) || d.ErrorRatio.Known() || d.RetryRatio.Known() {
				t.Errorf("calls/s %v error %v retry ratio %v", d.CallsPerSecond, d.ErrorRatio, d.RetryRatio)
			}
		},
	}, {
		name: "window quantiles from bucket increases",
		pages: map[float64]string{
			0:  page(pg{dep: "pg", buckets: []float64{100, 100, 100, 100}}),
			10: page(pg{dep: "pg", buckets: []float64{150, 190, 200, 200}}),
		},
		check: func(t *testing.T, d Dependency) {
			// Increases: 50 ≤0.1, 90 ≤0.5, 100 ≤1. p50 = 0.1; p90 = 0.5;
			// p99 = 0.5 + 0.5×(99−90)/10 = 0.95.
			if !near(d.Latency.P50, 0.1) || !near(d.Latency.P90, 0.5) || !near(d.Latency.P99, 0.95) {
				t.Errorf("latency = %+v", d.Latency)
			}
			if len(d.History) != 1 || len(d.History[0].Buckets) != 4 {
				t.Fatalf("history = %+v", d.History)
			}
			want := []float64{5, 4, 1, 0}
			for i, v := range d.History[0].Buckets {
				if !near(Value(v), want[i]) {
					t.Errorf("bucket %d rate %v, want %v", i, v, want[i])
				}
			}
		},
	}, {
		name: "pending and bulkhead rates",
		pages: map[float64]string{
			0: page(pg{dep: "pg", created: 10, resolved: 5, rejected: 0}),
			4: page(pg{dep: "pg", created: 30, resolved: 9, rejected: 8}),
		},
		check: func(t *testing.T, d Dependency) {
			if !near(d.Pending.CreatedPerSecond, 5) || !near(d.Pending.ResolvedPerSecond, 1) || !near(d.Bulkhead.RejectedPerSecond, 2) {
				t.Errorf("pending %+v bulkhead %+v", d.Pending, d.Bulkhead)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ingest(t, StoreOptions{}, "http://a/metrics", tt.pages)
			snap := s.Snapshot(at(100), time.Minute*5)
			tt.check(t, dep(t, snap, "pg"))
		})
	}
}

func TestConcurrentIngestAndSnapshot(t *testing.T) {
	s := NewStore(StoreOptions{})
	pages := make([]*Page, 20)
	for i := range pages {
		pages[i] = parsePage(t, page(pg{dep: "pg", success: float64(i * 10), buckets: []float64{float64(i), float64(i), float64(i), float64(i)}}))
	}
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range pages {
				// Pages are shared between targets: Ingest must not modify them.
				s.Ingest(Scrape{Target: fmt.Sprintf("t%d", g), Time: at(float64(i)), Page: pages[i]})
			}
		}()
	}
	for i := range 20 {
		snap := s.Snapshot(at(float64(i)), time.Minute)
		for _, d := range snap.Dependencies {
			if d.CallsPerSecond.Known() && !near(d.CallsPerSecond, 10) {
				t.Errorf("calls/s = %v", d.CallsPerSecond)
			}
		}
	}
	for range 4 {
		<-done
	}
	if n := len(s.Snapshot(at(19), time.Minute).Dependencies); n != 4 {
		t.Errorf("%d dependencies, want 4", n)
	}
}

func TestSummaryFallbackAndMean(t *testing.T) {
	tests := []struct {
		name string
		obs  func(o *Observation)
		want Quantiles
	}{
		{"summary quantiles when there is no histogram", func(o *Observation) {
			o.LatencyQuantiles = map[float64]float64{0.5: 0.1, 0.99: 0.7}
		}, Quantiles{P50: 0.1, P90: Unknown(), P99: 0.7, P999: Unknown()}},
		{"a mean is never a quantile", func(o *Observation) {
			o.LatencyMean = 0.3
		}, unknownQuantiles()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fakeProfile{name: "fake", obs: func() []Observation {
				o := NewObservation("pg", "fake")
				tt.obs(&o)
				return []Observation{o}
			}}
			s := NewStore(StoreOptions{Force: []string{"fake"}, Extra: []Profile{p}})
			s.Ingest(Scrape{Target: "t", Time: at(0), Page: NewPage(nil)})
			s.Ingest(Scrape{Target: "t", Time: at(1), Page: NewPage(nil)})
			got := dep(t, s.Snapshot(at(1), time.Minute), "pg").Latency
			for i, pair := range [][2]Value{{got.P50, tt.want.P50}, {got.P90, tt.want.P90}, {got.P99, tt.want.P99}, {got.P999, tt.want.P999}} {
				if !near(pair[0], float64(pair[1])) {
					t.Errorf("level %v = %v, want %v", quantileLevels[i], pair[0], pair[1])
				}
			}
		})
	}
}

func TestProfilePanicCostsOneTarget(t *testing.T) {
	bad := fakeProfile{name: "bad", obs: func() []Observation { panic("boom") }}
	s := NewStore(StoreOptions{ForceByTarget: map[string][]string{"bad": {"bad"}, "good": {"resiltop"}}, Extra: []Profile{bad}})
	p := parsePage(t, page(pg{dep: "pg"}))
	s.Ingest(Scrape{Target: "bad", Time: at(0), Page: p})
	s.Ingest(Scrape{Target: "good", Time: at(0), Page: p})
	snap := s.Snapshot(at(0), time.Minute)
	if len(snap.Targets) != 2 || snap.Targets[0].Up || !strings.Contains(snap.Targets[0].Err, "boom") || !snap.Targets[1].Up {
		t.Errorf("targets = %+v", snap.Targets)
	}
}
