// Package incident summarizes a recording for a post-mortem: when each
// finding held, the breaker transitions, the windows in which a dependency
// was in trouble, the worst minute, and the calls, errors and p99 of every
// dependency over the whole recording; rendered as Markdown or as one HTML
// page with inline SVG charts and no external assets.
package incident

import (
	"cmp"
	"iter"
	"slices"
	"strings"
	"time"

	"resiltop/internal/model"
)

// Summary is a recording summarized.
type Summary struct {
	Name       string // the recording's file name, as given
	Start, End time.Time
	Interval   time.Duration
	Scrapes    int
	Skipped    int64    // bytes of a torn tail
	Targets    []string // in first-seen order
	Deps       []Dep    // worst first (most critical time, then name)
	// Spans are every finding's periods, by start; Transitions every
	// breaker change, by time.
	Spans       []model.FindingSpan
	Transitions []model.Event
	// Troubles are the windows in which a critical finding held on a
	// dependency or target, merged per dependency, by start.
	Troubles []Window
	Worst    Minute
}

// Dep is one dependency of one target over the whole recording.
type Dep struct {
	Target, Name string
	History      []model.Point // every step of the recording
	Spans        []model.FindingSpan
	Transitions  []model.Event // its breaker's, by time
	Troubles     []Window
	Critical     time.Duration // total time under a critical finding
}

// Window is a period in which something held.
type Window struct {
	Target, Dependency string // Dependency "" for a target's own trouble
	Start, End         time.Time
	Kinds              []model.FindingKind // the critical findings that held in it
}

// Minute is the minute (any 60 s, not a clock minute) with the most failed
// calls over all dependencies.
type Minute struct {
	Start, End time.Time
	Failed     float64            // failed calls (errors and timeouts) in it
	ByDep      map[string]float64 // per "target dependency"; only those with failures
}

// Options say how to read the recording.
type Options struct {
	Name     string
	Interval time.Duration // the recording's scrape interval; the sampling step
	Skipped  int64
	// Store are the model's options (profiles, thresholds); History and
	// MaxEvents are set here to span the whole recording.
	Store model.StoreOptions
}

// maxEvents bounds the breaker transitions kept for a report.
const maxEvents = 100_000

// Build reads every scrape of a recording, in order, and summarizes it.
// span is how long the recording lasts (first start to last arrival): the
// model keeps that much history, so the charts cover all of it. It stops
// at the first error of scrapes and returns it.
func Build(scrapes iter.Seq2[model.Scrape, error], span time.Duration, o Options) (*Summary, error) {
	step := o.Interval
	if step <= 0 {
		step = time.Second
	}
	window := span + 2*step // one window over everything
	so := o.Store
	so.History = window + time.Minute
	so.MaxEvents = maxEvents
	store := model.NewStore(so)
	var targets []string
	seen := map[string]bool{}
	track := func(yield func(model.Scrape, error) bool) {
		for s, err := range scrapes {
			if err == nil && !seen[s.Target] {
				seen[s.Target] = true
				targets = append(targets, s.Target)
			}
			if !yield(s, err) {
				return
			}
		}
	}
	tl, err := model.BuildTimeline(store, track, time.Minute, step)
	if err != nil {
		return nil, err
	}
	snap := store.Snapshot(tl.End, window)
	sum := &Summary{Name: o.Name, Start: tl.Start, End: tl.End, Interval: step, Scrapes: tl.Scrapes,
		Skipped: o.Skipped, Targets: targets, Spans: tl.Spans}
	for _, e := range snap.Events {
		if e.Dependency != "" && (strings.HasPrefix(e.Message, "breaker") || strings.Contains(e.Message, "transition")) {
			sum.Transitions = append(sum.Transitions, e)
		}
	}
	sum.Troubles = troubles(tl.Spans, tl.End)
	for _, d := range snap.Dependencies {
		dep := Dep{Target: d.Target, Name: d.Name, History: d.History}
		for _, sp := range tl.Spans {
			if sp.Target == d.Target && sp.Dependency == d.Name {
				dep.Spans = append(dep.Spans, sp)
			}
		}
		for _, e := range sum.Transitions {
			if e.Target == d.Target && e.Dependency == d.Name {
				dep.Transitions = append(dep.Transitions, e)
			}
		}
		for _, w := range sum.Troubles {
			if w.Target == d.Target && w.Dependency == d.Name {
				dep.Troubles = append(dep.Troubles, w)
				dep.Critical += w.End.Sub(w.Start)
			}
		}
		sum.Deps = append(sum.Deps, dep)
	}
	slices.SortStableFunc(sum.Deps, func(a, b Dep) int {
		if c := cmp.Compare(b.Critical, a.Critical); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Target, b.Target))
	})
	sum.Worst = worstMinute(sum.Deps)
	return sum, nil
}

