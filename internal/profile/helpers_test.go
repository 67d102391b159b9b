package profile

import (
	"math"
	"testing"
	"time"

	"resiltop/internal/model"
)

// t0 is the clock of every test scrape.
var t0 = time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC)

// at is t0 plus seconds.
func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// dep finds a dependency in a snapshot.
func dep(t testing.TB, s *model.Snapshot, name string) model.Dependency {
	t.Helper()
	for _, d := range s.Dependencies {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("dependency %q not in snapshot (%d deps)", name, len(s.Dependencies))
	return model.Dependency{}
}

// near compares values, treating unknown as equal to unknown.
func near(got model.Value, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(float64(got))
	}
	return math.Abs(float64(got)-want) < 1e-9*math.Max(1, math.Abs(want))
}
