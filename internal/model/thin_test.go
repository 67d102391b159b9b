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

// TestTrimmedHistoryMovesToFront: with a full History, one sample in and one
// out per scrape, the history moves back to the front of its array instead
// of growing new ones, and stays the newest samples in order with the
// window's rates right.
func TestTrimmedHistoryMovesToFront(t *testing.T) {
	s := newStore(StoreOptions{History: 20 * time.Second})
	d := pg{dep: "db"}
	var array *sample // the history's array after 100 scrapes
	for i := range 200 {
		d.success = float64(7 * i)
		s.Ingest(Scrape{Target: "t", Time: at(float64(i)), Page: parsePage(t, page(d))})
		if i == 99 {
			array = &s.targets["t"].deps["db"].base[:1][0]
		}
	}
	s.mu.RLock()
	ds := s.targets["t"].deps["db"]
	got, held, same := make([]time.Time, 0, len(ds.samples)), s.samples, &ds.base[:1][0] == array
	for _, smp := range ds.samples {
		got = append(got, smp.t)
	}
	stale := 0
	for _, smp := range ds.base[:cap(ds.base)] {
		if !smp.t.IsZero() {
			stale++
		}
	}
	s.mu.RUnlock()
	if len(got) != 21 || held != 21 {
		t.Fatalf("%d samples held (store counts %d), want the 21 of the last 20 s", len(got), held)
	}
	for i, ti := range got {
		if want := at(float64(179 + i)); !ti.Equal(want) {
			t.Fatalf("sample %d at %v, want %v", i, ti, want)
		}
	}
	if !same {
		t.Error("the history got a new array in the last 100 scrapes: trimmed slots were not reused")
	}
	if stale != len(got) {
		t.Errorf("%d samples in the array, want only the %d held (dropped ones cleared)", stale, len(got))
	}
	if dep := s.Snapshot(at(199), time.Minute).Dependencies[0]; !near(dep.CallsPerSecond, 7) {
		t.Errorf("calls/s = %v, want 7", dep.CallsPerSecond)
	}
}
