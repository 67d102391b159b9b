// Command scale is resiltop's scale benchmark (DESIGN.md §8, issue 3):
// N loopback targets of about 2k series each, scraped at an interval by the
// real pipeline — scrape.Source → model.Store.Ingest, plus the Store.Snapshot
// calls the UI makes — and, in the same run, by a baseline of bare HTTP GET
// and expfmt decode with no store, so the cost can be quoted as a ratio.
// For each phase it reports CPU seconds per wall second and peak RSS (VmHWM)
// of this process only, and scrapes done and failed.
//
//	go run ./internal/bench/scale -targets 100 -series 2000 -interval 1s -duration 30s
//	go run ./internal/bench/scale -record …   # a third phase that also records
//
// The targets are served by a child process (this binary re-executed with
// -serve), not by goroutines here: encoding and compressing the pages is
// the watched services' work, and getrusage(RUSAGE_SELF) of a process that
// also served them would count it as resiltop's. The child's CPU is
// reported separately. All its targets serve one page, encoded once per
// generation and advanced when a target that has seen the current values
// asks again (about once an interval), so that 1,000 targets do not need
// a core of encoding. It listens on 127.0.0.1 only and exits when this
// process closes its stdin, or at its own deadline if this one died, so
// the run is bounded: each phase lasts -duration, baseline first.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"resiltop/internal/bench/procstat"
	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/record"
	"resiltop/internal/scrape"
	"resiltop/internal/ui"
)

// goalCPU is DESIGN.md §8's bar for the resiltop side: a quarter of one core.
const goalCPU = 0.25

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// config is the parsed command line.
type config struct {
	targets, series    int
	interval, duration time.Duration
	window             time.Duration
	text, gzip         bool
	refresh            string
	cpuprofile         string
	record             bool
}

// run is main with its process surroundings passed in, so a test can drive
// it (and its child) end to end. It returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	var format string
	var serveFor time.Duration
	child := fs.Bool("serve", false, "internal: run as the child process that serves the targets")
	fs.DurationVar(&serveFor, "serve-for", time.Minute, "internal: the child's deadline")
	fs.IntVar(&cfg.targets, "targets", 100, "loopback targets")
	fs.IntVar(&cfg.series, "series", 2000, "Prometheus series per target (rounded up to whole dependencies of 120)")
	fs.DurationVar(&cfg.interval, "interval", time.Second, "scrape interval")
	fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "length of each phase (baseline, then resiltop)")
	fs.DurationVar(&cfg.window, "window", time.Minute, "window of the UI's snapshots")
	fs.StringVar(&format, "format", "protobuf", "what the targets serve: protobuf (negotiated, as client_golang does) or text")
	fs.BoolVar(&cfg.gzip, "gzip", true, "targets gzip their pages when asked, as client_golang does")
	fs.StringVar(&cfg.refresh, "refresh", "interval",
		"UI snapshots: interval (one per -interval, the UI's timer) or ui (as the TUI refreshes: the timer plus ingest signals spaced by ui.RefreshGap)")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of the resiltop phase (with -record, of the recording phase) to this file")
	fs.BoolVar(&cfg.record, "record", false, "add a phase that also records every scrape (--record), to a temporary file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case format != "protobuf" && format != "text":
		fmt.Fprintln(stderr, "scale: -format must be protobuf or text")
		return 2
	case cfg.refresh != "interval" && cfg.refresh != "ui":
		fmt.Fprintln(stderr, "scale: -refresh must be interval or ui")
		return 2
	case cfg.targets < 1 || cfg.interval <= 0 || cfg.duration <= 0 || cfg.window <= 0:
		fmt.Fprintln(stderr, "scale: -targets, -interval, -duration and -window must be positive")
		return 2
	}
	cfg.text = format == "text"
	if *child {
		sc := serveConfig{targets: cfg.targets, series: cfg.series, text: cfg.text, gzip: cfg.gzip, life: serveFor}
		if err := serve(sc, stdin, stdout); err != nil {
			fmt.Fprintf(stderr, "scale: serving: %v\n", err)
			return 1
		}
		return 0
	}
	if err := bench(cfg, format, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "scale: %v\n", err)
		return 1
	}
	return 0
}

