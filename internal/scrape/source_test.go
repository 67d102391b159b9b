package scrape

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resiltop/internal/model"
	"resiltop/internal/scrape/scrapetest"
)

// collector gathers emitted scrapes per target.
type collector struct {
	mu      sync.Mutex
	scrapes map[string][]model.Scrape
	inEmit  atomic.Int32
	overlap atomic.Bool // emit was entered concurrently
}

func (c *collector) emit(s model.Scrape) {
	if c.inEmit.Add(1) > 1 {
		c.overlap.Store(true)
	}
	defer c.inEmit.Add(-1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.scrapes == nil {
		c.scrapes = map[string][]model.Scrape{}
	}
	c.scrapes[s.Target] = append(c.scrapes[s.Target], s)
}

func (c *collector) get(target string) []model.Scrape {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]model.Scrape(nil), c.scrapes[target]...)
}

// run runs src until stop returns true (checked every 10 ms) or 10 s pass.
func run(t *testing.T, src *HTTPSource, c *collector, stop func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { src.Run(ctx, c.emit); close(done) }()
	for ctx.Err() == nil && !stop() {
		time.Sleep(10 * time.Millisecond)
	}
	if ctx.Err() != nil {
		t.Error("condition not reached within 10 s")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestSourceGoodBesideBad runs a good target beside one that hangs and one
// that refuses: the good one keeps its pace and its pages.
func TestSourceGoodBesideBad(t *testing.T) {
	good := scrapetest.ServeBytes(t, textCT, []byte(goodPage))
	hang := scrapetest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { waitForClient(r) })).URL
	refused := "http://" + scrapetest.ClosedAddr(t) + "/metrics"
	const interval = 100 * time.Millisecond
	var targets []Target
	for _, u := range []string{good, hang, refused} {
		targets = append(targets, Target{URL: u, Interval: interval, Timeout: 5 * interval})
	}
	src, err := New(targets)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	start := time.Now()
	run(t, src, c, func() bool { return len(c.get(good)) >= 8 && len(c.get(hang)) >= 1 })
	elapsed := time.Since(start)
	for _, s := range c.get(good) {
		if s.Err != nil || s.Page.Series() != 1 {
			t.Fatalf("good target: %v", s.Err)
		}
	}
	// 8 scrapes at 100 ms need about 0.8 s; the hanging target's 500 ms
	// timeouts must not slow the good one to their pace.
	if elapsed > 3*time.Second {
		t.Errorf("8 good scrapes took %v", elapsed)
	}
	if s := c.get(hang); s[0].Err == nil {
		t.Error("hanging target gave no error")
	}
	if c.overlap.Load() {
		t.Error("emit was called concurrently")
	}
}

// TestSourceNoOverlap makes scrapes slower than the interval and hammers
// ScrapeNow: the target never sees two scrapes at once.
func TestSourceNoOverlap(t *testing.T) {
	var inFlight, maxInFlight, served atomic.Int32
	srv := scrapetest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(80 * time.Millisecond)
		served.Add(1)
		fmt.Fprint(w, goodPage)
	}))
	src, err := New([]Target{{URL: srv.URL, Interval: 20 * time.Millisecond, Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	stopHammer := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stopHammer:
				return
			default:
				src.ScrapeNow()
				time.Sleep(time.Millisecond)
			}
		}
	})
	wg.Go(func() { _ = src.ScrapeAll(context.Background()) })
	run(t, src, c, func() bool { return served.Load() >= 6 })
	close(stopHammer)
	wg.Wait()
	if m := maxInFlight.Load(); m != 1 {
		t.Errorf("%d scrapes of one target overlapped", m)
	}
}

// TestSourceScrapeNow uses an hour-long interval, so every scrape seen is
// one that ScrapeNow asked for.
func TestSourceScrapeNow(t *testing.T) {
	url := scrapetest.ServeBytes(t, textCT, []byte(goodPage))
	src, err := New([]Target{{URL: url, Interval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	for want := 1; want <= 3; want++ {
		run(t, src, c, func() bool {
			src.ScrapeNow()
			return len(c.get(url)) >= want
		})
	}
	if n := len(c.get(url)); n < 3 || n > 9 {
		t.Errorf("%d scrapes", n)
	}
}

func TestSourceScrapeAll(t *testing.T) {
	a := scrapetest.ServeBytes(t, textCT, []byte(goodPage))
	b := "http://" + scrapetest.ClosedAddr(t)
	src, err := New([]Target{{URL: a}, {URL: b}})
	if err != nil {
		t.Fatal(err)
	}
	got := src.ScrapeAll(context.Background())
	if len(got) != 2 || got[0].Target != a || got[0].Err != nil || got[1].Target != b || got[1].Err == nil {
		t.Fatalf("ScrapeAll = %+v", got)
	}
	if ts := src.Targets(); len(ts) != 2 || ts[0].Interval != DefaultInterval {
		t.Errorf("Targets() = %+v", ts)
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

// TestSourceBacksOffOversizedPages: a page over the body limit is retried
// after 2, 4, 8… intervals, not every interval, while a good target beside
// it keeps its pace. Counting against the good target's scrapes keeps the
// test independent of the machine's speed.
func TestSourceBacksOffOversizedPages(t *testing.T) {
	good := scrapetest.ServeBytes(t, textCT, []byte(goodPage))
	big := scrapetest.ServeBytes(t, textCT, []byte(strings.Repeat("# padding\n", 100)+goodPage))
	src, err := New([]Target{
		{URL: good, Interval: 20 * time.Millisecond},
		{URL: big, Interval: 20 * time.Millisecond, BodyLimit: 100},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	run(t, src, c, func() bool { return len(c.get(good)) >= 40 })
	bigs := c.get(big)
	var se *Error
	if len(bigs) == 0 || !errors.As(bigs[0].Err, &se) || se.Kind != KindTooLarge {
		t.Fatalf("the oversized target's scrapes: %v", bigs)
	}
	// 40 intervals with skips of 1, 2, 4, 8, 16 leave 5 or 6 scrapes.
	if n := len(bigs); n < 3 || n > 10 {
		t.Errorf("oversized target scraped %d times in the good target's %d; want it to back off", n, len(c.get(good)))
	}
}
