package main

import (
	"sync"
	"time"

	"resiltop/internal/model"
)

// recentSnapshots is how many of the UI's latest snapshots the probe
// keeps: the one on screen is among them, as at most a fetch or two are in
// flight when the screen is read.
const recentSnapshots = 4

// probe stands between the UI and the store's Snapshot: it records every
// snapshot the UI fetched, so checks compare the screen with what it was
// given and with the targets' truth.
type probe struct {
	snapshot func(time.Time, time.Duration) *model.Snapshot
	// The soak's own tests set these to prove that the checks fail:
	// corrupt alters each snapshot as a wrong store would (the checks and
	// the UI see it), misrender only what the UI gets, as a UI showing
	// something else than it was given would.
	corrupt, misrender func(*model.Snapshot) *model.Snapshot

	mu     sync.Mutex
	calls  int
	last   time.Time
	recent []*model.Snapshot // newest first
}

// Snapshot is the function the UI calls instead of the store's.
func (p *probe) Snapshot(now time.Time, window time.Duration) *model.Snapshot {
	s := p.snapshot(now, window)
	if p.corrupt != nil {
		s = p.corrupt(s)
	}
	p.mu.Lock()
	p.calls++
	p.last = time.Now()
	p.recent = append([]*model.Snapshot{s}, p.recent[:min(len(p.recent), recentSnapshots-1)]...)
	p.mu.Unlock()
	if p.misrender != nil {
		s = p.misrender(s)
	}
	return s
}

// read returns how many snapshots were taken, when the last was, and the
// recent ones, newest first.
func (p *probe) read() (int, time.Time, []*model.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls, p.last, append([]*model.Snapshot(nil), p.recent...)
}
