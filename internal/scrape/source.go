package scrape

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"resiltop/internal/model"
)

// Source yields scrape results: live targets over HTTP (HTTPSource), and
// the other implementations DESIGN.md §2 names. Every Source hands the same
// model.Scrape to the Store, so the model and the UI cannot tell them apart.
type Source interface {
	// Run produces scrapes until ctx is done and hands each to emit; emit is
	// never called concurrently and not after Run returns.
	Run(ctx context.Context, emit func(model.Scrape))
	// ScrapeNow asks for fresh scrapes at once (the UI's refresh key); it
	// never blocks.
	ScrapeNow()
	// ScrapeAll scrapes every target once and returns the results, for
	// one-shot use (--once).
	ScrapeAll(ctx context.Context) []model.Scrape
}

// HTTPSource scrapes a set of targets over HTTP, each on its own ticker.
type HTTPSource struct {
	workers []*worker
	emitMu  sync.Mutex // serializes emit, so callers need no locking of their own
}

// worker owns one target: one goroutine, so scrapes of it never overlap.
type worker struct {
	scraper *Scraper
	now     chan struct{} // ScrapeNow requests; capacity 1 coalesces them
	busy    atomic.Bool   // a scrape is in flight; a ScrapeNow then rides on it
}

// New builds a Source for targets; it fails on an invalid target or HTTP
// configuration, naming the target.
func New(targets []Target) (*HTTPSource, error) {
	if len(targets) == 0 {
		return nil, errors.New("no targets")
	}
	s := &HTTPSource{}
	for _, t := range targets {
		sc, err := NewScraper(t)
		if err != nil {
			return nil, err
		}
		s.workers = append(s.workers, &worker{scraper: sc, now: make(chan struct{}, 1)})
	}
	return s, nil
}

// Targets returns the targets with their defaults filled in, in the order given.
func (s *HTTPSource) Targets() []Target {
	out := make([]Target, len(s.workers))
	for i, w := range s.workers {
		out[i] = w.scraper.Target()
	}
	return out
}

// Run scrapes every target until ctx is done and hands each result to emit.
// Each target starts after a random fraction of its interval, so many targets
// do not fire in step, then scrapes once per interval; a scrape slower than
// the interval delays the next one rather than overlapping it. emit is never
// called concurrently and not after Run returns; results of scrapes cut short
// by ctx are dropped.
func (s *HTTPSource) Run(ctx context.Context, emit func(model.Scrape)) {
	var wg sync.WaitGroup
	for _, w := range s.workers {
		wg.Go(func() { s.loop(ctx, w, emit) })
	}
	wg.Wait()
}

func (s *HTTPSource) loop(ctx context.Context, w *worker, emit func(model.Scrape)) {
	interval := w.scraper.Target().Interval
	first := time.NewTimer(rand.N(interval))
	defer first.Stop()
	select {
	case <-ctx.Done():
		return
	case <-first.C:
	case <-w.now:
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var skip, penalty int // scheduled scrapes to skip now; after the next oversized page
	for {
		if oversized(s.scrapeAndEmit(ctx, w, emit)) {
			penalty = min(max(1, 2*penalty), maxBackoffTicks(interval))
			skip = penalty
		} else {
			skip, penalty = 0, 0
		}
		if !w.wait(ctx, tick, interval, skip) {
			return
		}
	}
}

// wait returns at the next scheduled scrape after skipping skip ticks, or
// at once on ScrapeNow; false when ctx is done.
func (w *worker) wait(ctx context.Context, tick *time.Ticker, interval time.Duration, skip int) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
			if skip == 0 {
				return true
			}
			skip--
		case <-w.now:
			// Restart the period so a manual scrape is not followed at once by a scheduled one.
			tick.Reset(interval)
			return true
		}
	}
}

// oversized reports an error that the next scrape will repeat: a page over
// the body or series limit does not shrink in one interval, and fetching
// it in full every second costs hundreds of MB and a third of a core. Such
// a target backs off (2, 4, 8… intervals, at most a minute); other errors
// are retried at the interval, and ScrapeNow always scrapes at once.
func oversized(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Kind == KindTooLarge || e.Kind == KindTooManySeries)
}

// maxBackoffTicks is how many intervals make up the longest backoff, a minute.
func maxBackoffTicks(interval time.Duration) int {
	return max(1, int(time.Minute/interval))
}

// scrapeAndEmit scrapes w's target, hands the result to emit and returns its error.
func (s *HTTPSource) scrapeAndEmit(ctx context.Context, w *worker, emit func(model.Scrape)) error {
	w.busy.Store(true)
	res := w.scraper.Scrape(ctx)
	w.busy.Store(false)
	if ctx.Err() != nil {
		return nil
	}
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	emit(res)
	return res.Err
}

// ScrapeNow asks every target for an immediate scrape (the UI's refresh key).
// A target with a scrape in flight counts that one; requests made while one
// is pending coalesce. It never blocks.
func (s *HTTPSource) ScrapeNow() {
	for _, w := range s.workers {
		if w.busy.Load() {
			continue
		}
		select {
		case w.now <- struct{}{}:
		default:
		}
	}
}

// ScrapeAll scrapes every target once, concurrently, and returns the results
// in target order; for one-shot use (--once).
func (s *HTTPSource) ScrapeAll(ctx context.Context) []model.Scrape {
	out := make([]model.Scrape, len(s.workers))
	var wg sync.WaitGroup
	for i, w := range s.workers {
		wg.Go(func() { out[i] = w.scraper.Scrape(ctx) })
	}
	wg.Wait()
	return out
}
