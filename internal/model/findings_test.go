package model

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// series makes n scrapes one second apart, from gen(i).
func series(n int, gen func(i int) pg) map[float64]string {
	out := map[float64]string{}
	for i := range n {
		out[float64(i)] = page(gen(i))
	}
	return out
}

func TestFindings(t *testing.T) {
	tests := []struct {
		name     string
		pages    map[float64]string
		want     FindingKind // "" means no finding at all
		severity Severity
		message  string // a part of the message
		since    float64
		noSince  bool // history cannot tell since when
	}{{
		name:  "healthy: no findings",
		pages: series(10, func(i int) pg { return pg{dep: "pg", success: float64(100 * i), timeoutSec: 1, max: 10, active: 2} }),
	}, {
		name:     "breaker open is critical",
		pages:    series(3, func(i int) pg { return pg{dep: "pg", state: []string{"closed", "open", "open"}[i]} }),
		want:     BreakerOpenKind,
		severity: Critical, message: "breaker open", since: 1,
	}, {
		name:     "half-open is a warning",
		pages:    series(3, func(i int) pg { return pg{dep: "pg", state: []string{"closed", "open", "half_open"}[i]} }),
		want:     BreakerOpenKind,
		severity: Warning, message: "breaker half_open", since: 2,
	}, {
		name:     "forced open is critical",
		pages:    series(2, func(i int) pg { return pg{dep: "pg", state: "forced_open"} }),
		want:     BreakerOpenKind,
		severity: Critical, message: "forced_open", noSince: true,
	}, {
		name:     "flapping: four transitions counted, none seen in the gauge",
		pages:    series(5, func(i int) pg { return pg{dep: "pg", transitions: float64(i)} }),
		want:     BreakerFlapping,
		severity: Warning, message: "4 transitions", since: 1,
	}, {
		name: "retry ratio over the warning",
		pages: series(11, func(i int) pg {
			return pg{dep: "pg", success: float64(10 * i), retries: float64(6 * i)}
		}),
		want: RetryStorm, severity: Warning, message: "retrying heavily — 6 retries/s for 10 first attempts/s (ratio 0.6)", since: 1,
	}, {
		name: "more retries than first attempts is critical",
		pages: series(11, func(i int) pg {
			return pg{dep: "pg", success: float64(10 * i), retries: float64(15 * i)}
		}),
		want: RetryStorm, severity: Critical, message: "retry storm — 15 retries/s for 10 first attempts/s (ratio 1.5)", since: 1,
	}, {
		name: "retries while no call completes is critical",
		pages: series(11, func(i int) pg {
			return pg{dep: "pg", success: 100, retries: float64(50 * i)}
		}),
		want: RetryStorm, severity: Critical, message: "50 retries/s and no call completed", since: 1,
	}, {
		name: "retries stopping calls from completing: dated from the last completed call",
		pages: series(11, func(i int) pg {
			return pg{dep: "pg", success: float64(10 * min(i, 5)), retries: float64(min(i, 5) + 50*max(0, i-5))}
		}),
		want: RetryStorm, severity: Critical, message: "ratio 5.1", since: 6,
	}, {
		name: "retries that all carry a key: nothing",
		pages: series(11, func(i int) pg {
			return pg{dep: "pg", success: float64(10 * i), retries: float64(2 * i), idem: true}
		}),
	}, {
		name: "one retry without a key is critical",
		pages: series(11, func(i int) pg {
			return pg{dep: "pg", success: float64(10 * i), retries: float64(2 * i), idem: true, unsafe: float64(max(0, i-5))}
		}),
		want: UnsafeRetries, severity: Critical,
		message: "retrying without an idempotency key: duplicates possible — 5 unsafe retries in 10s (0.5/s, 25% of retries)", since: 6,
	}, {
		name: "unsafe retries that stopped before the window: nothing",
		pages: series(100, func(i int) pg {
			return pg{dep: "pg", success: float64(10 * i), retries: float64(2 * i), idem: true, unsafe: float64(min(i, 10))}
		}),
	}, {
		name: "unsafe retries since before the window, with a pause shorter than it",
		pages: series(100, func(i int) pg {
			u := float64(min(i, 30))
			if i > 60 {
				u += float64(i - 60)
			}
			return pg{dep: "pg", success: float64(10 * i), retries: float64(2 * i), idem: true, unsafe: u}
		}),
		want: UnsafeRetries, severity: Critical, message: "39 unsafe retries in 1m0s", since: 1,
	}, {
		name: "pool exhausted for five seconds",
		pages: series(8, func(i int) pg {
			w := 0.0
			if i >= 2 {
				w = 3
			}
			return pg{dep: "pg", active: 10, max: 10, wait: w}
		}),
		want: PoolExhausted, severity: Critical, message: "10 of 10 connections in use, 3 waiting", since: 0,
	}, {
		name:  "pool busy for less than five seconds: nothing",
		pages: series(8, func(i int) pg { return pg{dep: "pg", active: float64(min(i, 10)), max: 10} }),
	}, {
		name: "bulkhead rejections",
		pages: series(3, func(i int) pg {
			return pg{dep: "pg", success: float64(10 * i), rejected: float64(2 * i)}
		}),
		want: BulkheadSaturated, severity: Warning, message: "2 rejected/s", since: 1,
	}, {
		name: "bulkhead rejections for longer than the window: dated from its first step",
		pages: series(70, func(i int) pg {
			return pg{dep: "pg", success: float64(10 * i), rejected: float64(2 * i)}
		}),
		want: BulkheadSaturated, severity: Warning, message: "2 rejected/s", since: 10,
	}, {
		name: "one rejection long ago: nothing once scrapes pass without any",
		pages: series(11, func(i int) pg {
			return pg{dep: "pg", success: float64(10 * i), rejected: float64(min(i, 1)), active: 2, max: 20}
		}),
	}, {
		name: "p99 near the timeout",
		pages: series(3, func(i int) pg {
			n := float64(100 * i)
			return pg{dep: "pg", success: n, timeoutSec: 1, buckets: []float64{0, 0, n, n}}
		}),
		want: TailNearTimeout, severity: Warning, message: "p99 0.995s is 99.5% of the 1s timeout", since: 1,
	}, {
		name: "timeouts rising",
		pages: series(3, func(i int) pg {
			return pg{dep: "pg", success: float64(90 * i), timeout: float64(10 * i)}
		}),
		want: TimeoutsRising, severity: Warning, message: "10 timeouts/s, 10% of 100 calls/s", since: 1,
	}, {
		name: "backlog growing",
		pages: series(4, func(i int) pg {
			return pg{dep: "pg", pending: float64(5 * i), created: float64(10 * i), resolved: float64(5 * i)}
		}),
		want: BacklogGrowing, severity: Warning, message: "0 → 15, 10 created/s vs 5 resolved/s", since: 0,
	}, {
		name: "a steady backlog wandering (59 → 67, created barely above resolved): noise, nothing",
		pages: series(11, func(i int) pg {
			return pg{dep: "pg", pending: float64(59 + 8*i/10), created: float64(186 * i / 10), resolved: float64(185 * i / 10)}
		}),
	}, {
		name: "a backlog up by fewer than five: nothing",
		pages: series(4, func(i int) pg {
			return pg{dep: "pg", pending: float64(i), created: float64(10 * i), resolved: float64(5 * i)}
		}),
	}, {
		name: "backlog growing, its count unknown at the window's start",
		pages: func() map[float64]string {
			out := series(4, func(i int) pg {
				return pg{dep: "pg", pending: float64(5 * i), created: float64(10 * i), resolved: float64(5 * i)}
			})
			out[0] = strings.Replace(out[0], "resilience_pending_operations{dependency=\"pg\"} 0\n", "", 1)
			return out
		}(),
		want: BacklogGrowing, severity: Warning, message: "5 → 15, 10 created/s vs 5 resolved/s", since: 1,
	}, {
		name: "backlog stale",
		pages: series(3, func(i int) pg {
			return pg{dep: "pg", pending: 1, oldest: 299 + float64(i)}
		}),
		want: BacklogStale, severity: Warning, message: "oldest 5m1s old", since: 2,
	}, {
		// The snapshot's window is the last minute; these held for 99 s.
		name: "retry storm since before the window",
		pages: series(100, func(i int) pg {
			return pg{dep: "pg", success: float64(10 * i), retries: float64(6 * i)}
		}),
		want: RetryStorm, severity: Warning, message: "ratio 0.6", since: 1,
	}, {
		name: "timeouts rising since before the window",
		pages: series(100, func(i int) pg {
			return pg{dep: "pg", success: float64(90 * i), timeout: float64(10 * i)}
		}),
		want: TimeoutsRising, severity: Warning, message: "10% of 100 calls/s", since: 1,
	}, {
		name: "tail near the timeout since before the window",
		pages: series(100, func(i int) pg {
			n := float64(100 * i)
			return pg{dep: "pg", success: n, timeoutSec: 1, buckets: []float64{0, 0, n, n}}
		}),
		want: TailNearTimeout, severity: Warning, message: "99.5% of the 1s timeout", since: 1,
	}, {
		name: "backlog growing after a plateau: dated from the growth, not the plateau",
		pages: series(40, func(i int) pg {
			n := 5.0
			if i >= 30 {
				n += float64(5 * (i - 29))
			}
			return pg{dep: "pg", pending: n, created: float64(10 * i), resolved: float64(5 * i)}
		}),
		want: BacklogGrowing, severity: Warning, message: "5 → 55, 10 created/s vs 5 resolved/s", since: 29,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ingest(t, StoreOptions{}, "http://a/metrics", tt.pages)
			snap := s.Snapshot(at(100), time.Minute)
			d := dep(t, snap, "pg")
			if tt.want == "" {
				if len(d.Findings) > 0 || len(snap.Findings) > 0 {
					t.Fatalf("findings %+v, want none", d.Findings)
				}
				return
			}
			var f *Finding
			for i := range d.Findings {
				if d.Findings[i].Kind == tt.want {
					f = &d.Findings[i]
				}
			}
			if f == nil {
				t.Fatalf("no %s finding in %+v", tt.want, d.Findings)
			}
			if f.Severity != tt.severity || !strings.Contains(f.Message, tt.message) || !strings.HasPrefix(f.Message, "pg: ") {
				t.Errorf("finding = %s %q, want %s containing %q", f.Severity, f.Message, tt.severity, tt.message)
			}
			if tt.noSince {
				if !f.Since.IsZero() {
					t.Errorf("since = %v, want unknown", f.Since)
				}
			} else if !f.Since.Equal(at(tt.since)) {
				t.Errorf("since = %v, want %v", f.Since, at(tt.since))
			}
			if len(snap.Findings) != len(d.Findings) {
				t.Errorf("snapshot has %d findings, dependency %d", len(snap.Findings), len(d.Findings))
			}
		})
	}
}

