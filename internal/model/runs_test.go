package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// simDep is one simulated dependency: its counters and gauges, and the
// conditions it is in, which switch now and then so findings come and go.
type simDep struct {
	p                                          pg
	retrying, timingOut, slow, poolFull, queue bool
	bulkFull, rejecting, growing, old, unsafe  bool
	inFlight, bulkMax                          float64
	present                                    bool // on the target's page
}

// step moves d on by one scrape.
func (d *simDep) step(r *rand.Rand) {
	flip := func(b *bool) {
		if r.IntN(8) == 0 {
			*b = !*b
		}
	}
	for _, b := range []*bool{&d.retrying, &d.timingOut, &d.slow, &d.poolFull, &d.queue, &d.bulkFull, &d.rejecting, &d.growing, &d.old, &d.unsafe} {
		flip(b)
	}
	p := &d.p
	if r.IntN(40) == 0 { // a restart: every counter starts again
		p.success, p.failure, p.timeout, p.rejected, p.retries, p.unsafe = 0, 0, 0, 0, 0, 0
		p.transitions, p.created, p.resolved = 0, 0, 0
		p.buckets = []float64{0, 0, 0, 0}
	}
	calls := float64(r.IntN(20))
	if r.IntN(10) == 0 || d.rejecting && r.IntN(3) == 0 {
		calls = 0
	}
	p.success += calls
	p.failure += float64(r.IntN(3))
	if d.timingOut {
		p.timeout += 1 + float64(r.IntN(5))
	}
	retries := calls * 0.1
	if d.retrying {
		retries = calls*0.8 + float64(r.IntN(3))
	}
	p.retries += retries
	if d.unsafe {
		p.unsafe += math.Min(retries, 1)
	}
	if d.rejecting {
		p.rejected += float64(r.IntN(3))
	}
	if r.IntN(6) == 0 {
		states := []string{"closed", "open", "half_open", "forced_open", "disabled"}
		if st := states[r.IntN(len(states))]; st != p.state {
			p.state = st
			p.transitions++
		}
	}
	fast, slow := calls, 0.0
	if d.slow {
		fast, slow = 1, calls
	}
	p.buckets = []float64{p.buckets[0] + fast, p.buckets[1] + fast, p.buckets[2] + fast + slow/2, p.buckets[3] + fast + slow}
	if r.IntN(15) == 0 {
		p.timeoutSec = []float64{0.5, 1, 2, nan}[r.IntN(4)]
	}
	p.max, p.active, p.wait = 10, float64(r.IntN(8)), 0
	if d.poolFull {
		p.active = 10
	}
	if d.queue {
		p.wait = float64(1 + r.IntN(3))
	}
	d.inFlight, d.bulkMax = float64(r.IntN(5)), 10
	if d.bulkFull {
		d.inFlight = 10
	}
	p.created += 5
	p.resolved += 5
	switch {
	case d.growing:
		p.pending += float64(5 + r.IntN(10))
		p.created += 20
	case r.IntN(3) == 0:
		p.pending = math.Max(0, p.pending-float64(r.IntN(5)))
	}
	p.oldest = float64(r.IntN(200))
	if d.old {
		p.oldest = 301 + float64(r.IntN(100))
	}
	// Gaps: a gauge the scrape did not know.
	for _, v := range []*float64{&p.active, &p.wait, &p.pending, &p.oldest, &d.inFlight, &p.timeoutSec} {
		if r.IntN(25) == 0 {
			*v = nan
		}
	}
}

// simPage renders the dependencies on the page.
func simPage(ds []*simDep) string {
	var on []pg
	var bulk strings.Builder
	bulk.WriteString("# TYPE resilience_bulkhead_in_flight gauge\n")
	for _, d := range ds {
		if d.present {
			on = append(on, d.p)
			fmt.Fprintf(&bulk, "resilience_bulkhead_in_flight{dependency=%q} %g\n", d.p.dep, d.inFlight)
		}
	}
	bulk.WriteString("# TYPE resilience_bulkhead_max_concurrent gauge\n")
	for _, d := range ds {
		if d.present {
			fmt.Fprintf(&bulk, "resilience_bulkhead_max_concurrent{dependency=%q} %g\n", d.p.dep, d.bulkMax)
		}
	}
	return page(on...) + bulk.String()
}

