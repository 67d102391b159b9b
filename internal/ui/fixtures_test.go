package ui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"resiltop/internal/admin"
	"resiltop/internal/model"
)

// t0 is the fixtures' pinned time.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

const (
	tgtA = "http://127.0.0.1:8080/metrics"
	tgtB = "http://127.0.0.1:9090/metrics"
)

func v(f float64) model.Value { return model.Value(f) }

// history makes n points, one per second ending at end, with shapes that
// differ per dependency so sparklines and charts are not flat.
func history(n int, end time.Time, base float64, state model.BreakerState, buckets int) []model.Point {
	pts := make([]model.Point, n)
	for i := range pts {
		f := float64(i)
		b := make([]float64, buckets)
		for j := range b {
			b[j] = math.Max(0, base*10-math.Abs(float64(j)-f/float64(n)*float64(buckets))*3)
		}
		if buckets == 0 {
			b = nil
		}
		pts[i] = model.Point{
			Time:              end.Add(time.Duration(i-n+1) * time.Second),
			CallsPerSecond:    v(base * (1 + math.Sin(f/3))),
			ErrorRatio:        v(0.1 * (1 + math.Cos(f/4)) / 2),
			TimeoutsPerSecond: v(base / 10),
			RetriesPerSecond:  v(base / 5),
			Latency:           model.Quantiles{P50: v(0.05), P90: v(0.1), P99: v(0.1 + 0.02*f), P999: v(0.5)},
			Breaker:           state,
			PoolInUse:         v(f / 2),
			BulkheadInFlight:  v(f / 3),
			PendingCount:      v(f),
			PendingOldest:     v(f * 2),
			Buckets:           b,
		}
	}
	return pts
}

var bounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, math.Inf(1)}

func finding(kind model.FindingKind, sev model.Severity, dep, msg string) model.Finding {
	return model.Finding{Kind: kind, Severity: sev, Target: tgtA, Dependency: dep, Message: msg, Since: t0.Add(-time.Minute),
		Advice: model.Advice(kind)}
}