// troubles merges the critical spans of each dependency (or target) into
// windows; a span still open at the end closes at end.
func troubles(spans []model.FindingSpan, end time.Time) []Window {
	type key struct{ target, dep string }
	byKey := map[key][]model.FindingSpan{}
	var keys []key
	for _, sp := range spans {
		if sp.Severity != model.Critical {
			continue
		}
		k := key{sp.Target, sp.Dependency}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		if sp.End.IsZero() {
			sp.End = end
		}
		byKey[k] = append(byKey[k], sp)
	}
	var out []Window
	for _, k := range keys {
		ss := byKey[k]
		slices.SortFunc(ss, func(a, b model.FindingSpan) int { return a.Start.Compare(b.Start) })
		var cur *Window
		for _, sp := range ss {
			if cur != nil && !sp.Start.After(cur.End) {
				cur.End = maxTime(cur.End, sp.End)
				if !slices.Contains(cur.Kinds, sp.Kind) {
					cur.Kinds = append(cur.Kinds, sp.Kind)
				}
				continue
			}
			out = append(out, Window{Target: k.target, Dependency: k.dep, Start: sp.Start, End: sp.End, Kinds: []model.FindingKind{sp.Kind}})
			cur = &out[len(out)-1]
		}
	}
	slices.SortStableFunc(out, func(a, b Window) int { return a.Start.Compare(b.Start) })
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// worstMinute finds the 60 s with the most failed calls: each history step
// contributes calls/s × error ratio × its length, at its end time.
func worstMinute(deps []Dep) Minute {
	type failure struct {
		at  time.Time
		n   float64
		dep string
	}
	var fs []failure
	for _, d := range deps {
		for i := 1; i < len(d.History); i++ {
			p := d.History[i]
			if !p.CallsPerSecond.Known() || !p.ErrorRatio.Known() {
				continue
			}
			if n := float64(p.CallsPerSecond) * float64(p.ErrorRatio) * p.Time.Sub(d.History[i-1].Time).Seconds(); n > 0 {
				fs = append(fs, failure{p.Time, n, d.Target + " " + d.Name})
			}
		}
	}
	if len(fs) == 0 {
		return Minute{}
	}
	slices.SortFunc(fs, func(a, b failure) int { return a.at.Compare(b.at) })
	var best Minute
	sum, lo := 0.0, 0
	for hi := range fs {
		sum += fs[hi].n
		for fs[hi].at.Sub(fs[lo].at) >= time.Minute {
			sum -= fs[lo].n
			lo++
		}
		if sum > best.Failed {
			best = Minute{Start: fs[hi].at.Add(-time.Minute), End: fs[hi].at, Failed: sum}
			best.ByDep = map[string]float64{}
			for _, f := range fs[lo : hi+1] {
				best.ByDep[f.dep] += f.n
			}
		}
	}
	// A recording shorter than a minute: the minute is what there is.
	if first := fs[0].at; best.Start.Before(first) {
		best.Start = first
	}
	return best
}
