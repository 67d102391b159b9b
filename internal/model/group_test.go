package model

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	gA = "http://a:8080/metrics"
	gB = "http://b:8080/metrics"
	gC = "http://c:8080/metrics"
)

// member is a dependency of target with every value known, changed by mods.
func member(target, name string, mods ...func(*Dependency)) Dependency {
	d := Dependency{
		Target: target, Name: name, Profiles: []string{"resiltop"},
		Breaker:        Breaker{State: BreakerClosed, Since: t0, Transitions: 1},
		CallsPerSecond: 10, ErrorRatio: 0.1, TimeoutsPerSecond: 1, RetriesPerSecond: 2, RetryRatio: 0.2,
		UnsafeRetriesPerSecond: 0.5,
		Latency:                Quantiles{P50: 0.01, P90: 0.02, P99: 0.05, P999: 0.1},
		LatencyMean:            Unknown(),
		TimeoutSeconds:         1,
		Pool:                   Pool{InUse: 2, Max: 10, Pending: 0},
		Bulkhead:               Bulkhead{InFlight: 3, Max: 20, RejectedPerSecond: 0.5},
		Pending:                Pending{Count: 4, OldestAgeSeconds: 30, CreatedPerSecond: 1, ResolvedPerSecond: 0.9},
		EjectedHosts:           Unknown(),
		LastSeen:               t0,
		History:                []Point{{Time: t0, CallsPerSecond: 10}},
	}
	for _, m := range mods {
		m(&d)
	}
	return d
}

func unknownEverywhere(d *Dependency) {
	u := Unknown()
	d.Breaker = Breaker{State: BreakerUnknown, Transitions: u}
	d.CallsPerSecond, d.ErrorRatio, d.TimeoutsPerSecond, d.RetriesPerSecond, d.RetryRatio = u, u, u, u, u
	d.UnsafeRetriesPerSecond = u
	d.Latency = Quantiles{P50: u, P90: u, P99: u, P999: u}
	d.LatencyMean, d.TimeoutSeconds = u, u
	d.Pool = Pool{InUse: u, Max: u, Pending: u}
	d.Bulkhead = Bulkhead{InFlight: u, Max: u, RejectedPerSecond: u}
	d.Pending = Pending{Count: u, OldestAgeSeconds: u, CreatedPerSecond: u, ResolvedPerSecond: u}
}

func critical(kind FindingKind, target, dep string) Finding {
	return Finding{Kind: kind, Severity: Critical, Target: target, Dependency: dep, Message: dep + ": " + string(kind)}
}

func warning(kind FindingKind, target, dep string) Finding {
	return Finding{Kind: kind, Severity: Warning, Target: target, Dependency: dep, Message: dep + ": " + string(kind)}
}

// groupValues names every aggregated number of d, for comparison.
func groupValues(d *Dependency) map[string]Value {
	return map[string]Value{
		"calls": d.CallsPerSecond, "err": d.ErrorRatio, "timeouts": d.TimeoutsPerSecond,
		"retries": d.RetriesPerSecond, "retryRatio": d.RetryRatio, "unsafe": d.UnsafeRetriesPerSecond,
		"p50": d.Latency.P50, "p90": d.Latency.P90, "p99": d.Latency.P99, "p999": d.Latency.P999,
		"mean": d.LatencyMean, "timeout": d.TimeoutSeconds,
		"poolInUse": d.Pool.InUse, "poolMax": d.Pool.Max, "poolPending": d.Pool.Pending,
		"bulkInFlight": d.Bulkhead.InFlight, "bulkMax": d.Bulkhead.Max, "rejected": d.Bulkhead.RejectedPerSecond,
		"pending": d.Pending.Count, "oldest": d.Pending.OldestAgeSeconds,
		"created": d.Pending.CreatedPerSecond, "resolved": d.Pending.ResolvedPerSecond,
		"transitions": d.Breaker.Transitions, "ejected": d.EjectedHosts,
	}
}

