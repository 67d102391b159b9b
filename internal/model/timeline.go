package model

import (
	"iter"
	"time"
)

// FindingSpan is one period in which a finding held.
type FindingSpan struct {
	Kind       FindingKind
	Severity   Severity // the worst it reached
	Target     string
	Dependency string // "" for a target-level finding
	// Start is the first sample it was seen in; End the first sample it was
	// gone from, zero when it held to the end.
	Start, End time.Time
	Message    string // as first seen at its worst severity
	Advice     string
}

// Timeline is how the findings of a sequence of scrapes changed. Build one
// with BuildTimeline, or sample by sample with Observe (a live Store).
type Timeline struct {
	// Marks are the positions (scrapes ingested so far) after which the
	// set of findings (kind, severity, target, dependency) differed from
	// the previous sample's, ascending.
	Marks []int
	// Spans are every finding's periods, by start.
	Spans []FindingSpan
	// Start and End are the first scrape's time and the last sample's.
	Start, End time.Time
	// Scrapes is how many scrapes were ingested.
	Scrapes int

	open map[spanKey]int // index in Spans of each finding holding now
	prev map[spanKey]Severity
}

// Observe adds one sample: the findings of snap, taken after pos scrapes,
// at snap.Time.
func (tl *Timeline) Observe(pos int, snap *Snapshot) {
	if tl.open == nil {
		tl.open = map[spanKey]int{}
	}
	if tl.Start.IsZero() {
		tl.Start = snap.Time
	}
	clock := snap.Time
	cur := make(map[spanKey]Severity, len(snap.Findings))
	for _, f := range snap.Findings {
		k := spanKey{f.Target, f.Dependency, f.Kind}
		cur[k] = f.Severity
		i, ok := tl.open[k]
		if !ok {
			tl.open[k] = len(tl.Spans)
			tl.Spans = append(tl.Spans, FindingSpan{Kind: f.Kind, Severity: f.Severity, Target: f.Target,
				Dependency: f.Dependency, Start: clock, Message: f.Message, Advice: f.Advice})
			continue
		}
		if sp := &tl.Spans[i]; severityRank(f.Severity) < severityRank(sp.Severity) {
			sp.Severity, sp.Message, sp.Advice = f.Severity, f.Message, f.Advice
		}
	}
	for k, i := range tl.open {
		if _, ok := cur[k]; !ok {
			tl.Spans[i].End = clock
			delete(tl.open, k)
		}
	}
	if !sameFindings(tl.prev, cur) {
		tl.Marks = append(tl.Marks, pos)
	}
	tl.prev, tl.End, tl.Scrapes = cur, clock, pos
}

// BuildTimeline ingests scrapes, in order, into store and samples its
// findings over window each time the scrapes' clock has moved on by step
// since the previous sample, and after the last scrape. The clock is when
// each scrape reached the Store (its start plus its duration): the time a
// live Snapshot would have been taken. It stops at the first error the
// sequence yields and returns it with what was built so far.
func BuildTimeline(store *Store, scrapes iter.Seq2[Scrape, error], window, step time.Duration) (*Timeline, error) {
	tl := &Timeline{}
	var clock, next time.Time
	pos := 0
	for s, err := range scrapes {
		if err != nil {
			if pos > 0 && !tl.End.Equal(clock) {
				tl.Observe(pos, store.Snapshot(clock, window))
			}
			return tl, err
		}
		if pos == 0 {
			tl.Start, clock, next = s.Time, s.Time, s.Time
		}
		if a := s.Time.Add(s.Duration); a.After(clock) {
			clock = a
		}
		store.Ingest(s)
		pos++
		if !clock.Before(next) {
			tl.Observe(pos, store.Snapshot(clock, window))
			next = clock.Add(step)
		}
	}
	if pos > 0 && (tl.Scrapes != pos || !tl.End.Equal(clock)) {
		tl.Observe(pos, store.Snapshot(clock, window))
	}
	return tl, nil
}

type spanKey struct {
	target, dep string
	kind        FindingKind
}

func sameFindings(a, b map[spanKey]Severity) bool {
	if len(a) != len(b) {
		return false
	}
	for k, s := range a {
		if b[k] != s {
			return false
		}
	}
	return true
}