func TestConcurrencyLimitIsNotABreaker(t *testing.T) {
	lim := fakeProfile{name: "zz-limit", obs: func() []Observation {
		o := NewObservation("pg", "zz-limit")
		o.BreakerLimit = "pending"
		return []Observation{o}
	}}
	s := newStore(StoreOptions{Profiles: builtinAnd(lim)})
	s.Ingest(Scrape{Target: "t", Time: at(0), Page: parsePage(t, page(pg{dep: "pg"}))})
	d := dep(t, s.Snapshot(at(1), time.Minute), "pg")
	if len(d.Findings) != 1 || d.Findings[0].Kind != BulkheadSaturated || !strings.Contains(d.Findings[0].Message, `"pending"`) {
		t.Fatalf("findings = %+v", d.Findings)
	}
	if d.Breaker.State != BreakerClosed || d.Breaker.Limit != "pending" {
		t.Errorf("breaker = %+v", d.Breaker)
	}
}

func TestDependencyOrder(t *testing.T) {
	s := ingest(t, StoreOptions{}, "t", map[float64]string{
		0: page(pg{dep: "a"}, pg{dep: "b"}, pg{dep: "c", state: "half_open"}, pg{dep: "d", state: "open"}, pg{dep: "e"}),
		10: page(pg{dep: "a", success: 100}, pg{dep: "b", success: 50, failure: 50},
			pg{dep: "c", state: "half_open"}, pg{dep: "d", state: "open"}, pg{dep: "e", success: 10, failure: 10}),
	})
	snap := s.Snapshot(at(10), time.Minute)
	var got []string
	for _, d := range snap.Dependencies {
		got = append(got, d.Name)
	}
	// critical, warning, then error ratio (b and e both 0.5: more calls first), then a.
	if want := "d c b e a"; strings.Join(got, " ") != want {
		t.Errorf("order = %v, want %s", got, want)
	}
	if snap.Findings[0].Severity != Critical || snap.Findings[len(snap.Findings)-1].Severity != Warning {
		t.Errorf("findings not worst first: %+v", snap.Findings)
	}
}

