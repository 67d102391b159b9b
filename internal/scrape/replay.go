package scrape

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"resiltop/internal/model"
	"resiltop/internal/record"
)

// MaxSpeed is the fastest replay, ×64.
const MaxSpeed = 64

// Replay is a Source that plays a recording back on the recording's clock:
// each scrape is emitted when the replayed time reaches the moment the
// recording resiltop ingested it (its start plus its duration), sped up or
// slowed down by the speed. It can pause, step and jump; stepping backward
// rebuilds the model from the recording's start through Rewind.
type Replay struct {
	file *record.File
	// arrival[i] is when record i reached the Store, made non-decreasing
	// (records are in ingest order; a slow scrape started earlier lands later).
	arrival []time.Time
	rewind  func(iter.Seq[model.Scrape])
	changed func()
	cmds    chan replayCmd

	mu     sync.Mutex
	pos    int // records emitted
	speed  float64
	paused bool
	marks  []int // positions where the findings change, ascending
	err    error // a record that could not be read stops the replay
}

// ReplayStatus is where a replay stands.
type ReplayStatus struct {
	Now        time.Time // the replayed time: the arrival of the last record emitted
	Pos, Total int       // records emitted, records in the recording
	Speed      float64
	Paused     bool  // by the user; a replay at its end waits too (Pos == Total)
	Marked     bool  // finding changes are known, so JumpFinding works
	Err        error // why the replay stopped early; nil otherwise
}

type replayCmd struct {
	step  int // records to move by: >0 forward, <0 back
	to    int // an absolute position when step is 0 (a jump), -1 otherwise
	pause int // 1 pause, -1 resume, 2 toggle, 0 leave
	speed float64
	done  chan struct{} // closed once applied
}

// NewReplay returns a Replay of f at its start, playing at ×1. rewind must
// build a fresh model from the scrapes it is given (the recording's first
// records, up to the new position) and replace the current one; changed is
// called after each control is applied (nil for none). Both are called
// from Run's goroutine, never concurrently with emit.
func NewReplay(f *record.File, rewind func(iter.Seq[model.Scrape]), changed func()) *Replay {
	if changed == nil {
		changed = func() {}
	}
	r := &Replay{file: f, rewind: rewind, changed: changed, speed: 1, cmds: make(chan replayCmd, 16)}
	r.arrival = make([]time.Time, f.Len())
	for i := range r.arrival {
		a := f.Entry(i).Arrival()
		if i > 0 && a.Before(r.arrival[i-1]) {
			a = r.arrival[i-1]
		}
		r.arrival[i] = a
	}
	return r
}

// Arrival is when record i reached the recording resiltop's Store.
func (r *Replay) Arrival(i int) time.Time { return r.arrival[i] }

// Len is the number of records.
func (r *Replay) Len() int { return len(r.arrival) }

// Status reports the replayed time, position, speed and state.
func (r *Replay) Status() ReplayStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return ReplayStatus{Now: r.nowLocked(), Pos: r.pos, Total: len(r.arrival), Speed: r.speed,
		Paused: r.paused, Marked: r.marks != nil, Err: r.err}
}

// Now is the replayed time.
func (r *Replay) Now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nowLocked()
}

func (r *Replay) nowLocked() time.Time {
	switch {
	case len(r.arrival) == 0:
		return time.Time{}
	case r.pos == 0:
		return r.file.Entry(0).Time
	}
	return r.arrival[r.pos-1]
}

// SetMarks gives the positions at which the findings change (see
// model.BuildTimeline), which JumpFinding moves between.
func (r *Replay) SetMarks(marks []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.marks = slices.Clone(marks)
	if r.marks == nil {
		r.marks = []int{}
	}
}

// The controls below return once Run has applied them (or after a bound
// when Run is not running).

// TogglePause pauses or resumes playback.
func (r *Replay) TogglePause() { r.send(replayCmd{to: -1, pause: 2}) }

// Play resumes playback.
func (r *Replay) Play() { r.send(replayCmd{to: -1, pause: -1}) }

// Step pauses and moves n records forward (n > 0) or back (n < 0).
func (r *Replay) Step(n int) { r.send(replayCmd{step: n, to: -1, pause: 1}) }

// Faster doubles the speed, up to MaxSpeed; Slower halves it, down to 1/64.
func (r *Replay) Faster() { r.send(replayCmd{to: -1, speed: 2}) }

// Slower halves the speed.
func (r *Replay) Slower() { r.send(replayCmd{to: -1, speed: 0.5}) }

