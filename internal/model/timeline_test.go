package model

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestBuildTimeline: a breaker open from 3 s to 6 s gives one span and a
// mark where it opens and where it closes; an error from the sequence
// stops the timeline there.
func TestBuildTimeline(t *testing.T) {
	states := []string{"closed", "closed", "closed", "open", "open", "open", "closed", "closed"}
	scrapes := func(failAt int) func(yield func(Scrape, error) bool) {
		return func(yield func(Scrape, error) bool) {
			for i, st := range states {
				if i == failAt {
					yield(Scrape{}, errors.New("record 5: checksum mismatch"))
					return
				}
				s := Scrape{Target: "t", Time: at(float64(i)), Duration: 10 * time.Millisecond,
					Page: parsePage(t, page(pg{dep: "pg", state: st, success: float64(10 * i)}))}
				if !yield(s, nil) {
					return
				}
			}
		}
	}
	tl, err := BuildTimeline(newStore(StoreOptions{}), scrapes(-1), time.Minute, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if tl.Scrapes != len(states) || !tl.Start.Equal(at(0)) || !tl.End.Equal(at(7).Add(10*time.Millisecond)) {
		t.Errorf("scrapes %d, %v – %v", tl.Scrapes, tl.Start, tl.End)
	}
	var open []FindingSpan
	for _, sp := range tl.Spans {
		if sp.Kind == BreakerOpenKind {
			open = append(open, sp)
		}
	}
	if len(open) != 1 || !open[0].Start.Equal(at(3).Add(10*time.Millisecond)) || !open[0].End.Equal(at(6).Add(10*time.Millisecond)) ||
		open[0].Severity != Critical || open[0].Dependency != "pg" || open[0].Advice != Advice(BreakerOpenKind) {
		t.Fatalf("breaker_open spans = %+v", open)
	}
	if want := []int{4, 7}; len(tl.Marks) < 2 || !slices.Contains(tl.Marks, want[0]) || !slices.Contains(tl.Marks, want[1]) {
		t.Errorf("marks = %v, want %v among them", tl.Marks, want)
	}
	tl, err = BuildTimeline(newStore(StoreOptions{}), scrapes(5), time.Minute, time.Second)
	if err == nil || tl.End.After(at(5)) {
		t.Errorf("a failing sequence: err %v, end %v", err, tl.End)
	}
}
