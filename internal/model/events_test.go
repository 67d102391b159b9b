package model

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestEvents(t *testing.T) {
	tests := []struct {
		name  string
		pages map[float64]string // "" is a failed scrape
		want  []string
	}{{
		name: "state change seen in the gauge",
		pages: map[float64]string{
			0: page(pg{dep: "pg"}),
			1: page(pg{dep: "pg", state: "open", transitions: 1}),
		},
		want: []string{"pg: breaker closed → open"},
	}, {
		name: "transitions between scrapes the gauge missed",
		pages: map[float64]string{
			0: page(pg{dep: "pg"}),
			1: page(pg{dep: "pg", transitions: 2}),
			2: page(pg{dep: "pg", state: "open", transitions: 5}),
		},
		want: []string{
			"pg: 2 transitions between scrapes (breaker closed)",
			"pg: breaker closed → open",
			"pg: 2 more transitions between scrapes",
		},
	}, {
		name: "target errors and recovery",
		pages: map[float64]string{
			0: page(pg{dep: "pg"}),
			1: "",
			2: "",
			4: page(pg{dep: "pg"}),
		},
		want: []string{"scrape failed: connection refused", "scrape recovered after 3s down"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ingest(t, StoreOptions{}, "t", tt.pages)
			var got []string
			for _, e := range s.Snapshot(at(10), time.Minute).Events {
				msg := e.Message
				if e.Dependency != "" {
					msg = e.Dependency + ": " + msg
				}
				got = append(got, msg)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestEventsBounded(t *testing.T) {
	s := newStore(StoreOptions{MaxEvents: 3})
	for i := range 10 {
		s.Ingest(Scrape{Target: "t", Time: at(float64(i)), Err: fmt.Errorf("error %d", i)})
	}
	ev := s.Snapshot(at(20), time.Minute).Events
	if len(ev) != 3 || ev[0].Message != "scrape failed: error 7" || ev[2].Message != "scrape failed: error 9" {
		t.Errorf("events = %+v", ev)
	}
}

func TestStaleness(t *testing.T) {
	down := errors.New("HTTP 500 Internal Server Error")
	t.Run("failed target keeps its last values, stale, with target_down", func(t *testing.T) {
		s := ingest(t, StoreOptions{}, "t", map[float64]string{
			0: page(pg{dep: "pg", success: 0}),
			1: page(pg{dep: "pg", success: 10}),
		})
		s.Ingest(Scrape{Target: "t", Time: at(2), Err: down})
		s.Ingest(Scrape{Target: "t", Time: at(3), Err: down})
		snap := s.Snapshot(at(30), time.Minute)
		d := dep(t, snap, "pg")
		if !d.Stale || !near(d.CallsPerSecond, 10) || !d.LastSeen.Equal(at(1)) {
			t.Errorf("stale %v calls %v last seen %v", d.Stale, d.CallsPerSecond, d.LastSeen)
		}
		if len(d.Findings) == 0 || d.Findings[0].Kind != TargetDown || d.Findings[0].Severity != Critical {
			t.Fatalf("dependency findings = %+v", d.Findings)
		}
		th := snap.Targets[0]
		if th.Up || th.Err != down.Error() || !th.LastSuccess.Equal(at(1)) {
			t.Errorf("health = %+v", th)
		}
		if len(snap.Findings) != 1 || snap.Findings[0].Kind != TargetDown || !snap.Findings[0].Since.Equal(at(2)) ||
			!strings.Contains(snap.Findings[0].Message, "last success 29s ago") {
			t.Errorf("snapshot findings = %+v", snap.Findings)
		}
	})
	t.Run("target that never answered", func(t *testing.T) {
		s := newStore(StoreOptions{})
		s.Ingest(Scrape{Target: "t", Time: at(0), Err: down})
		snap := s.Snapshot(at(1), time.Minute)
		if len(snap.Targets) != 1 || snap.Targets[0].Up || len(snap.Dependencies) != 0 {
			t.Fatalf("snapshot = %+v", snap)
		}
		if len(snap.Findings) != 1 || !strings.Contains(snap.Findings[0].Message, "never succeeded") {
			t.Errorf("findings = %+v", snap.Findings)
		}
	})
	t.Run("vanished dependency is stale, then dropped after History", func(t *testing.T) {
		s := newStore(StoreOptions{History: 10 * time.Second})
		feed(t, s, "t", map[float64]string{0: page(pg{dep: "pg"}, pg{dep: "mail"}), 1: page(pg{dep: "pg"})})
		snap := s.Snapshot(at(1), time.Minute)
		if dep(t, snap, "pg").Stale || !dep(t, snap, "mail").Stale {
			t.Errorf("pg stale %v, mail stale %v", dep(t, snap, "pg").Stale, dep(t, snap, "mail").Stale)
		}
		feed(t, s, "t", map[float64]string{11: page(pg{dep: "pg"})})
		if n := len(s.Snapshot(at(11), time.Minute).Dependencies); n != 1 {
			t.Errorf("%d dependencies after History, want 1", n)
		}
	})
	t.Run("out-of-order scrape is ignored", func(t *testing.T) {
		s := ingest(t, StoreOptions{}, "t", map[float64]string{5: page(pg{dep: "pg", success: 50}), 6: page(pg{dep: "pg", success: 60})})
		s.Ingest(Scrape{Target: "t", Time: at(1), Page: parsePage(t, page(pg{dep: "pg", success: 0}))})
		if d := dep(t, s.Snapshot(at(6), time.Minute), "pg"); !near(d.CallsPerSecond, 10) {
			t.Errorf("calls/s = %v", d.CallsPerSecond)
		}
	})
}

func TestHistoryBounded(t *testing.T) {
	s := newStore(StoreOptions{History: time.Hour, MaxSamples: 100})
	for i := range 500 {
		s.Ingest(Scrape{Target: "t", Time: at(float64(i)), Page: parsePage(t, page(pg{dep: "pg", success: float64(10 * i)}))})
	}
	s.mu.RLock()
	n, held := len(s.targets["t"].deps["pg"].samples), s.samples
	s.mu.RUnlock()
	if n > 100 || held != n {
		t.Errorf("%d samples kept (store counts %d), want ≤ 100", n, held)
	}
	// Thinning keeps increases: the rate over the whole history stays exact.
	if d := dep(t, s.Snapshot(at(499), time.Hour), "pg"); !near(d.CallsPerSecond, 10) {
		t.Errorf("calls/s after thinning = %v", d.CallsPerSecond)
	}
}

func TestDependenciesBounded(t *testing.T) {
	var deps []pg
	for i := range 50 {
		deps = append(deps, pg{dep: fmt.Sprintf("d%02d", i)})
	}
	s := ingest(t, StoreOptions{MaxDependencies: 10}, "t", map[float64]string{0: page(deps...), 1: page(deps...)})
	snap := s.Snapshot(at(1), time.Minute)
	if len(snap.Dependencies) != 10 {
		t.Errorf("%d dependencies, want 10", len(snap.Dependencies))
	}
	if len(snap.Events) != 1 || snap.Events[0].Message != "40 dependencies over the limit of 10 ignored" {
		t.Errorf("events = %+v", snap.Events)
	}
}