// JumpFinding moves to the next (dir > 0) or previous (dir < 0) position
// where the findings change, and pauses there. It does nothing until
// SetMarks was called, or when there is no such change.
func (r *Replay) JumpFinding(dir int) {
	r.mu.Lock()
	pos, marks := r.pos, r.marks
	r.mu.Unlock()
	to := -1
	if dir > 0 {
		if i, _ := slices.BinarySearch(marks, pos+1); i < len(marks) {
			to = marks[i]
		}
	} else if i, _ := slices.BinarySearch(marks, pos); i > 0 {
		to = marks[i-1]
	}
	if to >= 0 {
		r.send(replayCmd{to: to, pause: 1})
	}
}

// controlWait bounds how long a control waits for Run to apply it.
const controlWait = 2 * time.Second

// send queues a command and waits until Run has applied it (at most
// controlWait), so a caller refreshing afterwards sees its effect. A full
// queue drops it (a key held down).
func (r *Replay) send(c replayCmd) {
	c.done = make(chan struct{})
	select {
	case r.cmds <- c:
	default:
		return
	}
	t := time.NewTimer(controlWait)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
	}
}

// Run plays the recording until ctx is done, emitting each scrape when its
// time comes, and serving the controls. At the end it waits, paused.
func (r *Replay) Run(ctx context.Context, emit func(model.Scrape)) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	last := time.Now() // when the previous record was emitted, on the wall clock
	for {
		r.mu.Lock()
		waiting := r.paused || r.pos >= len(r.arrival) || r.err != nil
		var due time.Duration
		if !waiting && r.pos > 0 {
			gap := r.arrival[r.pos].Sub(r.arrival[r.pos-1])
			due = time.Duration(float64(gap)/r.speed) - time.Since(last)
		}
		r.mu.Unlock()
		var fire <-chan time.Time
		if !waiting {
			if timer == nil {
				timer = time.NewTimer(max(due, 0))
			} else {
				timer.Reset(max(due, 0))
			}
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case c := <-r.cmds:
			if timer != nil {
				timer.Stop()
			}
			r.apply(c, emit)
			close(c.done)
			r.changed()
			last = time.Now()
		case <-fire:
			r.forward(1, emit)
			last = time.Now()
		}
	}
}

// apply carries out one control command.
func (r *Replay) apply(c replayCmd, emit func(model.Scrape)) {
	r.mu.Lock()
	switch c.pause {
	case 1:
		r.paused = true
	case -1:
		r.paused = false
	case 2:
		r.paused = !r.paused
	}
	if c.speed > 0 {
		r.speed = min(MaxSpeed, max(1.0/MaxSpeed, r.speed*c.speed))
	}
	to := c.to
	if c.step != 0 {
		to = r.pos + c.step
	}
	pos := r.pos
	r.mu.Unlock()
	switch {
	case to < 0 && c.step == 0: // not a move
	case to >= pos:
		r.forward(min(to, len(r.arrival))-pos, emit)
	default:
		r.seekBack(max(to, 0))
	}
}

// forward emits the next n records.
func (r *Replay) forward(n int, emit func(model.Scrape)) {
	for range n {
		r.mu.Lock()
		i := r.pos
		r.mu.Unlock()
		if i >= len(r.arrival) {
			return
		}
		s, err := r.file.Read(i)
		if err != nil {
			r.stop(err)
			return
		}
		emit(s)
		r.mu.Lock()
		r.pos = i + 1
		r.mu.Unlock()
	}
}

// seekBack rebuilds the model from the start up to position to.
func (r *Replay) seekBack(to int) {
	var readErr error
	r.rewind(func(yield func(model.Scrape) bool) {
		for i := range to {
			s, err := r.file.Read(i)
			if err != nil {
				readErr = err
				return
			}
			if !yield(s) {
				return
			}
		}
	})
	if readErr != nil {
		r.stop(readErr)
		return
	}
	r.mu.Lock()
	r.pos = to
	r.mu.Unlock()
}

func (r *Replay) stop(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = fmt.Errorf("replay stopped at record %d: %w", r.pos, err)
}

// ScrapeNow does nothing: a recording has nothing new to scrape.
func (r *Replay) ScrapeNow() {}

// ScrapeAll returns the records not yet emitted, through the end of the
// recording, and moves the position there. --once uses Until instead, to
// stop at a moment.
func (r *Replay) ScrapeAll(ctx context.Context) []model.Scrape {
	var out []model.Scrape
	r.forward(len(r.arrival), func(s model.Scrape) {
		if ctx.Err() == nil {
			out = append(out, s)
		}
	})
	return out
}

// Until yields, in order, every record that reached the recording
// resiltop's Store at or before t (every record when t is zero), and the
// error of a record that cannot be read.
func (r *Replay) Until(t time.Time) iter.Seq2[model.Scrape, error] {
	return func(yield func(model.Scrape, error) bool) {
		for i, a := range r.arrival {
			if !t.IsZero() && a.After(t) {
				return
			}
			s, err := r.file.Read(i)
			if !yield(s, err) || err != nil {
				return
			}
		}
	}
}
