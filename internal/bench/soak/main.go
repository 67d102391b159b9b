// Command soak is resiltop's reliability soak (issue 12): resiltop's
// Source, Store and UI model — the UI driven headless, Update and View
// called as tea.Program would — watch loopback targets whose behaviour
// switches every few seconds at random (healthy, refuse, hang, drip,
// HTTP 500, HTML, garbage, oversized, gzip bomb, series explosion, type
// change, counter reset, NaN, vanishing series, TLS failure, broken
// histogram). Every few seconds it checks invariants: the screen
// refreshed; healthy targets' rates and quantiles match what each target
// knows to be true; no quantile is shown from a broken histogram; the
// screen shows "—" exactly where the snapshot has no value; goroutines
// and heap stay bounded and the heap does not grow once history is full;
// and after shutdown no goroutine is left. It prints the seed first and
// exits 1 on any violation, with the command that reproduces the run.
//
//	go run ./internal/bench/soak -duration 10m -targets 100 [-seed N]
//	go run ./internal/bench/soak -prometheus -duration 3m -targets 20 -interval 2s -window 20s
//	go run ./internal/bench/soak -admin -cycles 1000 [-seed N]
//
// The second form is fleet mode: Debian's prometheus scrapes the targets
// and resiltop reads them from it. The third is the admin soak (admin.go):
// force-open/close cycles against pgsim through a fault-injecting proxy.
// docs/RELIABILITY.md has the figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"resiltop/internal/admin"
	"resiltop/internal/bench/procstat"
	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/scrape"
	"resiltop/internal/scrape/promtest"
	"resiltop/internal/ui"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// config is the parsed command line.
type config struct {
	duration, interval, window, history, checkEvery time.Duration
	minDwell, maxDwell                              time.Duration
	targets, maxSeries, maxGoroutines               int
	bodyLimit                                       int64
	maxHeap                                         uint64
	seed                                            uint64
	healthyShare                                    float64
	faults                                          []fault // the behaviours targets switch between

	admin      bool
	cycles     int
	prometheus bool     // fleet mode: a real Prometheus scrapes the targets, resiltop asks it
	args       []string // the command line, to print with the seed

	// corrupt and misrender alter the snapshots (see probe), wrapSwitch
	// the admin switch; only the soak's tests set them, to prove that the
	// checks fail.
	corrupt, misrender func(*model.Snapshot) *model.Snapshot
	wrapSwitch         func(admin.Switch) admin.Switch
	// leak, when set, is started as a goroutine that never ends; only the
	// soak's tests set it, to prove that the leak check fails.
	leak func()
}

// timeout is the scrape timeout resiltop derives from the interval.
func (c config) timeout() time.Duration {
	return scrape.Target{Interval: c.interval}.WithDefaults().Timeout
}

// skew is how far apart a page's time stamp (its scrape's start) and the
// moment the target computed it can be: up to the timeout of whoever
// scraped it, resiltop or, in fleet mode, Prometheus.
func (c config) skew() time.Duration {
	if c.prometheus {
		return max(c.timeout(), promtest.ScrapeInterval)
	}
	return c.timeout()
}

// lag is how long after a target changes behaviour every scrape of the
// old one has been read: two intervals and a timeout, and in fleet mode
// Prometheus's scrape interval on top.
func (c config) lag() time.Duration {
	d := 2*c.interval + c.timeout()
	if c.prometheus {
		d += promtest.ScrapeInterval
	}
	return d
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, code := parseFlags(args, stderr)
	if code >= 0 {
		return code
	}
	return execute(cfg, stdout, stderr)
}

