package model

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// TestThinningKeepsIncreasesAcrossResets compares a store that thins its
// history with one that does not, over counters and buckets that reset.
func TestThinningKeepsIncreasesAcrossResets(t *testing.T) {
	// 0, 1000, then a reset to 10 and +1 a scrape: 25 a second on average
	// over 199 s would drop to about 1/s if the reset's increase were lost.
	resetAt := func(i int) float64 {
		switch {
		case i == 0:
			return 0
		case i == 1:
			return 1000
		}
		return float64(10 + 5*(i-2))
	}
	tests := []struct {
		name string
		gen  func(i int) pg
		get  func(d Dependency) Value
	}{
		{"calls", func(i int) pg { return pg{dep: "pg", success: resetAt(i)} }, func(d Dependency) Value { return d.CallsPerSecond }},
		{"retries", func(i int) pg { return pg{dep: "pg", success: float64(i), retries: resetAt(i)} }, func(d Dependency) Value { return d.RetriesPerSecond }},
		{"p50 from buckets", func(i int) pg {
			// The reset's 1000 slow observations (≤ 1 s) outweigh the fast
			// ones after it (≤ 0.1 s): p50 is in the slow bucket only if
			// they survive thinning.
			slow, fast := 0.0, float64(2*i)
			if i == 1 {
				slow = 1000
			}
			return pg{dep: "pg", success: float64(i), buckets: []float64{fast, fast, fast + slow, fast + slow}}
		}, func(d Dependency) Value { return d.Latency.P50 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := series(200, tt.gen)
			full := ingest(t, StoreOptions{}, "t", pages)
			thinned := ingest(t, StoreOptions{MaxSamples: 40}, "t", pages)
			now, window := at(199), time.Hour
			want := tt.get(dep(t, full.Snapshot(now, window), "pg"))
			got := tt.get(dep(t, thinned.Snapshot(now, window), "pg"))
			if n := len(thinned.targets["t"].deps["pg"].samples); n > 40 {
				t.Fatalf("%d samples kept: nothing was thinned", n)
			}
			if !want.Known() || math.Abs(float64(got-want)) > 1e-9*math.Max(1, math.Abs(float64(want))) {
				t.Errorf("thinned %v, full history %v", got, want)
			}
		})
	}
}

// TestMaxSamplesIsTheBound checks that MaxSamples bounds the samples over
// every dependency of every target, and what a dependency keeps beyond it.
func TestMaxSamplesIsTheBound(t *testing.T) {
	tests := []struct {
		name             string
		targets, deps    int
		maxSamples, most int // most: the samples the store may hold
	}{
		{"many dependencies share the budget", 2, 50, 500, 500},
		{"more dependencies than the budget gives 4 each", 2, 100, 200, 4 * 200},
		{"one dependency keeps up to the budget", 1, 1, 40, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var deps []pg
			for i := range tt.deps {
				deps = append(deps, pg{dep: fmt.Sprintf("d%03d", i)})
			}
			s := newStore(StoreOptions{History: time.Hour, MaxSamples: tt.maxSamples})
			for i := range 60 {
				for tg := range tt.targets {
					for k := range deps {
						deps[k].success = float64(10 * i)
					}
					s.Ingest(Scrape{Target: fmt.Sprint("t", tg), Time: at(float64(i)), Page: parsePage(t, page(deps...))})
				}
			}
			s.mu.RLock()
			held, counted := 0, s.samples
			for _, ts := range s.targets {
				for _, d := range ts.deps {
					held += len(d.samples)
				}
			}
			s.mu.RUnlock()
			if held > tt.most || held != counted {
				t.Errorf("%d samples held (store counts %d), want at most %d", held, counted, tt.most)
			}
			if d := s.Snapshot(at(59), time.Minute).Dependencies[0]; !near(d.CallsPerSecond, 10) {
				t.Errorf("calls/s after thinning = %v, want 10", d.CallsPerSecond)
			}
		})
	}
}