// fixture is a snapshot with stale, unknown, forced-open, half-open, limit
// and every finding kind.
func fixture() *model.Snapshot {
	fs := []model.Finding{
		finding(model.BreakerOpenKind, model.Critical, "pg", "pg: breaker OPEN for 2m03s — calls short-circuited"),
		finding(model.RetryStorm, model.Critical, "pg", "pg: retry storm — 14.2 retries/s for 9.8 first attempts/s (ratio 1.45)"),
		finding(model.TimeoutsRising, model.Critical, "pg", "pg: timeouts rising — 12% of calls end with an unknown outcome"),
		finding(model.TargetDown, model.Critical, "", "127.0.0.1:9090: target down — connection refused"),
		finding(model.BacklogStale, model.Warning, "pg", "pg: PENDING backlog stale — oldest 6m10s (> 5m)"),
		finding(model.BacklogGrowing, model.Warning, "pg", "pg: PENDING backlog growing — created 3.1/s, resolved 0.4/s"),
		finding(model.PoolExhausted, model.Warning, "stock", "stock: pool exhausted — 10/10 in use, 4 waiting for 12s"),
		finding(model.BulkheadSaturated, model.Warning, "stock", "stock: bulkhead saturated — 19/20 in flight (95%)"),
		finding(model.TailNearTimeout, model.Warning, "mail", "mail: p99 1.7s is 85% of the 2s timeout"),
		finding(model.BreakerFlapping, model.Warning, "mail", "mail: breaker flapping — 6 transitions in 5m"),
	}
	byDep := func(name string) []model.Finding {
		var out []model.Finding
		for _, f := range fs {
			if f.Dependency == name {
				out = append(out, f)
			}
		}
		return out
	}
	unknownPool := model.Pool{InUse: model.Unknown(), Max: model.Unknown(), Pending: model.Unknown()}
	unknownBulk := model.Bulkhead{InFlight: model.Unknown(), Max: model.Unknown(), RejectedPerSecond: model.Unknown()}
	unknownPending := model.Pending{Count: model.Unknown(), OldestAgeSeconds: model.Unknown(), CreatedPerSecond: model.Unknown(), ResolvedPerSecond: model.Unknown()}
	unknownQ := model.Quantiles{P50: model.Unknown(), P90: model.Unknown(), P99: model.Unknown(), P999: model.Unknown()}
	deps := []model.Dependency{
		{
			Target: tgtA, Name: "pg", Profiles: []string{"resiltop"},
			Breaker:        model.Breaker{State: model.BreakerOpen, Since: t0.Add(-123 * time.Second), Transitions: v(3)},
			CallsPerSecond: v(24.1), ErrorRatio: v(0.412), TimeoutsPerSecond: v(2.9), RetriesPerSecond: v(14.2), RetryRatio: v(1.45),
			Latency:        model.Quantiles{P50: v(0.21), P90: v(0.9), P99: v(1.87), P999: v(2)},
			TimeoutSeconds: v(2),
			Pool:           model.Pool{InUse: v(8), Max: v(10), Pending: v(0)},
			Bulkhead:       model.Bulkhead{InFlight: v(12), Max: v(20), RejectedPerSecond: v(0.4)},
			Pending:        model.Pending{Count: v(37), OldestAgeSeconds: v(370), CreatedPerSecond: v(3.1), ResolvedPerSecond: v(0.4)},
			Findings:       byDep("pg"), LastSeen: t0, BucketBounds: bounds,
			History: history(60, t0, 2, model.BreakerOpen, len(bounds)),
		},
		{
			Target: tgtA, Name: "mail", Profiles: []string{"resiltop"},
			Breaker:        model.Breaker{State: model.BreakerForcedOpen, Since: t0.Add(-30 * time.Second), Transitions: v(6)},
			CallsPerSecond: v(0), ErrorRatio: v(1), TimeoutsPerSecond: v(0), RetriesPerSecond: v(0), RetryRatio: v(0),
			Latency:        model.Quantiles{P50: v(0.8), P90: v(1.5), P99: v(1.7), P999: v(1.9)},
			TimeoutSeconds: v(2),
			Pool:           model.Pool{InUse: v(0), Max: v(4), Pending: v(0)},
			Bulkhead:       model.Bulkhead{InFlight: v(0), Max: v(10), RejectedPerSecond: v(0)},
			Pending:        model.Pending{Count: v(0), OldestAgeSeconds: v(0), CreatedPerSecond: v(0), ResolvedPerSecond: v(0)},
			Findings:       byDep("mail"), LastSeen: t0, BucketBounds: bounds,
			History: history(60, t0, 1, model.BreakerForcedOpen, len(bounds)),
		},
		{
			Target: tgtA, Name: "stock", Profiles: []string{"resiltop"},
			Breaker:        model.Breaker{State: model.BreakerHalfOpen, Since: t0.Add(-5 * time.Second), Transitions: v(1)},
			CallsPerSecond: v(133), ErrorRatio: v(0.004), TimeoutsPerSecond: v(0.02), RetriesPerSecond: v(1.1), RetryRatio: v(0.008),
			Latency:        model.Quantiles{P50: v(0.0042), P90: v(0.012), P99: v(0.038), P999: v(0.09)},
			TimeoutSeconds: v(1),
			Pool:           model.Pool{InUse: v(10), Max: v(10), Pending: v(4)},
			Bulkhead:       model.Bulkhead{InFlight: v(19), Max: v(20), RejectedPerSecond: v(2.5)},
			Pending:        model.Pending{Count: v(0), OldestAgeSeconds: model.Unknown(), CreatedPerSecond: v(0), ResolvedPerSecond: v(0)},
			Findings:       byDep("stock"), LastSeen: t0, BucketBounds: bounds,
			History: history(60, t0, 50, model.BreakerHalfOpen, len(bounds)),
		},
		{
			Target: tgtB, Name: "ledger", Profiles: []string{"resilience4j"},
			Breaker:        model.Breaker{State: model.BreakerClosed, Transitions: v(0)},
			CallsPerSecond: v(5.5), ErrorRatio: v(0), TimeoutsPerSecond: v(0), RetriesPerSecond: v(0), RetryRatio: v(0),
			Latency:        model.Quantiles{P50: v(0.012), P90: v(0.02), P99: v(0.03), P999: v(0.04)},
			TimeoutSeconds: v(1),
			Pool:           unknownPool, Bulkhead: unknownBulk, Pending: unknownPending,
			Stale: true, LastSeen: t0.Add(-47 * time.Second),
			History: history(13, t0.Add(-47*time.Second), 5, model.BreakerClosed, 0),
		},
		{
			Target: tgtA, Name: "upstream_payments", Profiles: []string{"envoy"},
			Breaker:        model.Breaker{State: model.BreakerClosed, Limit: "pending", Transitions: model.Unknown()},
			CallsPerSecond: v(310), ErrorRatio: v(0.02), TimeoutsPerSecond: model.Unknown(), RetriesPerSecond: v(3), RetryRatio: v(0.01),
			Latency: unknownQ, TimeoutSeconds: model.Unknown(),
			Pool: model.Pool{InUse: v(100), Max: v(100), Pending: v(37)}, Bulkhead: unknownBulk, Pending: unknownPending,
			LastSeen: t0,
		},
		{
			Target: tgtA, Name: "cache", Profiles: []string{"otel"},
			Breaker:        model.Breaker{State: model.BreakerUnknown, Transitions: model.Unknown()},
			CallsPerSecond: model.Unknown(), ErrorRatio: model.Unknown(), TimeoutsPerSecond: model.Unknown(), RetriesPerSecond: model.Unknown(), RetryRatio: model.Unknown(),
			Latency: unknownQ, TimeoutSeconds: model.Unknown(),
			Pool: unknownPool, Bulkhead: unknownBulk, Pending: unknownPending, LastSeen: t0,
		},
	}
	// What only some conventions report: resilience4j's own rates on pg,
	// Envoy's ejections on upstream_payments, unknown everywhere else.
	for i := range deps {
		deps[i].Breaker.FailureRate, deps[i].Breaker.SlowCallRate, deps[i].EjectedHosts = model.Unknown(), model.Unknown(), model.Unknown()
		switch deps[i].Name {
		case "pg":
			deps[i].Breaker.FailureRate, deps[i].Breaker.SlowCallRate = v(62.5), v(12.5)
		case "upstream_payments":
			deps[i].EjectedHosts = v(2)
		}
	}
	return &model.Snapshot{
		Time: t0, Window: time.Minute,
		Targets: []model.TargetHealth{
			{URL: tgtA, Up: true, LastScrape: t0.Add(-400 * time.Millisecond), LastSuccess: t0.Add(-400 * time.Millisecond), ScrapeDuration: 12 * time.Millisecond, Series: 812, Profiles: []string{"resiltop", "envoy", "otel"}},
			{URL: tgtB, Up: false, Err: "connection refused", LastScrape: t0, LastSuccess: t0.Add(-47 * time.Second), ScrapeDuration: time.Millisecond},
		},
		Dependencies: deps,
		Findings:     fs,
		Events: []model.Event{
			{Time: t0.Add(-123 * time.Second), Target: tgtA, Dependency: "pg", Message: "breaker closed → open"},
			{Time: t0.Add(-47 * time.Second), Target: tgtB, Message: "scrape failed: connection refused"},
			{Time: t0.Add(-5 * time.Second), Target: tgtA, Dependency: "stock", Message: "breaker open → half_open"},
		},
	}
}