func sameValue(a, b Value) bool {
	if !a.Known() || !b.Known() {
		return a.Known() == b.Known()
	}
	return math.Abs(float64(a-b)) <= 1e-9*math.Max(1, math.Abs(float64(b)))
}

func TestGroupByName(t *testing.T) {
	u := Unknown()
	tests := []struct {
		name string
		in   []Dependency
		// want is per name, in result order: the values checked (the rest
		// are not looked at), members, breaker, stale and finding kinds.
		want []groupWant
	}{{
		name: "a name on one target is that dependency unchanged, with its target as the only member",
		in:   []Dependency{member(gA, "pg", func(d *Dependency) { d.RetryRatio = 0.7 })},
		want: []groupWant{{
			name: "pg", target: gA, members: []string{gA}, breaker: BreakerClosed, since: t0,
			values: map[string]Value{"calls": 10, "err": 0.1, "retryRatio": 0.7, "pending": 4},
		}},
	}, {
		name: "three replicas: sums, calls-weighted ratios, worst quantiles and ages",
		in: []Dependency{
			member(gA, "pg"),
			member(gB, "pg", func(d *Dependency) {
				d.CallsPerSecond, d.ErrorRatio, d.RetriesPerSecond, d.RetryRatio = 30, 0.5, 3, 0.1
				d.Latency.P99, d.Latency.P50 = 2, 0.005
				d.TimeoutSeconds = 2.5
				d.LatencyMean = 0.3
				d.Pending.OldestAgeSeconds = 400
			}),
			member(gC, "pg", func(d *Dependency) {
				d.CallsPerSecond, d.ErrorRatio, d.RetryRatio = 0, u, u
				d.Pool, d.Latency.P999 = Pool{InUse: 1, Max: 5, Pending: 3}, 7
				d.EjectedHosts = 2
				d.LatencyMean = 0.2
			}),
		},
		want: []groupWant{{
			name: "pg", members: []string{gB, gA, gC}, breaker: BreakerClosed, since: t0,
			values: map[string]Value{
				"calls":      40,
				"err":        (0.1*10 + 0.5*30) / 40, // 0.4, not the plain mean 0.3
				"timeouts":   3,
				"retries":    7,
				"unsafe":     1.5,
				"retryRatio": (2.0 + 3) / 40, // Σretries/Σcalls
				"p50":        0.01, "p90": 0.02, "p99": 2, "p999": 7,
				"mean":      0.3, // the worst replica's, as for quantiles
				"timeout":   2.5,
				"poolInUse": 5, "poolMax": 25, "poolPending": 3,
				"bulkInFlight": 9, "bulkMax": 60, "rejected": 1.5,
				"pending": 12, "oldest": 400, "created": 3, "resolved": 2.7,
				"transitions": 3, "ejected": 2,
			},
		}},
	}, {
		name: "unknown only where unknown everywhere",
		in: []Dependency{
			member(gA, "cache", unknownEverywhere),
			member(gB, "cache", unknownEverywhere, func(d *Dependency) { d.Pool.InUse, d.Latency.P99 = 4, 0.3 }),
		},
		want: []groupWant{{
			name: "cache", members: []string{gA, gB}, breaker: BreakerUnknown,
			values: map[string]Value{
				"calls": u, "err": u, "retryRatio": u, "unsafe": u, "p50": u, "p99": 0.3, "timeout": u,
				"poolInUse": 4, "poolMax": u, "pending": u, "oldest": u, "transitions": u, "ejected": u,
			},
		}},
	}, {
		name: "no calls anywhere: ratios are unknown, not 0",
		in: []Dependency{
			member(gA, "mail", func(d *Dependency) { d.CallsPerSecond = 0 }),
			member(gB, "mail", func(d *Dependency) { d.CallsPerSecond = 0 }),
		},
		want: []groupWant{{
			name: "mail", members: []string{gA, gB}, breaker: BreakerClosed, since: t0,
			values: map[string]Value{"calls": 0, "err": u, "retryRatio": u},
		}},
	}, {
		name: "breaker: open beats half-open and closed, with the open member's since",
		in: []Dependency{
			member(gA, "pg", func(d *Dependency) { d.Breaker.State = BreakerHalfOpen }),
			member(gB, "pg", func(d *Dependency) {
				d.Breaker = Breaker{State: BreakerOpen, Since: t0.Add(-time.Minute), Transitions: 5}
			}),
			member(gC, "pg"),
		},
		want: []groupWant{{
			name: "pg", members: []string{gA, gB, gC}, breaker: BreakerOpen, since: t0.Add(-time.Minute),
			values: map[string]Value{"transitions": 7},
		}},
	}, {
		name: "breaker: forced open and open tie, the worse member wins",
		in: []Dependency{
			member(gA, "pg", func(d *Dependency) { d.Breaker = Breaker{State: BreakerForcedOpen, Since: t0.Add(-time.Second)} }),
			member(gB, "pg", func(d *Dependency) {
				d.Breaker = Breaker{State: BreakerOpen, Since: t0.Add(-time.Hour)}
				d.Findings = []Finding{critical(BreakerOpenKind, gB, "pg")}
			}),
		},
		want: []groupWant{{
			name: "pg", members: []string{gB, gA}, breaker: BreakerOpen, since: t0.Add(-time.Hour),
			findings: []string{"critical breaker_open " + gB},
		}},
	}, {
		name: "breaker: closed beats disabled, disabled beats unknown",
		in: []Dependency{
			member(gA, "a", func(d *Dependency) { d.Breaker.State = BreakerDisabled }),
			member(gB, "a"),
			member(gA, "b", func(d *Dependency) { d.Breaker.State = BreakerUnknown }),
			member(gB, "b", func(d *Dependency) { d.Breaker.State = BreakerDisabled }),
		},
		want: []groupWant{
			{name: "a", members: []string{gA, gB}, breaker: BreakerClosed, since: t0},
			{name: "b", members: []string{gA, gB}, breaker: BreakerDisabled, since: t0},
		},
	}, {
		name: "findings of every member worst first; stale only when every member is",
		in: []Dependency{
			member(gA, "pg", func(d *Dependency) {
				d.Findings = []Finding{warning(PoolExhausted, gA, "pg")}
			}),
			member(gB, "pg", func(d *Dependency) {
				d.Stale, d.LastSeen = true, t0.Add(-time.Minute)
				d.Findings = []Finding{critical(TargetDown, gB, "pg"), warning(BacklogGrowing, gB, "pg")}
			}),
			member(gA, "mail", func(d *Dependency) { d.Stale = true }),
			member(gB, "mail", func(d *Dependency) { d.Stale = true }),
		},
		want: []groupWant{{
			name: "pg", members: []string{gB, gA}, breaker: BreakerClosed, since: t0,
			findings: []string{"critical target_down " + gB, "warning pool_exhausted " + gA, "warning backlog_growing " + gB},
		}, {
			name: "mail", members: []string{gA, gB}, breaker: BreakerClosed, since: t0, stale: true,
		}},
	}, {
		name: "groups are ordered worst first, as the Store orders dependencies",
		in: []Dependency{
			member(gA, "cache"),
			member(gB, "cache"),
			member(gA, "stock", func(d *Dependency) { d.ErrorRatio = 0.9 }),
			member(gA, "pg", func(d *Dependency) { d.Findings = []Finding{critical(RetryStorm, gA, "pg")} }),
			member(gB, "pg"),
		},
		want: []groupWant{
			{name: "pg", members: []string{gA, gB}, breaker: BreakerClosed, since: t0, findings: []string{"critical retry_storm " + gA}},
			{name: "stock", target: gA, members: []string{gA}, breaker: BreakerClosed, since: t0},
			{name: "cache", members: []string{gA, gB}, breaker: BreakerClosed, since: t0},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := GroupByName(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("%d groups, want %d: %v", len(got), len(tc.want), names(got))
			}
			for i, w := range tc.want {
				w.check(t, &got[i])
			}
		})
	}
}