// bench starts the child, runs both phases and prints the report.
func bench(cfg config, format string, stdout, stderr io.Writer) error {
	p, err := newPage(cfg.series, cfg.text, cfg.gzip) // validates -series before a child starts
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "scale: %d targets × %d series (%s, gzip %t), interval %s, %s per phase, UI snapshots per %s\n",
		cfg.targets, p.series, format, cfg.gzip, cfg.interval, cfg.duration, cfg.refresh)
	fmt.Fprintf(stdout, "machine: %s\n", procstat.Machine())

	srv, err := startChild(cfg, format, stderr)
	if err != nil {
		return err
	}
	defer srv.stop()

	base := measure("baseline", srv.pid, cfg.duration, func(ctx context.Context, r *result) {
		baseline(ctx, srv.urls, cfg.interval, r)
	})
	var res result
	err = profiled(cfg.cpuprofile, !cfg.record, func() {
		res = measure("resiltop", srv.pid, cfg.duration, func(ctx context.Context, r *result) {
			pipeline(ctx, srv.urls, cfg, nil, r)
		})
	})
	if err != nil {
		return err
	}
	report(stdout, cfg, base, res)
	if cfg.record {
		return recordPhase(cfg, srv, res, stdout)
	}
	return nil
}

// recordPhase runs the pipeline again, recording every scrape to a
// temporary file as --record does, and reports its cost against the
// resiltop phase just measured, and the bytes each scrape added.
func recordPhase(cfg config, srv *child, res result, stdout io.Writer) error {
	dir, err := os.MkdirTemp("", "scale-record")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	w, err := record.Create(filepath.Join(dir, "scale.rec"), record.Meta{Started: time.Now(), Interval: cfg.interval},
		record.Options{Limit: 1 << 40, Keep: record.KeepFamilies(profile.Builtin())})
	if err != nil {
		return err
	}
	var rec result
	err = profiled(cfg.cpuprofile, true, func() {
		rec = measure("recording", srv.pid, cfg.duration, func(ctx context.Context, r *result) {
			pipeline(ctx, srv.urls, cfg, w, r)
		})
	})
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-9s %8d %7d %9.3f %8.2fms %8s %8s %9s\n", rec.name, rec.ok, rec.failed, rec.cpu(), rec.perScrape(),
		rec.user.Round(time.Millisecond), rec.sys.Round(time.Millisecond), mib(rec.peak))
	n := rec.ok + rec.failed
	if n == 0 || res.perScrape() == 0 {
		return errors.New("the recording phase scraped nothing")
	}
	// The verdict is judged on Write's own CPU within this phase: the
	// phases' direct ratio compares two runs under different loads, and on
	// a shared machine it moves by more than the effect.
	share := rec.writeCPU.Seconds() / (rec.user + rec.sys).Seconds()
	adds := share / (1 - share)
	verdict := "met"
	if adds > 0.10 {
		verdict = "MISSED"
	}
	fmt.Fprintf(stdout, "recording: %d records, %d bytes per scrape, Write %.3f ms per scrape, %.3f ms of it CPU\n",
		w.Records(), w.Size()/int64(max(1, w.Records())), ms(rec.write)/float64(n), ms(rec.writeCPU)/float64(n))
	fmt.Fprintf(stdout, "recording adds %.1f%% (Write is %.1f%% of the phase's CPU); goal ≤ 10%%: %s\n", 100*adds, 100*share, verdict)
	fmt.Fprintf(stdout, "ratio recording/resiltop (another phase, another load): CPU/scrape %.2f×, CPU/wall %.2f×\n",
		rec.perScrape()/res.perScrape(), rec.cpu()/res.cpu())
	return nil
}

// child is the running server process.
type child struct {
	cmd   *exec.Cmd
	stdin io.Closer
	pid   int
	urls  []string
}

func startChild(cfg config, format string, stderr io.Writer) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve",
		"-targets", fmt.Sprint(cfg.targets), "-series", fmt.Sprint(cfg.series),
		"-format", format, fmt.Sprintf("-gzip=%t", cfg.gzip),
		"-serve-for", (2*cfg.duration + time.Minute).String())
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, pid: cmd.Process.Pid}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "ready" {
			return c, nil
		}
		c.urls = append(c.urls, sc.Text())
	}
	c.stop()
	return nil, errors.New("the server child exited before it was ready")
}

// stop closes the child's stdin, its signal to shut down, and reaps it.
func (c *child) stop() {
	_ = c.stdin.Close()
	_ = c.cmd.Wait()
}

// profiled runs phase, under a CPU profile written to path when path is
// set and on is true.
func profiled(path string, on bool, phase func()) error {
	if path == "" || !on {
		phase()
		return nil
	}
	stop, err := startProfile(path)
	if err != nil {
		return err
	}
	phase()
	stop()
	return nil
}

