package scrape

import (
	"context"
	"errors"
	"iter"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"resiltop/internal/model"
	"resiltop/internal/record"
)

var rt0 = time.Date(2026, 11, 21, 3, 4, 5, 0, time.UTC)

// replayFile records n scrapes of one target 1 s apart (each taking 100 ms)
// and opens the recording.
func replayFile(t *testing.T, n int) *record.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.rec")
	w, err := record.Create(path, record.Meta{Started: rt0, Interval: time.Second}, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := ParsePage([]byte("# TYPE resilience_calls_total counter\nresilience_calls_total{dependency=\"pg\",outcome=\"success\"} 1\n"), "text/plain", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		s := model.Scrape{Target: "http://127.0.0.1:9102/metrics", Time: rt0.Add(time.Duration(i) * time.Second),
			Duration: 100 * time.Millisecond, Page: page}
		if i == 2 {
			s.Page, s.Err = nil, errors.New("connection refused")
		}
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	f, err := record.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestReplayTransport drives a replay by its controls: it plays from the
// start, pauses, steps both ways (back by rebuilding from the start), jumps
// between finding changes and clamps its speed; the clock is the arrival
// of the last scrape emitted.
func TestReplayTransport(t *testing.T) {
	f := replayFile(t, 8)
	var mu sync.Mutex
	var emitted []time.Time
	var rebuilt []int
	rp := NewReplay(f, func(seq iter.Seq[model.Scrape]) {
		n := 0
		for range seq {
			n++
		}
		mu.Lock()
		rebuilt = append(rebuilt, n)
		emitted = emitted[:n]
		mu.Unlock()
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		rp.Run(ctx, func(s model.Scrape) {
			mu.Lock()
			emitted = append(emitted, s.Time)
			mu.Unlock()
		})
	}()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for rp.Status().Pos < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	rp.TogglePause()
	st := rp.Status()
	if !st.Paused || st.Pos < 1 || st.Total != 8 {
		t.Fatalf("after pause: %+v", st)
	}
	check := func(what string, pos int) {
		t.Helper()
		st := rp.Status()
		mu.Lock()
		n := len(emitted)
		mu.Unlock()
		clock := rt0 // before any scrape: the first one's start
		if pos > 0 {
			clock = rt0.Add(time.Duration(pos-1)*time.Second + 100*time.Millisecond)
		}
		if st.Pos != pos || n != pos || !st.Now.Equal(clock) {
			t.Errorf("%s: at %d (clock %v), %d scrapes in the model; want %d", what, st.Pos, st.Now, n, pos)
		}
	}
	start := rp.Status().Pos
	rp.Step(1)
	check("step forward", start+1)
	rp.Step(-1)
	check("step back", start)
	rp.JumpFinding(1) // no marks yet: nothing
	check("jump without marks", start)
	rp.SetMarks([]int{3, 6})
	rp.JumpFinding(1)
	check("next finding change", 3)
	rp.JumpFinding(1)
	check("next finding change again", 6)
	rp.JumpFinding(-1)
	check("previous finding change", 3)
	rp.Step(-10)
	check("step back past the start", 0)
	rp.Step(20)
	check("step past the end", 8)
	for range 10 {
		rp.Faster()
	}
	if s := rp.Status().Speed; s != MaxSpeed {
		t.Errorf("speed %v after ten doublings, want %v", s, MaxSpeed)
	}
	rp.Slower()
	if s := rp.Status().Speed; s != MaxSpeed/2 {
		t.Errorf("speed %v, want %v", s, MaxSpeed/2)
	}
	mu.Lock()
	if len(rebuilt) != 3 || rebuilt[0] != start || rebuilt[1] != 3 || rebuilt[2] != 0 {
		t.Errorf("rebuilds with %v scrapes, want [%d 3 0]", rebuilt, start)
	}
	mu.Unlock()
}

// TestReplayPlaysOnItsClock: at ×64 the 7 s between the first and last
// scrapes pass in about 0.1 s; Until stops at a moment.
func TestReplayPlaysOnItsClock(t *testing.T) {
	f := replayFile(t, 8)
	rp := NewReplay(f, func(iter.Seq[model.Scrape]) {}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var errs int
	go rp.Run(ctx, func(s model.Scrape) {
		mu.Lock()
		defer mu.Unlock()
		if s.Err != nil {
			errs++
		}
	})
	for range 6 {
		rp.Faster()
	}
	deadline := time.Now().Add(20 * time.Second)
	for rp.Status().Pos < 8 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := rp.Status(); st.Pos != 8 || st.Paused {
		t.Fatalf("status %+v, want every scrape played", st)
	}
	mu.Lock()
	if errs != 1 {
		t.Errorf("%d failed scrapes replayed, want the one recorded", errs)
	}
	mu.Unlock()
	n := 0
	for _, err := range rp.Until(rt0.Add(3*time.Second + 100*time.Millisecond)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 4 {
		t.Errorf("Until 3.1 s yields %d scrapes, want 4", n)
	}
}