// groupWant is what one grouped dependency must be.
type groupWant struct {
	name, target string
	members      []string
	breaker      BreakerState
	since        time.Time
	stale        bool
	findings     []string // "severity kind target"
	values       map[string]Value
}

func (w groupWant) check(t *testing.T, g *Dependency) {
	t.Helper()
	if g.Name != w.name || g.Target != w.target || !slices.Equal(g.Members, w.members) {
		t.Errorf("got %s@%q members %v, want %s@%q members %v", g.Name, g.Target, g.Members, w.name, w.target, w.members)
	}
	if g.Breaker.State != w.breaker || !g.Breaker.Since.Equal(w.since) {
		t.Errorf("%s: breaker %s since %v, want %s since %v", w.name, g.Breaker.State, g.Breaker.Since, w.breaker, w.since)
	}
	if g.Stale != w.stale {
		t.Errorf("%s: stale %v, want %v", w.name, g.Stale, w.stale)
	}
	var fs []string
	for _, f := range g.Findings {
		fs = append(fs, fmt.Sprintf("%s %s %s", f.Severity, f.Kind, f.Target))
	}
	if !slices.Equal(fs, w.findings) {
		t.Errorf("%s: findings\n %s\nwant\n %s", w.name, strings.Join(fs, "\n "), strings.Join(w.findings, "\n "))
	}
	got := groupValues(g)
	for k, want := range w.values {
		if !sameValue(got[k], want) {
			t.Errorf("%s: %s = %v, want %v", w.name, k, float64(got[k]), float64(want))
		}
	}
}