// withState returns a copy of snap, at time at, with dep's breaker in state.
func withState(snap *model.Snapshot, at time.Time, dep string, state model.BreakerState) *model.Snapshot {
	c := *snap
	c.Time = at
	c.Dependencies = append([]model.Dependency(nil), snap.Dependencies...)
	for i := range c.Dependencies {
		c.Dependencies[i].LastSeen = at
		if c.Dependencies[i].Name == dep {
			c.Dependencies[i].Breaker.State = state
		}
	}
	return &c
}

// manyDeps makes n healthy dependencies with history, for benchmarks.
func manyDeps(n int) *model.Snapshot {
	snap := &model.Snapshot{Time: t0, Window: time.Minute,
		Targets: []model.TargetHealth{{URL: tgtA, Up: true, LastScrape: t0, ScrapeDuration: time.Millisecond}}}
	for i := range n {
		d := fixture().Dependencies[i%3]
		d.Name = fmt.Sprintf("dep-%03d", i)
		snap.Dependencies = append(snap.Dependencies, d)
		snap.Findings = append(snap.Findings, d.Findings...)
	}
	return snap
}

// clock is a pinned, advanceable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeSwitch records calls and answers with a fixed result; block makes it
// wait for the context (a hung endpoint).
type fakeSwitch struct {
	mu     sync.Mutex
	calls  []string
	answer string
	err    error
	block  bool
}

func (f *fakeSwitch) Set(ctx context.Context, name string, action admin.Action) (string, error) {
	f.mu.Lock()
	f.calls = append(f.calls, name+":"+string(action))
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return f.answer, f.err
}

// fakeScenarios is a ScenarioControl in memory; a burst runs until the
// next one is asked for, which it refuses.
type fakeScenarios struct {
	mu     sync.Mutex
	cur    map[string]string
	bursts int
}

func (f *fakeScenarios) Burst() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bursts++
	if f.bursts > 1 {
		return "", errors.New("a burst is already running")
	}
	return "burst: 100 concurrent orders for 10s", nil
}

func (f *fakeScenarios) Dependencies() []string { return []string{"pg", "mail", "stock"} }
func (f *fakeScenarios) ScenarioNames() []string {
	return []string{"steady", "slow", "outage", "flaky", "blackhole", "callback-loss"}
}
func (f *fakeScenarios) Scenario(dep string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.cur[dep]; ok {
		return s
	}
	return "steady"
}
func (f *fakeScenarios) SetScenario(dep, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur == nil {
		f.cur = map[string]string{}
	}
	if name == "bogus" {
		return fmt.Errorf("unknown scenario %q", name)
	}
	f.cur[dep] = name
	return nil
}