// TestSnapshotMatchesWalk compares Snapshots, whose findings are dated by
// the runs each dependency keeps and laid out by rank, with the reference
// that walks every history and sorts the findings, on random histories:
// conditions that come and go, gaps, counter resets, timeouts that change,
// dependencies that vanish and come back, targets that go down, pauses
// longer than History, histories trimmed and thinned (small MaxSamples),
// several windows, and snapshots of earlier times.
func TestSnapshotMatchesWalk(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 9))
			o := StoreOptions{
				History:    []time.Duration{30 * time.Second, 2 * time.Minute, 15 * time.Minute}[r.IntN(3)],
				MaxSamples: []int{30, 120, 100_000}[r.IntN(3)],
			}
			s := newStore(o)
			targets := make([][]*simDep, 1+r.IntN(3))
			for ti := range targets {
				for di := range 1 + r.IntN(4) {
					targets[ti] = append(targets[ti], &simDep{
						p:       pg{dep: fmt.Sprintf("d%d", di), idem: di%2 == 0, buckets: []float64{0, 0, 0, 0}, timeoutSec: 1},
						present: true,
					})
				}
			}
			clock := t0
			for i := range 300 {
				clock = clock.Add(time.Duration(1+r.IntN(3)) * time.Second)
				if r.IntN(60) == 0 {
					clock = clock.Add(time.Duration(r.IntN(int(o.History/time.Second)*2)) * time.Second)
				}
				ti := r.IntN(len(targets))
				url := fmt.Sprintf("http://t%d/metrics", ti)
				if r.IntN(20) == 0 {
					s.Ingest(Scrape{Target: url, Time: clock, Err: errors.New("connection refused")})
				} else {
					for _, d := range targets[ti] {
						if r.IntN(30) == 0 {
							d.present = !d.present
						}
						d.step(r)
					}
					s.Ingest(Scrape{Target: url, Time: clock, Page: parsePage(t, simPage(targets[ti]))})
				}
				checkRuns(t, s)
				now := clock
				if r.IntN(10) == 0 {
					now = clock.Add(-time.Duration(r.IntN(10)) * time.Second)
				}
				window := []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute}[r.IntN(3)]
				fast, walk := s.Snapshot(now, window), s.snapshot(now, window, true)
				if got, want := fmt.Sprintf("%+v", *fast), fmt.Sprintf("%+v", *walk); got != want {
					t.Fatalf("scrape %d, snapshot at %s over %s:\n got %s\nwant %s", i, now.Sub(t0), window, got, want)
				}
			}
		})
	}
}

// checkRuns compares each dependency's runs with walks of its history,
// and the Store's count of dependencies with theirs.
func checkRuns(t *testing.T, s *Store) {
	t.Helper()
	th := &s.opts.Thresholds
	deps := 0
	for _, ts := range s.targets {
		deps += len(ts.deps)
	}
	if deps != s.deps {
		t.Fatalf("the store counts %d dependencies, its targets have %d", s.deps, deps)
	}
	for _, ts := range s.targets {
		for _, d := range ts.deps {
			if got, want := d.runs.breaker, breakerRun(d.samples); got != want {
				t.Fatalf("%s %s: breaker run from sample %d, walk says %d", ts.url, d.name, got, want)
			}
			for c := range nConds {
				if got, want := d.runs.since(c, d.samples), c.since(d.samples, d.points, th); !got.Equal(want) {
					t.Fatalf("%s %s: condition %d since %s, walk says %s", ts.url, d.name, c, got.Sub(t0), want.Sub(t0))
				}
			}
		}
	}
}

// TestSortByRank compares a dependency's ordering with sortFindings on
// random lists with repeated kinds, told apart by their messages.
func TestSortByRank(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		var fs []Finding
		for i := range r.IntN(8) {
			fs = append(fs, Finding{
				Kind: FindingKinds[r.IntN(len(FindingKinds))], Severity: []Severity{Critical, Warning}[r.IntN(2)],
				Target: "t", Dependency: "d", Message: fmt.Sprint(i),
			})
		}
		got, want := slices.Clone(fs), slices.Clone(fs)
		sortByRank(got)
		sortFindings(want)
		if !slices.Equal(got, want) {
			t.Fatalf("sortByRank(%v) = %v, want %v", fs, got, want)
		}
	}
}