func names(ds []Dependency) []string {
	out := make([]string, len(ds))
	for i := range ds {
		out[i] = ds[i].Name + "@" + ds[i].Target
	}
	return out
}

// TestGroupByNameKeepsWorstMembersHistoryAndInput checks that the grouped
// history is the worst member's, that profiles are the union, and that the
// input is left untouched (it is a shown snapshot's).
func TestGroupByNameKeepsWorstMembersHistoryAndInput(t *testing.T) {
	worstHist := []Point{{Time: t0, CallsPerSecond: 99}}
	in := []Dependency{
		member(gA, "pg", func(d *Dependency) { d.Profiles = []string{"resilience4j", "hikari"} }),
		member(gB, "pg", func(d *Dependency) {
			d.ErrorRatio, d.History, d.BucketBounds = 0.9, worstHist, []float64{0.1, math.Inf(1)}
			d.Profiles = []string{"resiltop", "hikari"}
			d.Findings = []Finding{warning(RetryStorm, gB, "pg"), critical(BreakerOpenKind, gB, "pg")}
		}),
	}
	before := fmt.Sprintf("%+v", in)
	got := GroupByName(in)
	if len(got) != 1 {
		t.Fatalf("%d groups", len(got))
	}
	g := got[0]
	if len(g.History) != 1 || g.History[0].CallsPerSecond != 99 || len(g.BucketBounds) != 2 {
		t.Errorf("history %v bounds %v, want the worst member's (b)", g.History, g.BucketBounds)
	}
	if want := []string{"resiltop", "hikari", "resilience4j"}; !slices.Equal(g.Profiles, want) {
		t.Errorf("profiles %v, want %v", g.Profiles, want)
	}
	if after := fmt.Sprintf("%+v", in); after != before {
		t.Errorf("input changed:\n%s\n%s", before, after)
	}
	if in[1].Findings[0].Kind != RetryStorm {
		t.Error("sorting the group's findings reordered a member's")
	}
}

// BenchmarkGroupByName groups 500 dependencies of 50 names on 10 targets,
// what a refresh costs the UI when grouping is on.
func BenchmarkGroupByName(b *testing.B) {
	deps := make([]Dependency, 0, 500)
	for i := range 500 {
		deps = append(deps, member(fmt.Sprintf("http://t%d:8080/metrics", i%10), fmt.Sprintf("dep-%02d", i/10),
			func(d *Dependency) { d.Findings = []Finding{warning(RetryStorm, d.Target, d.Name)} }))
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = GroupByName(deps)
	}
}