// parseFlags returns the configuration, or an exit code ≥ 0 to stop with.
func parseFlags(args []string, stderr io.Writer) (config, int) {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	var bodyMiB, heapMiB int
	fs.DurationVar(&cfg.duration, "duration", 10*time.Minute, "length of the run")
	fs.IntVar(&cfg.targets, "targets", 100, "loopback targets (every fourth over https)")
	fs.Uint64Var(&cfg.seed, "seed", 0, "random seed; 0 picks one (printed, to reproduce the run)")
	fs.DurationVar(&cfg.interval, "interval", time.Second, "scrape interval (resiltop's --interval)")
	fs.DurationVar(&cfg.window, "window", 10*time.Second, "the UI's window of rates and quantiles")
	fs.DurationVar(&cfg.history, "history", 2*time.Minute, "history kept (resiltop's --history)")
	fs.IntVar(&cfg.maxSeries, "max-series", 20_000, "series per page (resiltop's --max-series)")
	fs.IntVar(&bodyMiB, "body-limit-mib", 8, "body limit in MiB (resiltop's --body-limit)")
	fs.DurationVar(&cfg.checkEvery, "check", 5*time.Second, "how often the invariants are checked")
	fs.DurationVar(&cfg.minDwell, "min-dwell", 2*time.Second, "shortest time a target keeps a behaviour")
	fs.DurationVar(&cfg.maxDwell, "max-dwell", 12*time.Second, "longest time a target keeps a behaviour")
	fs.Float64Var(&cfg.healthyShare, "healthy", 0.4, "share of behaviour switches that go to healthy (when -faults has it)")
	faults := fs.String("faults", "", "comma-separated behaviours to switch between (default every one): "+strings.Join(faultFlags[:], ","))
	fs.BoolVar(&cfg.prometheus, "prometheus", false, "fleet mode: Debian's prometheus scrapes the targets (all http) and resiltop reads them from it")
	fs.BoolVar(&cfg.admin, "admin", false, "run the admin soak instead: force-open/close cycles against pgsim")
	fs.IntVar(&cfg.cycles, "cycles", 1000, "admin soak: force-open/close cycles")
	fs.IntVar(&heapMiB, "max-heap-mib", 0, "heap-in-use bound in MiB; 0 derives it from -targets and -body-limit-mib")
	fs.IntVar(&cfg.maxGoroutines, "max-goroutines", 0, "goroutine bound; 0 derives it from -targets")
	if err := fs.Parse(args); err != nil {
		return cfg, 2
	}
	cfg.args = args
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "soak: unexpected arguments %q\n", fs.Args())
		return cfg, 2
	case cfg.duration <= 0 || cfg.interval <= 0 || cfg.window <= 0 || cfg.history <= 0 || cfg.checkEvery <= 0:
		fmt.Fprintln(stderr, "soak: -duration, -interval, -window, -history and -check must be positive")
		return cfg, 2
	case cfg.targets < 1 || cfg.maxSeries < 1 || bodyMiB < 1 || cfg.cycles < 1:
		fmt.Fprintln(stderr, "soak: -targets, -max-series, -body-limit-mib and -cycles must be at least 1")
		return cfg, 2
	case cfg.minDwell <= 0 || cfg.maxDwell < cfg.minDwell:
		fmt.Fprintln(stderr, "soak: need 0 < -min-dwell ≤ -max-dwell")
		return cfg, 2
	case cfg.healthyShare < 0 || cfg.healthyShare > 1:
		fmt.Fprintln(stderr, "soak: -healthy must be between 0 and 1")
		return cfg, 2
	}
	var err error
	if cfg.faults, err = parseFaults(*faults); err != nil {
		fmt.Fprintf(stderr, "soak: -faults: %v\n", err)
		return cfg, 2
	}
	cfg.bodyLimit = int64(bodyMiB) << 20
	// A third of the targets may be reading a page up to the body limit at
	// once (a gzip bomb, an oversized page: a fifth of the behaviours, and
	// slow readers pile up on a loaded machine); the store (bounded by
	// -history), the snapshots, the screen and the fake targets' pages fit
	// in 128 MiB beside them.
	cfg.maxHeap = uint64(heapMiB) << 20
	if heapMiB == 0 {
		cfg.maxHeap = 128<<20 + uint64(cfg.targets)*uint64(cfg.bodyLimit)/3
	}
	// Per target: its scrape worker, a client connection's two goroutines,
	// the server's listener, connection and handler goroutines, and a
	// timer; twice that for connections closed and reopened.
	if cfg.maxGoroutines == 0 {
		cfg.maxGoroutines = 100 + 10*cfg.targets
	}
	if cfg.seed == 0 {
		cfg.seed = rand.Uint64()
	}
	return cfg, -1
}

func execute(cfg config, stdout, stderr io.Writer) int {
	if cfg.admin {
		return adminSoak(cfg, stdout, stderr)
	}
	fmt.Fprintf(stdout, "soak: seed %d, %d targets, %s, interval %s, window %s, history %s, max-series %d, body limit %d MiB\n",
		cfg.seed, cfg.targets, cfg.duration, cfg.interval, cfg.window, cfg.history, cfg.maxSeries, cfg.bodyLimit>>20)
	if cfg.prometheus {
		fmt.Fprintln(stdout, "fleet mode: Debian's prometheus scrapes the targets every second; resiltop reads them from its HTTP API")
	}
	fmt.Fprintf(stdout, "machine: %s\n", procstat.Machine())
	res, err := soak(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		fmt.Fprintf(stderr, "soak: reproduce with: %s\n", reproduce(cfg))
		return 1
	}
	res.report(stdout)
	if len(res.c.violations) > 0 {
		fmt.Fprintf(stdout, "FAIL: %d invariant violations (seed %d); reproduce with: %s\n", len(res.c.violations), cfg.seed, reproduce(cfg))
		return 1
	}
	fmt.Fprintf(stdout, "PASS (seed %d)\n", cfg.seed)
	return 0
}

