package app

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"sync/atomic"
	"time"

	"resiltop/internal/config"
	"resiltop/internal/model"
	"resiltop/internal/record"
	"resiltop/internal/scrape"
	"resiltop/internal/ui"
)

// replay runs --replay FILE: the TUI over the recording, or with --once
// the report as it stood at --at (default the recording's end).
func replay(ctx context.Context, cfg *config.Config, opts model.StoreOptions, env Env) int {
	f, ok := openRecording(cfg.Replay, env)
	if !ok {
		return ExitUsage
	}
	defer f.Close()
	torn := ""
	if n := f.Skipped(); n > 0 {
		torn = "last record cut short, " + strconv.FormatInt(n, 10) + " bytes skipped"
		fmt.Fprintf(env.Stderr, "resiltop: %s: the last record was cut short (recording interrupted?): skipped its %d bytes\n", cfg.Replay, n)
	}
	interval := cfg.Interval
	if m := f.Meta(); m.Interval > 0 {
		interval = m.Interval
	}
	if cfg.Once || !env.Terminal {
		return onceReplay(cfg, opts, scrape.NewReplay(f, nil, nil), env)
	}
	if err := watchReplay(ctx, cfg, opts, f, interval, torn); err != nil {
		fmt.Fprintf(env.Stderr, "resiltop: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

// openRecording opens a recording for --replay or report; a file that is
// no recording, is damaged or holds no scrape is reported on stderr.
func openRecording(path string, env Env) (*record.File, bool) {
	f, err := record.Open(path)
	if err != nil {
		fmt.Fprintf(env.Stderr, "resiltop: cannot read the recording: %v\n", err)
		return nil, false
	}
	if f.Len() == 0 {
		f.Close()
		fmt.Fprintf(env.Stderr, "resiltop: %s holds no scrape\n", path)
		return nil, false
	}
	return f, true
}

// onceReplay ingests every record that had reached the recording
// resiltop's Store at --at and prints the snapshot at --at, over --window.
func onceReplay(cfg *config.Config, opts model.StoreOptions, rp *scrape.Replay, env Env) int {
	first, end := rp.Arrival(0), rp.Arrival(rp.Len()-1)
	at := cfg.At
	switch {
	case at.IsZero():
		at = end
	case at.Before(first.Truncate(time.Second)) || at.After(end):
		return usage(env, fmt.Errorf("--at %s is outside the recording (%s to %s)",
			at.UTC().Format(time.RFC3339), first.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339)))
	case at.Before(first):
		// The start as printed, in whole seconds: the first scrape.
		at = first
	}
	store := model.NewStore(opts)
	down := map[string]bool{}
	for s, err := range rp.Until(at) {
		if err != nil {
			fmt.Fprintf(env.Stderr, "resiltop: %s: %v\n", cfg.Replay, err)
			return ExitFailure
		}
		store.Ingest(s)
		down[s.Target] = s.Err != nil
	}
	anyDown := false
	for _, d := range down {
		anyDown = anyDown || d
	}
	return printSnapshot(cfg, store.Snapshot(at, cfg.Window), anyDown, env)
}

// watchReplay runs the TUI over a replay. Its Store is replaced whenever
// the replay rewinds; snapshots are taken at the replayed time.
func watchReplay(ctx context.Context, cfg *config.Config, opts model.StoreOptions, f *record.File, interval time.Duration, torn string) error {
	var cur atomic.Pointer[model.Store]
	cur.Store(model.NewStore(opts))
	updates := make(chan struct{}, 1)
	rp := scrape.NewReplay(f, func(seq iter.Seq[model.Scrape]) {
		st := model.NewStore(opts)
		for s := range seq {
			st.Ingest(s)
		}
		cur.Store(st)
	}, func() { signal(updates) })
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The finding changes { and } jump between, found by a pass of their own.
	go func() {
		tl, _ := model.BuildTimeline(model.NewStore(opts), untilDone(ctx, rp.Until(time.Time{})), cfg.Window, interval)
		if ctx.Err() == nil {
			rp.SetMarks(tl.Marks)
		}
	}()
	uopts := ui.Options{
		Snapshot: func(_ time.Time, w time.Duration) *model.Snapshot { return cur.Load().Snapshot(rp.Now(), w) },
		Updates:  updates,
		Interval: interval,
		Window:   cfg.Window,
		ReadOnly: true,
		NoColor:  cfg.NoColor,
		Mouse:    cfg.Mouse,
		Replay:   replayControl{rp},
	}
	if torn != "" {
		uopts.Note = func() string { return torn }
	}
	return runUI(ctx, rp, func(s model.Scrape) { cur.Load().Ingest(s) }, updates, uopts)
}

// untilDone stops seq once ctx is done.
func untilDone(ctx context.Context, seq iter.Seq2[model.Scrape, error]) iter.Seq2[model.Scrape, error] {
	return func(yield func(model.Scrape, error) bool) {
		for s, err := range seq {
			if ctx.Err() != nil || !yield(s, err) {
				return
			}
		}
	}
}

// replayControl is a Replay as the UI drives it.
type replayControl struct{ *scrape.Replay }

// State reports the replay's place for the header.
func (c replayControl) State() ui.ReplayState {
	st := c.Status()
	out := ui.ReplayState{Now: st.Now, Pos: st.Pos, Total: st.Total, Speed: st.Speed, Paused: st.Paused, Marked: st.Marked}
	if st.Err != nil {
		out.Err = st.Err.Error()
	}
	return out
}