// Replicas of one service, for grouping by name.
const (
	rep1 = "http://10.0.0.1:8080/metrics"
	rep2 = "http://10.0.0.2:8080/metrics"
	rep3 = "http://10.0.0.3:8080/metrics"
)

// replicas is a snapshot of 3 replicas × 2 dependencies (pg, mail): pg's
// breaker is open on the first, the third replica is down (its rows stale
// with a target-down finding), mail's tail is near its timeout on the second.
func replicas() *model.Snapshot {
	down := func(dep string) model.Finding {
		return model.Finding{Kind: model.TargetDown, Severity: model.Critical, Target: rep3, Dependency: dep,
			Message: "10.0.0.3:8080: target down — connection refused", Since: t0.Add(-30 * time.Second)}
	}
	open := model.Finding{Kind: model.BreakerOpenKind, Severity: model.Critical, Target: rep1, Dependency: "pg",
		Message: "pg: breaker OPEN for 2m00s — calls short-circuited", Since: t0.Add(-2 * time.Minute)}
	tail := model.Finding{Kind: model.TailNearTimeout, Severity: model.Warning, Target: rep2, Dependency: "mail",
		Message: "mail: p99 1.7s is 85% of the 2s timeout", Since: t0.Add(-time.Minute)}
	dep := func(target, name string, state model.BreakerState, calls, errs, p99 float64, pool, pending float64, fs ...model.Finding) model.Dependency {
		d := model.Dependency{
			Target: target, Name: name, Profiles: []string{"resiltop"},
			Breaker:        model.Breaker{State: state, Since: t0.Add(-2 * time.Minute), Transitions: v(1)},
			CallsPerSecond: v(calls), ErrorRatio: v(errs), TimeoutsPerSecond: v(calls * errs / 2),
			RetriesPerSecond: v(calls * errs), RetryRatio: v(errs),
			Latency:        model.Quantiles{P50: v(p99 / 8), P90: v(p99 / 2), P99: v(p99), P999: v(p99 * 1.1)},
			TimeoutSeconds: v(2),
			Pool:           model.Pool{InUse: v(pool), Max: v(10), Pending: v(0)},
			Bulkhead:       model.Bulkhead{InFlight: v(pool), Max: v(20), RejectedPerSecond: v(0)},
			Pending:        model.Pending{Count: v(pending), OldestAgeSeconds: v(pending * 10), CreatedPerSecond: v(1), ResolvedPerSecond: v(1)},
			Findings:       fs, LastSeen: t0, BucketBounds: bounds,
			History: history(60, t0, calls/10, state, len(bounds)),
		}
		d.Breaker.FailureRate, d.Breaker.SlowCallRate, d.EjectedHosts = model.Unknown(), model.Unknown(), model.Unknown()
		if target == rep3 {
			d.Stale, d.LastSeen = true, t0.Add(-30*time.Second)
		}
		return d
	}
	return &model.Snapshot{
		Time: t0, Window: time.Minute,
		Targets: []model.TargetHealth{
			{URL: rep1, Up: true, LastScrape: t0, LastSuccess: t0, ScrapeDuration: 9 * time.Millisecond},
			{URL: rep2, Up: true, LastScrape: t0, LastSuccess: t0, ScrapeDuration: 11 * time.Millisecond},
			{URL: rep3, Up: false, Err: "connection refused", LastScrape: t0, LastSuccess: t0.Add(-30 * time.Second), ScrapeDuration: time.Millisecond},
		},
		// Worst first, as the Store orders them.
		Dependencies: []model.Dependency{
			dep(rep1, "pg", model.BreakerOpen, 20, 0.4, 1.8, 8, 30, open),
			dep(rep3, "pg", model.BreakerClosed, 25, 0.01, 0.35, 3, 4, down("pg")),
			dep(rep3, "mail", model.BreakerClosed, 4, 0, 0.3, 1, 0, down("mail")),
			dep(rep2, "mail", model.BreakerClosed, 6, 0.05, 1.7, 2, 1, tail),
			dep(rep2, "pg", model.BreakerClosed, 30, 0.02, 0.4, 3, 2),
			dep(rep1, "mail", model.BreakerClosed, 5, 0, 0.3, 1, 0),
		},
		Findings: []model.Finding{
			{Kind: model.TargetDown, Severity: model.Critical, Target: rep3, Message: "10.0.0.3:8080: target down — connection refused", Since: t0.Add(-30 * time.Second)},
			open, tail,
		},
	}
}