func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// result is one phase's measurements.
type result struct {
	name            string
	wall, user, sys time.Duration
	serverCPU       time.Duration // the child's, over the same phase
	peak            int64         // VmHWM in bytes; 0 when unknown
	ok, failed      int
	firstErr        string
	durations       []time.Duration // of the successful scrapes
	// The resiltop phases only: time spent in Ingest, Snapshot and the
	// recording's Write, and the CPU Write used.
	ingest, snapshot, write, writeCPU time.Duration
	snapshots, deps                   int
}

func (r *result) cpu() float64 { return (r.user + r.sys).Seconds() / r.wall.Seconds() }

// perScrape is CPU milliseconds per scrape done or failed: unlike CPU/wall
// it does not improve when a busy machine makes scrapes miss their ticks.
func (r *result) perScrape() float64 {
	if r.ok+r.failed == 0 {
		return 0
	}
	return ms(r.user+r.sys) / float64(r.ok+r.failed)
}

// record counts one scrape; callers serialise it.
func (r *result) record(d time.Duration, err error) {
	if err != nil {
		r.failed++
		if r.firstErr == "" {
			r.firstErr = err.Error()
		}
		return
	}
	r.ok++
	r.durations = append(r.durations, d)
}

// measure runs one phase for d and takes its CPU, wall time and peak RSS.
// The previous phase's garbage is collected and returned to the OS first,
// so it is neither counted nor part of the peak.
func measure(name string, pid int, d time.Duration, phase func(context.Context, *result)) result {
	runtime.GC()
	debug.FreeOSMemory()
	r := result{name: name}
	peakKnown := procstat.ResetPeakRSS() == nil
	u0, s0 := procstat.CPUTime()
	c0, cerr0 := procstat.ProcessCPU(pid)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	phase(ctx, &r)
	cancel()
	r.wall = time.Since(start)
	u1, s1 := procstat.CPUTime()
	r.user, r.sys = u1-u0, s1-s0
	if c1, cerr1 := procstat.ProcessCPU(pid); cerr0 == nil && cerr1 == nil {
		r.serverCPU = c1 - c0
	}
	if peak, err := procstat.PeakRSS(); err == nil && peakKnown {
		r.peak = peak
	}
	return r
}

// pipeline is the resiltop side: the Source scrapes every target into a
// Store, and a stand-in for the UI takes snapshots as it would.
// With w, every scrape is also recorded, as app's sink does.
func pipeline(ctx context.Context, urls []string, cfg config, w *record.Writer, r *result) {
	opts := model.StoreOptions{Profiles: profile.Builtin()}
	targets := make([]scrape.Target, len(urls))
	for i, u := range urls {
		targets[i] = scrape.Target{URL: u, Interval: cfg.interval, Profiles: opts.Candidates(u)}
	}
	src, err := scrape.New(targets)
	if err != nil {
		r.record(0, err)
		return
	}
	store := model.NewStore(opts)
	updates := make(chan struct{}, 1) // as app.watch: one pending signal is enough
	var mu sync.Mutex                 // r is written by emit and by the snapshot loop
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(cfg.interval)
		defer tick.Stop()
		// As the TUI: after an ingest-triggered refresh it listens again
		// only after ui.RefreshGap, signals meanwhile coalescing in
		// updates; its timer refreshes only when ingests have been quiet
		// for two intervals.
		listen, rearm := (<-chan struct{})(updates), (<-chan time.Time)(nil)
		var last time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-rearm:
				listen, rearm = updates, nil
				continue
			case <-tick.C: // the UI's refresh timer, in both modes
				if cfg.refresh == "ui" && time.Since(last) < 2*cfg.interval {
					continue
				}
			case <-listen:
				listen, rearm = nil, time.After(ui.RefreshGap(cfg.interval))
			}
			last = time.Now()
			start := time.Now()
			snap := store.Snapshot(start, cfg.window)
			mu.Lock()
			r.snapshot += time.Since(start)
			r.snapshots++
			r.deps = len(snap.Dependencies)
			mu.Unlock()
		}
	})
	src.Run(ctx, func(s model.Scrape) {
		start := time.Now()
		store.Ingest(s)
		ingested := time.Now()
		var writeCPU time.Duration
		if w != nil {
			// The thread's own CPU clock, not a profile's samples: what
			// Write costs is a few percent of the phase, within the
			// sampling noise of a 20 s profile.
			runtime.LockOSThread()
			c0 := procstat.ThreadCPU()
			_ = w.Write(s) // a failure shows as fewer records in the report
			writeCPU = procstat.ThreadCPU() - c0
			runtime.UnlockOSThread()
		}
		s.Page.Release() // as the app's sink does
		mu.Lock()
		r.ingest += ingested.Sub(start)
		r.write += time.Since(ingested)
		r.writeCPU += writeCPU
		r.record(s.Duration, s.Err)
		mu.Unlock()
		if cfg.refresh == "ui" {
			select {
			case updates <- struct{}{}:
			default:
			}
		}
	})
	wg.Wait()
}

