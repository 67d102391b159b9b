package model

import (
	"slices"
	"testing"
	"time"
)

// fakeProfile is a profile whose observations a test decides.
type fakeProfile struct {
	name string
	obs  func() []Observation
}

func (f fakeProfile) Name() string             { return f.name }
func (f fakeProfile) Families() []string       { return nil }
func (f fakeProfile) Detect(*Page) bool        { return true }
func (f fakeProfile) Read(*Page) []Observation { return f.obs() }

func TestMergeFirstKnownWins(t *testing.T) {
	other := fakeProfile{name: "aaa-other", obs: func() []Observation {
		o := NewObservation("pg", "aaa-other")
		o.TimeoutSeconds = 9    // resiltop's own value wins
		o.BulkheadMax = 20      // unknown to resiltop: taken
		o.Breaker = BreakerOpen // resiltop knows the state: ignored
		o.Calls = map[Outcome]float64{OutcomeSuccess: 1, OutcomeShortCircuited: 7}
		x := NewObservation("mail", "aaa-other")
		return []Observation{o, x}
	}}
	s := newStore(StoreOptions{Profiles: builtinAnd(other)})
	p := parsePage(t, page(pg{dep: "pg", success: 5, timeoutSec: 0.8}))
	s.Ingest(Scrape{Target: "t", Time: at(0), Page: p})
	snap := s.Snapshot(at(0), time.Minute)
	d := dep(t, snap, "pg")
	if !near(d.TimeoutSeconds, 0.8) || !near(d.Bulkhead.Max, 20) || d.Breaker.State != BreakerClosed {
		t.Errorf("merged = timeout %v bulkhead max %v breaker %v", d.TimeoutSeconds, d.Bulkhead.Max, d.Breaker.State)
	}
	if want := []string{"resiltop", "aaa-other"}; !slices.Equal(d.Profiles, want) {
		t.Errorf("profiles = %v, want %v", d.Profiles, want)
	}
	if m := dep(t, snap, "mail"); !slices.Equal(m.Profiles, []string{"aaa-other"}) {
		t.Errorf("mail profiles = %v", m.Profiles)
	}
	if got := snap.Targets[0].Profiles; len(got) == 0 || got[0] != "resiltop" || !slices.Contains(got, "aaa-other") {
		t.Errorf("target profiles = %v", got)
	}
	// Calls come whole from resiltop: the other's short_circuited may be
	// the same calls counted again.
	ms := mergeObservations([][]Observation{nativeProfile().Read(p), other.obs()})
	if c := ms[0].obs.Calls; c[OutcomeSuccess] != 5 || func() bool { _, ok := c[OutcomeShortCircuited]; return ok }() {
		t.Errorf("calls = %v", c)
	}
}

func TestForcedProfiles(t *testing.T) {
	p := parsePage(t, page(pg{dep: "pg"}))
	tests := []struct {
		name string
		opts StoreOptions
		deps int
	}{
		{"detected", StoreOptions{}, 1},
		{"forced to another profile for every target", StoreOptions{Force: []string{"no-such"}}, 0},
		{"forced per target overrides", StoreOptions{Force: []string{"no-such"}, ForceByTarget: map[string][]string{"t": {"resiltop"}}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(tt.opts)
			s.Ingest(Scrape{Target: "t", Time: at(0), Page: p})
			if n := len(s.Snapshot(at(0), time.Minute).Dependencies); n != tt.deps {
				t.Errorf("%d dependencies, want %d", n, tt.deps)
			}
		})
	}
	if err := (StoreOptions{Force: []string{"no-such"}}).Validate(); err == nil {
		t.Error("Validate accepted an unknown profile")
	}
	if err := (StoreOptions{Force: []string{"resiltop"}, Profiles: BuiltinProfiles}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
