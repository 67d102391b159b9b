package model

import (
	"errors"
	"fmt"
	"math"
	"slices"
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
	// idem splits retries by the idempotent label: unsafe of them "false",
	// the rest "true"; without it retries carry no such label.
	idem   bool
	unsafe float64
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
		if d.idem {
			w(`resilience_retries_total{dependency=%q,idempotent="true"} %g`, d.dep, d.retries-d.unsafe)
			w(`resilience_retries_total{dependency=%q,idempotent="false"} %g`, d.dep, d.unsafe)
			continue
		}
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
	s := newStore(o)
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
		name: "a scrape without the histogram does not split the range",
		pages: map[float64]string{
			0:  page(pg{dep: "pg", buckets: []float64{100, 100, 100, 100}}),
			10: page(pg{dep: "pg", buckets: []float64{110, 110, 110, 110}}),
			20: page(pg{dep: "pg"}),
			30: page(pg{dep: "pg", buckets: []float64{150, 190, 200, 200}}),
		},
		check: func(t *testing.T, d Dependency) {
			// Increases 10 then 40/80/90 ≤ 0.1/0.5/1: 50, 90, 100 as in the
			// window above, so the same quantiles; without the bridge only
			// the first 10 (all ≤ 0.1) would count.
			if !near(d.Latency.P50, 0.1) || !near(d.Latency.P90, 0.5) || !near(d.Latency.P99, 0.95) {
				t.Errorf("latency = %+v", d.Latency)
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
	s := newStore(StoreOptions{})
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
		mean float64 // NaN: unknown
	}{
		{"summary quantiles when there is no histogram", func(o *Observation) {
			o.LatencyQuantiles = map[float64]float64{0.5: 0.1, 0.99: 0.7}
		}, Quantiles{P50: 0.1, P90: Unknown(), P99: 0.7, P999: Unknown()}, math.NaN()},
		{"a mean is never a quantile, it is the mean", func(o *Observation) {
			o.LatencyMean = 0.3
		}, unknownQuantiles(), 0.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fakeProfile{name: "fake", obs: func() []Observation {
				o := NewObservation("pg", "fake")
				tt.obs(&o)
				return []Observation{o}
			}}
			s := newStore(StoreOptions{Force: []string{"fake"}, Profiles: builtinAnd(p)})
			s.Ingest(Scrape{Target: "t", Time: at(0), Page: NewPage(nil)})
			s.Ingest(Scrape{Target: "t", Time: at(1), Page: NewPage(nil)})
			d := dep(t, s.Snapshot(at(1), time.Minute), "pg")
			if !near(d.LatencyMean, tt.mean) {
				t.Errorf("mean = %v, want %v", d.LatencyMean, tt.mean)
			}
			got := d.Latency
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
	s := newStore(StoreOptions{ForceByTarget: map[string][]string{"bad": {"bad"}, "good": {"resiltop"}}, Profiles: builtinAnd(bad)})
	p := parsePage(t, page(pg{dep: "pg"}))
	s.Ingest(Scrape{Target: "bad", Time: at(0), Page: p})
	s.Ingest(Scrape{Target: "good", Time: at(0), Page: p})
	snap := s.Snapshot(at(0), time.Minute)
	if len(snap.Targets) != 2 || snap.Targets[0].Up || !strings.Contains(snap.Targets[0].Err, "boom") || !snap.Targets[1].Up {
		t.Errorf("targets = %+v", snap.Targets)
	}
}

// envoyPage is testdata's Envoy page with the mail cluster's maintenance-mode
// rejections counter at n (pg's stays at 0).
func envoyPage(t testing.TB, n float64) string {
	t.Helper()
	const line = `envoy_cluster_upstream_rq_maintenance_mode{envoy_cluster_name="mail"} 310`
	text := conventionPage(t, "envoy/envoy_pressure.prom")
	if !strings.Contains(text, line) {
		t.Fatal("envoy_pressure.prom lacks mail's maintenance-mode counter")
	}
	return strings.Replace(text, line, fmt.Sprintf(`envoy_cluster_upstream_rq_maintenance_mode{envoy_cluster_name="mail"} %g`, n), 1)
}

// mixedPage is a native page for mail in state st beside Envoy's
// maintenance-mode counter for the same name, so both profiles merge.
func mixedPage(st string, rejected float64) string {
	return page(pg{dep: "mail", state: st}) + "# TYPE envoy_cluster_upstream_rq_maintenance_mode counter\n" +
		fmt.Sprintf("envoy_cluster_upstream_rq_maintenance_mode{envoy_cluster_name=\"mail\"} %g\n", rejected)
}

func TestForcedOpenFromRejections(t *testing.T) {
	tests := []struct {
		name  string
		pages func(t *testing.T) map[float64]string
		want  BreakerState
		since float64 // seconds after t0; < 0 means unknown
		event string  // a part of the last event about mail; "" means none
	}{{
		name: "rejections rising between the last two scrapes: forced open",
		pages: func(t *testing.T) map[float64]string {
			return map[float64]string{0: envoyPage(t, 310), 1: envoyPage(t, 350)}
		},
		want: BreakerForcedOpen, since: 1, event: "breaker forced_open: 40 calls rejected since the last scrape",
	}, {
		name: "rejections flat: no state made up",
		pages: func(t *testing.T) map[float64]string {
			return map[float64]string{0: envoyPage(t, 310), 1: envoyPage(t, 310)}
		},
		want: BreakerUnknown, since: -1,
	}, {
		name: "rejections stopped: no longer forced",
		pages: func(t *testing.T) map[float64]string {
			return map[float64]string{0: envoyPage(t, 310), 1: envoyPage(t, 350), 2: envoyPage(t, 350)}
		},
		want: BreakerUnknown, since: -1, event: "no longer forced_open",
	}, {
		name:  "one scrape cannot show a rise",
		pages: func(t *testing.T) map[float64]string { return map[float64]string{0: envoyPage(t, 310)} },
		want:  BreakerUnknown, since: -1,
	}, {
		name: "a reset counts what was rejected since the restart",
		pages: func(t *testing.T) map[float64]string {
			return map[float64]string{0: envoyPage(t, 310), 1: envoyPage(t, 5)}
		},
		want: BreakerForcedOpen, since: 1, event: "5 calls rejected",
	}, {
		name: "a closed breaker with rejections rising is forced open",
		pages: func(t *testing.T) map[float64]string {
			return map[float64]string{0: mixedPage("closed", 0), 1: mixedPage("closed", 0), 2: mixedPage("closed", 12)}
		},
		want: BreakerForcedOpen, since: 2, event: "breaker closed → forced_open",
	}, {
		name: "an open breaker stays open",
		pages: func(t *testing.T) map[float64]string {
			return map[float64]string{0: mixedPage("open", 0), 1: mixedPage("open", 12)}
		},
		want: BreakerOpen, since: -1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := tt.pages(t)
			s := ingest(t, StoreOptions{}, "http://a/metrics", pages)
			snap := s.Snapshot(at(10), time.Minute)
			d := dep(t, snap, "mail")
			if d.Breaker.State != tt.want {
				t.Errorf("state = %s, want %s", d.Breaker.State, tt.want)
			}
			if tt.since < 0 && !d.Breaker.Since.IsZero() {
				t.Errorf("since = %v, want unknown", d.Breaker.Since)
			}
			if tt.since >= 0 && !d.Breaker.Since.Equal(at(tt.since)) {
				t.Errorf("since = %v, want %v", d.Breaker.Since, at(tt.since))
			}
			if n := len(d.History); n != len(pages)-1 || n > 0 && d.History[n-1].Breaker != tt.want {
				t.Errorf("history %+v, want %d steps ending in %s", d.History, len(pages)-1, tt.want)
			}
			var got string
			for _, e := range snap.Events {
				if e.Dependency == "mail" {
					got = e.Message
				}
			}
			if tt.event == "" && got != "" || !strings.Contains(got, tt.event) {
				t.Errorf("last mail event %q, want one containing %q", got, tt.event)
			}
			var open bool
			for _, f := range d.Findings {
				open = open || f.Kind == BreakerOpenKind
			}
			if wantOpen := tt.want == BreakerForcedOpen || tt.want == BreakerOpen; open != wantOpen {
				t.Errorf("breaker_open finding %v, want %v (%+v)", open, wantOpen, d.Findings)
			}
		})
	}
}

func TestConventionSignalsThroughStore(t *testing.T) {
	tests := []struct {
		name, page, dep string
		got             func(d Dependency) Value
		want            float64 // NaN: unknown
	}{
		{"resilience4j failure rate", "resilience4j/spring_boot3.prom", "pg", func(d Dependency) Value { return d.Breaker.FailureRate }, 62.5},
		{"resilience4j slow-call rate", "resilience4j/spring_boot3.prom", "pg", func(d Dependency) Value { return d.Breaker.SlowCallRate }, 12.5},
		{"-1 failure rate is unknown", "resilience4j/spring_boot3.prom", "mail", func(d Dependency) Value { return d.Breaker.FailureRate }, math.NaN()},
		{"-1 slow-call rate is unknown", "resilience4j/spring_boot3.prom", "mail", func(d Dependency) Value { return d.Breaker.SlowCallRate }, math.NaN()},
		{"Envoy ejected hosts", "envoy/envoy_pressure.prom", "pg", func(d Dependency) Value { return d.EjectedHosts }, 2},
		{"no outlier detection, no ejections made up", "envoy/envoy_pressure.prom", "mail", func(d Dependency) Value { return d.EjectedHosts }, math.NaN()},
		{"Envoy has no breaker rates", "envoy/envoy_pressure.prom", "pg", func(d Dependency) Value { return d.Breaker.FailureRate }, math.NaN()},
		{"native has no ejections", "", "pg", func(d Dependency) Value { return d.EjectedHosts }, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := page(pg{dep: "pg"})
			if tt.page != "" {
				text = conventionPage(t, tt.page)
			}
			s := newStore(StoreOptions{})
			for sec := range 2 {
				s.Ingest(Scrape{Target: "http://a/metrics", Time: at(float64(sec)), Page: parsePage(t, text)})
			}
			if got := tt.got(dep(t, s.Snapshot(at(1), time.Minute), tt.dep)); !near(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// histProfile reports one dependency "pg" whose calls and latency histogram
// grow by scrape; from scrape layoutFrom on, the histogram has another layout.
func histProfile(scrape *int, layoutFrom int) fakeProfile {
	return fakeProfile{name: "hist", obs: func() []Observation {
		i := float64(*scrape)
		o := NewObservation("pg", "hist")
		o.Calls = map[Outcome]float64{OutcomeSuccess: 10 * i, OutcomeTimeout: i * i}
		o.Latency = &Histogram{Bounds: []float64{0.1, 1, math.Inf(1)}, Counts: []float64{3 * i, 8 * i, 10 * i}}
		if *scrape >= layoutFrom {
			o.Latency = &Histogram{Bounds: []float64{0.05, 0.5, math.Inf(1)}, Counts: []float64{i * i, 2 * i * i, 3 * i * i}}
		}
		return []Observation{o}
	}}
}

// render prints a dependency's history, NaNs included, for comparisons.
func render(h []Point) string { return fmt.Sprintf("%v", h) }

// TestHistoryIsDerivedOnce checks the steps Snapshot reuses against steps
// derived afresh from the samples they lie between, after thinning, trimming
// and a change of histogram layout, and that an earlier snapshot never
// changes under later ingests.
func TestHistoryIsDerivedOnce(t *testing.T) {
	tests := []struct {
		name       string
		opts       StoreOptions
		scrapes    int
		layoutFrom int
		window     time.Duration
		known      int // steps at the end with known latency
	}{
		{"thinned history", StoreOptions{MaxSamples: 40}, 200, 1000, time.Hour, 39},
		{"trimmed history", StoreOptions{History: 30 * time.Second}, 100, 1000, time.Hour, 30},
		{"layout changed inside the window", StoreOptions{}, 40, 30, time.Minute, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var i int
			tt.opts.Force, tt.opts.Profiles = []string{"hist"}, []Profile{histProfile(&i, tt.layoutFrom)}
			s := NewStore(tt.opts)
			for i = 0; i < tt.scrapes; i++ {
				s.Ingest(Scrape{Target: "t", Time: at(float64(i)), Page: NewPage(nil)})
			}
			now := at(float64(tt.scrapes - 1))
			snap := s.Snapshot(now, tt.window)
			d := dep(t, snap, "pg")
			before := render(d.History)

			s.mu.RLock()
			all := s.targets["t"].deps["pg"].samples
			ws := inWindow(all, all[len(all)-1].t.Add(-tt.window), all[len(all)-1].t)
			var scratch []Bucket
			want := make([]Point, 0, len(ws)-1)
			for k := 1; k < len(ws); k++ {
				p := pointOf(&ws[k-1], &ws[k], &scratch)
				if !sameBounds(ws[k].bounds, ws[len(ws)-1].bounds) {
					p.Latency, p.Buckets = unknownQuantiles(), nil
				}
				want = append(want, p)
			}
			s.mu.RUnlock()
			if got := render(d.History); got != render(want) {
				t.Errorf("history differs from a fresh derivation:\n got %s\nwant %s", got, render(want))
			}
			knownSteps := 0
			for _, p := range d.History {
				if p.Latency.P50.Known() && p.Buckets != nil {
					knownSteps++
				}
			}
			if knownSteps != tt.known || len(d.History) < tt.known {
				t.Errorf("%d of %d steps have latency, want the last %d", knownSteps, len(d.History), tt.known)
			}
			if again := dep(t, s.Snapshot(now, tt.window), "pg"); render(again.History) != before || fmt.Sprint(again) != fmt.Sprint(d) {
				t.Error("a second snapshot with nothing ingested differs from the first")
			}
			for ; i < 3*tt.scrapes; i++ {
				s.Ingest(Scrape{Target: "t", Time: at(float64(i)), Page: NewPage(nil)})
			}
			if after := render(d.History); after != before {
				t.Errorf("an earlier snapshot changed under later ingests:\nbefore %s\n after %s", before, after)
			}
		})
	}
}

func TestCandidates(t *testing.T) {
	o := StoreOptions{Profiles: BuiltinProfiles, Force: []string{"envoy"},
		ForceByTarget: map[string][]string{"mine": {"resiltop", "otel"}, "all": nil}}
	names := func(ps []Profile) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name())
		}
		return out
	}
	tests := []struct {
		target string
		want   []string
	}{
		{"other", []string{"envoy"}},
		{"mine", []string{"resiltop", "otel"}},
		{"all", names(BuiltinProfiles)}, // forced to nothing: detection among all
	}
	for _, tc := range tests {
		if got := names(o.Candidates(tc.target)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.target, got, tc.want)
		}
	}
	if got := names(StoreOptions{Profiles: BuiltinProfiles}.Candidates("x")); !slices.Equal(got, names(BuiltinProfiles)) {
		t.Errorf("unforced: %v", got)
	}
}