// reproduce is the command that repeats the run: its flags, seed included.
func reproduce(cfg config) string {
	var keep []string
	for i := 0; i < len(cfg.args); i++ {
		a := cfg.args[i]
		switch {
		case a == "-seed" || a == "--seed":
			i++ // and its value
		case strings.HasPrefix(a, "-seed=") || strings.HasPrefix(a, "--seed="):
		default:
			keep = append(keep, a)
		}
	}
	return strings.TrimSpace(fmt.Sprintf("go run ./internal/bench/soak %s -seed %d", strings.Join(keep, " "), cfg.seed))
}

// result is what a soak run measured.
type result struct {
	cfg          config
	c            *checker
	targets      []*target
	scrapes      map[string]int // by outcome: "ok" or the scrape error's kind
	goroutines0  int            // before the run
	goroutinesZ  int            // after shutdown
	peakRSS      int64
	wall         time.Duration
	relistenFail int
}

// soak runs one soak and returns its measurements; err is for a failure
// of the harness itself (a port, a certificate), not of an invariant.
func soak(cfg config) (*result, error) {
	res := &result{cfg: cfg, scrapes: map[string]int{}, goroutines0: quietGoroutines(10 * time.Second)}
	_ = procstat.ResetPeakRSS()
	as, err := newAssets(cfg.bodyLimit, cfg.maxSeries)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15))
	start := time.Now()
	var targets []*target
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	// The Store's options, and each target's candidate profiles from them,
	// as the app has them: its Reader reads pages filtered, as the app's do.
	opts := model.StoreOptions{History: cfg.history, Profiles: profile.Builtin()}
	var specs []scrape.Target
	for i := range cfg.targets {
		// Every fourth target speaks https, except in fleet mode, where
		// Prometheus, not resiltop, would hold the CA.
		t, err := newTarget(i, i%4 == 3 && !cfg.prometheus, as, rng, start)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
		spec := scrape.Target{URL: t.url, Interval: cfg.interval, BodyLimit: cfg.bodyLimit, MaxSeries: cfg.maxSeries,
			Profiles: opts.Candidates(t.url)}
		if t.https {
			spec.HTTP.TLSConfig = commoncfg.TLSConfig{CA: as.caPEM}
		}
		specs = append(specs, spec)
	}
	res.targets = targets
	var src scrape.Source
	stopFleet := func() {}
	if cfg.prometheus {
		prom, stop, err := fleet(cfg, targets)
		if err != nil {
			return nil, err
		}
		stopFleet = sync.OnceFunc(stop)
		defer stopFleet()
		src = prom
	} else if src, err = scrape.New(specs); err != nil {
		return nil, err
	}
	store := model.NewStore(opts)
	pr := &probe{snapshot: store.Snapshot, corrupt: cfg.corrupt, misrender: cfg.misrender}
	c := newChecker(cfg, targets)
	res.c = c

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	updates := make(chan struct{}, 1)
	var scrapesMu sync.Mutex
	wg.Go(func() {
		defer close(updates) // the UI's update listener ends with the source
		src.Run(ctx, func(s model.Scrape) {
			store.Ingest(s)
			s.Page.Release() // as the app's sink does
			scrapesMu.Lock()
			res.scrapes[outcome(s.Err)]++
			scrapesMu.Unlock()
			select {
			case updates <- struct{}{}:
			default:
			}
		})
	})
	wg.Go(func() { schedule(ctx, cfg, targets, rng) })
	if cfg.leak != nil {
		go cfg.leak()
	}

	h := newHeadless(ui.New(ui.Options{
		Snapshot: pr.Snapshot, Updates: updates, ScrapeNow: src.ScrapeNow,
		Interval: cfg.interval, Window: cfg.window, ReadOnly: true, NoColor: true,
	}))
	// Tall and wide enough for every row and column: the checks read them all.
	if err := h.start(220, cfg.targets*depsPerTarget+40); err != nil {
		c.fail("UI", "%v", err)
	}
	loopErr := drive(h, c, pr, cfg, start)
	if loopErr != nil {
		c.fail("UI", "%v", loopErr)
	}
	cancel()
	wg.Wait()
	h.stop()
	for _, t := range targets {
		t.close()
	}
	stopFleet() // its connections to Prometheus end with it
	res.wall = time.Since(start)
	res.goroutinesZ = settleGoroutines(res.goroutines0, 10*time.Second)
	if extra := res.goroutinesZ - res.goroutines0; extra > leakSlack {
		c.fail(invLeak, "%d goroutines after shutdown, %d before the run:\n%s", res.goroutinesZ, res.goroutines0, goroutineDump())
	} else {
		c.pass(invLeak)
	}
	if peak, err := procstat.PeakRSS(); err == nil {
		res.peakRSS = peak
	}
	for _, t := range targets {
		res.relistenFail += t.relistenFailures
	}
	return res, nil
}