// TestFindingMessages checks that a message carries the numbers that are
// known and leaves out the ones that are not, rather than printing "?".
func TestFindingMessages(t *testing.T) {
	tests := []struct {
		name    string
		set     func(o *Observation, i int)
		kind    FindingKind
		message string // the whole message after "pg: "
	}{{
		name: "pool waiters with the pool's size unknown",
		set:  func(o *Observation, i int) { o.PoolPending = 3 },
		kind: PoolExhausted, message: "pool exhausted — 3 waiting, for 9s",
	}, {
		name: "bulkhead rejections with its size unknown",
		set: func(o *Observation, i int) {
			o.Calls = map[Outcome]float64{OutcomeSuccess: float64(10 * i), OutcomeBulkheadRejected: float64(2 * i)}
		},
		kind: BulkheadSaturated, message: "bulkhead saturated — 2 rejected/s",
	}, {
		name: "bulkhead full with rejections",
		set: func(o *Observation, i int) {
			o.BulkheadInFlight, o.BulkheadMax = 10, 10
			o.Calls = map[Outcome]float64{OutcomeSuccess: float64(10 * i), OutcomeBulkheadRejected: float64(i)}
		},
		kind: BulkheadSaturated, message: "bulkhead saturated — 10 of 10 in flight, 1 rejected/s",
	}, {
		name: "open breaker without calls: no unknown error ratio",
		set: func(o *Observation, i int) {
			o.Breaker = BreakerOpen
			o.Calls = map[Outcome]float64{OutcomeSuccess: 5}
		},
		kind: BreakerOpenKind, message: "breaker open (0 calls/s)",
	}, {
		name: "open breaker with calls",
		set: func(o *Observation, i int) {
			o.Breaker = BreakerOpen
			o.Calls = map[Outcome]float64{OutcomeSuccess: float64(i), OutcomeShortCircuited: float64(9 * i)}
		},
		kind: BreakerOpenKind, message: "breaker open (10 calls/s, error ratio 0.9)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var i int
			p := fakeProfile{name: "fake", obs: func() []Observation {
				o := NewObservation("pg", "fake")
				tt.set(&o, i)
				return []Observation{o}
			}}
			s := newStore(StoreOptions{Force: []string{"fake"}, Profiles: builtinAnd(p)})
			for i = 0; i < 10; i++ {
				s.Ingest(Scrape{Target: "t", Time: at(float64(i)), Page: NewPage(nil)})
			}
			var got []string
			for _, f := range dep(t, s.Snapshot(at(9), time.Minute), "pg").Findings {
				if f.Kind == tt.kind {
					got = append(got, f.Message)
				}
			}
			if want := "pg: " + tt.message; len(got) != 1 || got[0] != want {
				t.Errorf("%s messages %q, want [%q]", tt.kind, got, want)
			}
		})
	}
}