// baseline scrapes the same targets on the same schedule (jittered start,
// then every interval, timeout 80% of it, the same Accept header) with a
// bare GET and expfmt decode into throwaway families: the least any
// scraper must spend.
func baseline(ctx context.Context, urls []string, interval time.Duration, r *result) {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range urls {
		wg.Go(func() {
			first := time.NewTimer(rand.N(interval))
			defer first.Stop()
			select {
			case <-ctx.Done():
				return
			case <-first.C:
			}
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				start := time.Now()
				err := bareScrape(ctx, client, u, interval*8/10)
				if ctx.Err() != nil {
					return // cut short by the end of the phase, as the Source drops it
				}
				mu.Lock()
				r.record(time.Since(start), err)
				mu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
	wg.Wait()
}

func bareScrape(ctx context.Context, client *http.Client, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", scrape.Accept)
	resp, err := client.Do(req) // the transport asks for gzip and decompresses
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	dec := expfmt.NewDecoder(resp.Body, expfmt.Format(resp.Header.Get("Content-Type")))
	for {
		var f dto.MetricFamily
		if err := dec.Decode(&f); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// report prints both phases, the ratio and the verdict against the goal.
func report(w io.Writer, cfg config, base, res result) {
	fmt.Fprintf(w, "%-9s %8s %7s %9s %10s %8s %8s %9s %9s %9s %10s\n",
		"phase", "scrapes", "failed", "CPU/wall", "CPU/scrape", "user", "sys", "peak RSS", "scrape50", "scrape99", "server CPU")
	for _, r := range []result{base, res} {
		fmt.Fprintf(w, "%-9s %8d %7d %9.3f %8.2fms %8s %8s %9s %9s %9s %10.3f\n",
			r.name, r.ok, r.failed, r.cpu(), r.perScrape(), r.user.Round(time.Millisecond), r.sys.Round(time.Millisecond),
			mib(r.peak), percentile(r.durations, 0.5), percentile(r.durations, 0.99), r.serverCPU.Seconds()/r.wall.Seconds())
	}
	for _, r := range []result{base, res} {
		if r.firstErr != "" {
			fmt.Fprintf(w, "%s: first error: %s\n", r.name, r.firstErr)
		}
	}
	if res.ok > 0 {
		fmt.Fprintf(w, "resiltop: Ingest %.2f ms per scrape", ms(res.ingest)/float64(res.ok+res.failed))
		if res.snapshots > 0 {
			fmt.Fprintf(w, "; %d snapshots of %d dependencies, %.2f ms each", res.snapshots, res.deps, ms(res.snapshot)/float64(res.snapshots))
		}
		fmt.Fprintln(w)
	}
	if base.cpu() > 0 && base.perScrape() > 0 {
		fmt.Fprintf(w, "ratio resiltop/baseline: CPU/wall %.2f×, CPU/scrape %.2f×\n",
			res.cpu()/base.cpu(), res.perScrape()/base.perScrape())
	}
	// A loaded machine drops scrapes, which lowers CPU/wall; the projection
	// at the full rate (every target once per interval) does not flatter.
	full := res.perScrape() / 1000 * float64(cfg.targets) / cfg.interval.Seconds()
	verdict := "met"
	if max(res.cpu(), full) > goalCPU {
		verdict = "MISSED"
	}
	expected := cfg.targets * int(cfg.duration/cfg.interval)
	fmt.Fprintf(w, "goal ≤ %.2f CPU for the resiltop side: %s (measured %.3f with %d of ~%d scrapes done; %.3f at the full rate)\n",
		goalCPU, verdict, res.cpu(), res.ok+res.failed, expected, full)
	fmt.Fprintf(w, "load at the end: %s\n", procstat.LoadAvg())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b int64) string {
	if b <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0fMiB", float64(b)/(1<<20))
}

// percentile is the nearest-rank percentile of ds, "—" when empty.
func percentile(ds []time.Duration, q float64) string {
	if len(ds) == 0 {
		return "—"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, int(q*float64(len(s))))
	return s[i].Round(100 * time.Microsecond).String()
}
