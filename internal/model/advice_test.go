package model

import (
	"strings"
	"testing"
	"time"
)

// TestEveryKindHasAdvice keeps advice.go complete for the kinds listed in
// FindingKinds: one of them without a next step fails here. (A kind left
// out of FindingKinds is not checked; it would also rank last.)
func TestEveryKindHasAdvice(t *testing.T) {
	for _, k := range FindingKinds {
		a := Advice(k)
		if a == "" {
			t.Errorf("finding kind %s has no advice in advice.go", k)
			continue
		}
		if !strings.HasSuffix(a, ".") || len(a) > 240 {
			t.Errorf("advice for %s should be one or two sentences under 240 bytes, ending in a period: %q", k, a)
		}
	}
	if Advice("no_such_kind") != "" {
		t.Error("an unknown kind has advice")
	}
}

// TestFindingsCarryAdvice: a finding carries its kind's advice, and a pool
// exhausted by slow calls says a connection is held across a slow call.
func TestFindingsCarryAdvice(t *testing.T) {
	tests := []struct {
		name string
		gen  func(i int) pg
		want string
	}{{
		name: "pool exhausted, calls fast",
		gen:  func(i int) pg { return pg{dep: "pg", active: 10, max: 10, wait: 3} },
		want: Advice(PoolExhausted),
	}, {
		name: "pool exhausted, calls near the timeout",
		gen: func(i int) pg {
			n := float64(100 * i)
			return pg{dep: "pg", active: 10, max: 10, wait: 3, success: n, timeoutSec: 1, buckets: []float64{0, 0, n, n}}
		},
		want: poolHeldAcrossSlowCall,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ingest(t, StoreOptions{}, "http://a/metrics", series(8, tt.gen))
			snap := s.Snapshot(at(8), time.Minute)
			var got []string
			for _, f := range snap.Findings {
				if f.Advice != Advice(f.Kind) && !(f.Kind == PoolExhausted && f.Advice == poolHeldAcrossSlowCall) {
					t.Errorf("%s carries advice %q", f.Kind, f.Advice)
				}
				if f.Kind == PoolExhausted {
					got = append(got, f.Advice)
				}
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("pool_exhausted advice = %q, want %q", got, tt.want)
			}
		})
	}
}