// fleet starts Debian's prometheus on a free loopback port with its TSDB in
// a temporary directory, has it scrape the targets (job "soak", every
// second) until every one has been scraped twice, and returns resiltop's
// Prometheus source for them, as --prometheus builds it. stop ends
// Prometheus and removes its directory.
func fleet(cfg config, targets []*target) (src *scrape.PromSource, stop func(), err error) {
	dir, err := os.MkdirTemp("", "soak-prometheus-")
	if err != nil {
		return nil, nil, err
	}
	prom, reason, err := promtest.StartMain(dir)
	if prom == nil {
		_ = os.RemoveAll(dir)
		if err == nil {
			err = errors.New(reason)
		}
		return nil, nil, err
	}
	stop = func() {
		prom.Stop()
		_ = os.RemoveAll(dir)
	}
	addrs := make([]string, len(targets))
	for i, t := range targets {
		t.key, addrs[i] = t.addr, t.addr // a fleet's member is its instance label
	}
	if _, err := prom.Scrape("soak", addrs...); err != nil {
		stop()
		return nil, nil, err
	}
	if err := prom.WaitScraped("soak", len(targets), 2); err != nil {
		stop()
		return nil, nil, err
	}
	var families []string
	for _, p := range profile.Builtin() {
		families = append(families, p.Families()...)
	}
	slices.Sort(families)
	src, err = scrape.NewProm(scrape.PromConfig{
		URL: prom.URL, Selector: `{job="soak"}`, Families: slices.Compact(families),
		Interval: cfg.interval, BodyLimit: cfg.bodyLimit, MaxSeries: cfg.maxSeries,
	})
	if err != nil {
		stop()
		return nil, nil, err
	}
	return src, stop, nil
}

// drive runs the UI until the run's end: messages to Update, View a few
// times a second as a renderer would, and the checks every checkEvery.
func drive(h *headless, c *checker, pr *probe, cfg config, start time.Time) error {
	end := time.NewTimer(cfg.duration)
	defer end.Stop()
	render := time.NewTicker(250 * time.Millisecond)
	defer render.Stop()
	checks := time.NewTicker(cfg.checkEvery)
	defer checks.Stop()
	for {
		select {
		case <-end.C:
			return nil
		case msg := <-h.msgs:
			if err := h.update(msg); err != nil {
				return err
			}
			if h.quit {
				return fmt.Errorf("the UI quit by itself")
			}
		case <-render.C:
			if _, err := h.view(); err != nil {
				return err
			}
		case now := <-checks.C:
			screen, err := h.view()
			if err != nil {
				return err
			}
			c.check(now, start, screen, pr)
		}
	}
}

// leakSlack is how many goroutines more than before the run may remain
// after shutdown, once they had 10 s to wind down: none.
const leakSlack = 0

// settleGoroutines waits up to d for the goroutine count to come back to
// base+leakSlack and returns the last count.
func settleGoroutines(base int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		n := runtime.NumGoroutine()
		if n <= base+leakSlack || time.Now().After(deadline) {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// quietGoroutines returns the goroutine count once it has not changed for
// a second (at most d): what an earlier run left winding down (idle
// connections, timers) must not count as the baseline.
func quietGoroutines(d time.Duration) int {
	deadline := time.Now().Add(d)
	n, since := runtime.NumGoroutine(), time.Now()
	for time.Since(since) < time.Second && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if m := runtime.NumGoroutine(); m != n {
			n, since = m, time.Now()
		}
	}
	return n
}

func goroutineDump() string {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	s := string(buf[:n])
	if len(s) > 8000 {
		s = s[:8000] + "\n…"
	}
	return s
}

// outcome names a scrape's outcome for the report.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if e, ok := err.(*scrape.Error); ok {
		return string(e.Kind)
	}
	return "other"
}