// TestNoNegativeOrInfiniteRates feeds counters a profile should never
// report (negative, infinite) and checks the rates stay sane.
func TestNoNegativeOrInfiniteRates(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name   string
		values []float64 // one counter value per scrape, one second apart
		want   float64   // calls/s and retries/s; NaN: unknown
	}{
		{"a negative value is unknown, not a reset to below zero", []float64{10, -5}, math.NaN()},
		{"a negative value between two good ones is skipped", []float64{10, -5, 20}, 5},
		{"an infinite value is skipped", []float64{10, inf, 20}, 5},
		{"good values", []float64{10, 15, 20}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var i int
			p := fakeProfile{name: "fake", obs: func() []Observation {
				o := NewObservation("pg", "fake")
				o.Retries, o.PendingCreated = tt.values[i], tt.values[i]
				o.Calls = map[Outcome]float64{OutcomeSuccess: tt.values[i]}
				return []Observation{o}
			}}
			s := newStore(StoreOptions{Force: []string{"fake"}, Profiles: builtinAnd(p)})
			for i = 0; i < len(tt.values); i++ {
				s.Ingest(Scrape{Target: "t", Time: at(float64(i)), Page: NewPage(nil)})
			}
			d := dep(t, s.Snapshot(at(10), time.Minute), "pg")
			for name, v := range map[string]Value{"calls/s": d.CallsPerSecond, "retries/s": d.RetriesPerSecond, "created/s": d.Pending.CreatedPerSecond} {
				if !near(v, tt.want) {
					t.Errorf("%s = %v, want %v", name, v, tt.want)
				}
			}
			for _, p := range d.History {
				if v := float64(p.CallsPerSecond); v < 0 || math.IsInf(v, 0) {
					t.Errorf("history step %v calls/s", v)
				}
			}
		})
	}
}

// TestPermute checks the in-place reordering against building the result
// in a second slice, over permutations with fixed points and cycles of
// several lengths.
func TestPermute(t *testing.T) {
	tests := []struct {
		name string
		from []int
	}{
		{"empty", nil},
		{"identity", []int{0, 1, 2, 3}},
		{"one swap", []int{1, 0, 2}},
		{"reversed", []int{5, 4, 3, 2, 1, 0}},
		{"a 3-cycle and a fixed point", []int{2, 0, 1, 3}},
		{"a 4-cycle and a 2-cycle", []int{3, 0, 1, 2, 5, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := make([]string, len(tt.from))
			want := make([]string, len(tt.from))
			for i := range s {
				s[i] = fmt.Sprint("v", i)
			}
			for k, f := range tt.from {
				want[k] = s[f]
			}
			permute(s, func(k int) int { return tt.from[k] })
			if !slices.Equal(s, want) {
				t.Errorf("permute = %v, want %v", s, want)
			}
		})
	}
}

// TestNum pins the message number format, the table of small integers
// included.
func TestNum(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "-0"}, {7, "7"}, {999, "999"}, {1000, "1000"}, {123456.7, "123457"},
		{-3, "-3"}, {0.5, "0.5"}, {12.345, "12.3"}, {math.NaN(), "?"}, {math.Inf(1), "?"},
	}
	for _, tt := range tests {
		if got := num(tt.v); got != tt.want {
			t.Errorf("num(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