// schedule switches each target to a random behaviour after a random
// dwell, until ctx is done. One goroutine owns the random source, so a
// seed gives the same sequence of behaviours per target.
func schedule(ctx context.Context, cfg config, targets []*target, rng *rand.Rand) {
	next := make([]time.Time, len(targets))
	dwell := func() time.Duration {
		return cfg.minDwell + time.Duration(rng.Int64N(int64(cfg.maxDwell-cfg.minDwell)+1))
	}
	now := time.Now()
	for i := range next {
		next[i] = now.Add(dwell())
	}
	for {
		soonest := 0
		for i := range next {
			if next[i].Before(next[soonest]) {
				soonest = i
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next[soonest])):
		}
		t := targets[soonest]
		t.setFault(pick(rng, cfg.faults, cfg.healthyShare, t.https), rng, time.Now())
		next[soonest] = time.Now().Add(dwell())
	}
}

// pick draws the next behaviour from faults: healthy with the given share
// (when faults has it), else one of the others uniformly (TLS failure only
// for https targets; healthy when nothing else applies).
func pick(rng *rand.Rand, faults []fault, healthyShare float64, https bool) fault {
	var others []fault
	hasHealthy := false
	for _, f := range faults {
		switch {
		case f == healthy:
			hasHealthy = true
		case f != tlsFailure || https:
			others = append(others, f)
		}
	}
	if len(others) == 0 || (hasHealthy && rng.Float64() < healthyShare) {
		return healthy
	}
	return others[rng.IntN(len(others))]
}

// report prints the run's figures.
func (r *result) report(w io.Writer) {
	cfg, c := r.cfg, r.c
	https := 0
	for _, t := range r.targets {
		if t.https {
			https++
		}
	}
	fmt.Fprintf(w, "\nran %s: %d targets (%d over https), %d dependencies\n", r.wall.Round(time.Second), len(r.targets), https, len(r.targets)*depsPerTarget)
	fmt.Fprintf(w, "%-18s %8s %10s\n", "behaviour", "begun", "answered")
	for f := range numFaults {
		var begun int
		var answered int64
		for _, t := range r.targets {
			t.mu.Lock()
			begun += t.entered[f]
			t.mu.Unlock()
			answered += t.served[f].Load()
		}
		fmt.Fprintf(w, "%-18s %8d %10d\n", f, begun, answered)
	}
	var kinds []string
	for k := range r.scrapes {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.scrapes[k]))
	}
	fmt.Fprintf(w, "scrapes ingested: %s\n", strings.Join(parts, ", "))
	fmt.Fprintln(w, "invariant checks passed:")
	for _, inv := range invariants {
		fmt.Fprintf(w, "  %-40s %d\n", inv, c.passed[inv])
	}
	fmt.Fprintf(w, "  (%d dependency readings compared with their truth, %d screen cells with their snapshot)\n", c.ratesDeps, c.cells)
	fmt.Fprintf(w, "peak heap in use %s (bound %s), peak live heap %s, peak RSS %s\n",
		mib(c.peakHeap), mib(cfg.maxHeap), mib(c.peakLive), mib(uint64(max(0, r.peakRSS))))
	if c.liveByPhase[1] > 0 {
		fmt.Fprintf(w, "live heap after warm-up: first half peak %s, second half peak %s\n", mib(c.liveByPhase[0]), mib(c.liveByPhase[1]))
	}
	fmt.Fprintf(w, "goroutines: %d before, peak %d (bound %d), %d after shutdown\n", r.goroutines0, c.peakG, cfg.maxGoroutines, r.goroutinesZ)
	if r.relistenFail > 0 {
		fmt.Fprintf(w, "note: %d times a refusing target's port could not be bound again (it kept refusing)\n", r.relistenFail)
	}
	fmt.Fprintf(w, "load at the end: %s\n", procstat.LoadAvg())
	fmt.Fprintln(w, "\nwhat the user saw, per behaviour (targets that held it ≥ 2 intervals + timeout):")
	fmt.Fprintln(w, "| behaviour | readings | target error shown | rows stale | CALLS/s — | p99 — |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for f := range numFaults {
		o := c.matrix[f]
		if o.readings == 0 {
			fmt.Fprintf(w, "| %s | 0 | | | | |\n", f)
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s |\n", f, o.readings, strings.Join(o.topErrors(2), "; "),
			pct(o.stale, o.rows), pct(o.callsUnknown, o.rows), pct(o.p99Unknown, o.rows))
	}
	if len(c.violations) > 0 {
		fmt.Fprintf(w, "\nviolations (%d, first 20):\n", len(c.violations))
		for _, v := range c.violations[:min(20, len(c.violations))] {
			fmt.Fprintln(w, "  "+v)
		}
	}
}

func pct(n, of int) string {
	if of == 0 {
		return "—"
	}
	return fmt.Sprintf("%d%%", 100*n/of)
}
