package main

import (
	"fmt"
	"math"
	"regexp"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"resiltop/internal/format"
	"resiltop/internal/model"
)

// The invariants, as named in reports.
const (
	invRefresh    = "screen refreshed"
	invRates      = "healthy rates right"
	invUnknown    = "broken histogram shows no quantile"
	invScreen     = "screen shows — exactly for unknowns"
	invGoroutines = "goroutines bounded"
	invHeap       = "heap bounded"
	invHeapGrowth = "heap not growing"
	invLeak       = "no goroutine left after shutdown"
)

var invariants = []string{invRefresh, invRates, invUnknown, invScreen, invGoroutines, invHeap, invHeapGrowth, invLeak}

// Tolerances of the rate check. The page's counters are whole numbers
// (callsAbsTol), and a target evaluates them when it answers, which is up
// to one scrape timeout after the scrape's start, the time resiltop (like
// Prometheus) stamps the sample with: the first and last samples of a
// window spanning s seconds can be skewed by up to timeout/s relative to
// each other, which is added to relTolerance. Ratios and quantiles compare
// counts of one page, which skew does not affect.
const (
	relTolerance   = 0.03
	callsAbsTol    = 1.0  // calls/s
	ratioAbsTol    = 0.03 // error and retry ratios
	quantileRelTol = 0.08
	minSteps       = 5 // history steps in the window before rates are checked
)

// checker evaluates the invariants every few seconds and keeps the
// figures of the report.
type checker struct {
	cfg     config
	targets []*target
	byDep   map[string]*target // dependency name → its target

	passed     map[string]int
	violations []string

	lastCalls   int
	lastView    string
	peakHeap    uint64 // HeapInuse
	peakLive    uint64 // live heap after the last GC
	peakG       int
	liveByPhase [2]uint64 // peak live heap of the two halves after warm-up
	ratesDeps   int       // dependency readings compared with the truth
	cells       int       // screen cells compared with the snapshot
	matrix      map[fault]*observed
}

// observed is what the user saw of targets under one behaviour.
type observed struct {
	readings     int            // (target, check) pairs
	errs         map[string]int // the target's error as shown, normalised
	stale        int            // dependency rows shown stale
	rows         int
	callsUnknown int // rows with CALLS/s "—"
	p99Unknown   int // rows with p99 "—"
}

func newChecker(cfg config, targets []*target) *checker {
	c := &checker{cfg: cfg, targets: targets, byDep: map[string]*target{}, passed: map[string]int{}, matrix: map[fault]*observed{}}
	for _, t := range targets {
		for _, d := range t.deps {
			c.byDep[d.name] = t
		}
	}
	for f := range numFaults {
		c.matrix[f] = &observed{errs: map[string]int{}}
	}
	return c
}

func (c *checker) fail(inv, format string, args ...any) {
	c.violations = append(c.violations, inv+": "+fmt.Sprintf(format, args...))
}

func (c *checker) pass(inv string) { c.passed[inv]++ }

// check runs every invariant once at now on the screen the UI shows.
func (c *checker) check(now, start time.Time, screen string, pr *probe) {
	calls, last, recent := pr.read()
	c.checkRefresh(now, screen, calls, last)
	if len(recent) > 0 {
		snap := recent[0]
		c.checkRates(snap)
		c.checkUnknown(snap)
		c.observe(snap, screen)
	}
	c.checkScreen(screen, recent)
	c.checkResources(now, start)
}

// checkRefresh: the UI fetched a snapshot since the last check, recently,
// and the screen changed (ages and rates move every second).
func (c *checker) checkRefresh(now time.Time, screen string, calls int, last time.Time) {
	ok := true
	if calls == c.lastCalls {
		c.fail(invRefresh, "no snapshot fetched in the last %s", c.cfg.checkEvery)
		ok = false
	} else if lag := now.Sub(last); lag > 3*c.cfg.interval+2*time.Second {
		c.fail(invRefresh, "last snapshot fetched %s ago", lag.Round(time.Millisecond))
		ok = false
	}
	if screen == c.lastView {
		c.fail(invRefresh, "the screen did not change in %s", c.cfg.checkEvery)
		ok = false
	}
	c.lastCalls, c.lastView = calls, screen
	if ok {
		c.pass(invRefresh)
	}
}

// settled reports whether t has held its behaviour long enough for every
// scrape in flight at the switch to have finished and been read.
func (c *checker) settled(st state, at time.Time) bool {
	return at.Sub(st.since) >= c.cfg.lag()
}

// Each check counts as passed only when it compared something.

// checkRates compares the rates and quantiles of dependencies of healthy
// targets with their truth, once the window holds only scrapes of pages
// that follow it (no reset, type change or broken histogram inside).
func (c *checker) checkRates(snap *model.Snapshot) {
	ok, compared := true, 0
	for i := range snap.Dependencies {
		d := &snap.Dependencies[i]
		t := c.byDep[d.Name]
		if t == nil || d.Stale || len(d.History) < minSteps {
			continue
		}
		st := t.state()
		windowStart := d.LastSeen.Add(-snap.Window)
		if st.fault != healthy || d.LastSeen.Before(st.since) || !c.settled(st, snap.Time) ||
			windowStart.Before(st.quietSince.Add(c.cfg.lag())) {
			continue
		}
		truth := t.truth(d.Name)
		c.ratesDeps++
		compared++
		span := d.History[len(d.History)-1].Time.Sub(d.History[0].Time).Seconds() // ≤ the window's span
		rel := relTolerance + c.cfg.skew().Seconds()/span
		for _, m := range []struct {
			what      string
			got       model.Value
			want, tol float64
		}{
			{"calls/s", d.CallsPerSecond, truth.calls(), callsAbsTol + rel*truth.calls()},
			{"error ratio", d.ErrorRatio, truth.errorRatio(), ratioAbsTol},
			{"retries/s", d.RetriesPerSecond, truth.retries, callsAbsTol + rel*truth.retries},
			{"retry ratio", d.RetryRatio, truth.retryRatio(), ratioAbsTol},
			{"p50", d.Latency.P50, truth.quantile(0.5), quantileRelTol * truth.quantile(0.5)},
			{"p99", d.Latency.P99, truth.quantile(0.99), quantileRelTol * truth.quantile(0.99)},
		} {
			if !m.got.Known() || math.Abs(float64(m.got)-m.want) > m.tol {
				c.fail(invRates, "%s (%s): %s %v, true %.4g (healthy since %s, quiet since %s, %d steps)",
					d.Name, t.url, m.what, float64(m.got), m.want, ago(snap.Time, st.since), ago(snap.Time, st.quietSince), len(d.History))
				ok = false
			}
		}
	}
	if ok && compared > 0 {
		c.pass(invRates)
	}
}

// checkUnknown: while a target's histogram is broken (no +Inf bucket and
// no count), no quantile can be computed from its last page, and none may
// be shown. (A NaN bucket is not such a case: resiltop drops the bucket,
// and the others still give a quantile, at a coarser resolution.)
func (c *checker) checkUnknown(snap *model.Snapshot) {
	ok, checked := true, 0
	for i := range snap.Dependencies {
		d := &snap.Dependencies[i]
		t := c.byDep[d.Name]
		if t == nil || d.Stale {
			continue
		}
		st := t.state()
		if st.fault != brokenHist || d.LastSeen.Before(st.since) {
			continue
		}
		checked++
		for _, q := range []struct {
			name string
			v    model.Value
		}{{"p50", d.Latency.P50}, {"p90", d.Latency.P90}, {"p99", d.Latency.P99}, {"p99.9", d.Latency.P999}} {
			if q.v.Known() {
				c.fail(invUnknown, "%s (%s, %s for %s): %s shown as %v from a histogram that cannot give one",
					d.Name, t.url, st.fault, ago(snap.Time, st.since), q.name, float64(q.v))
				ok = false
			}
		}
	}
	if ok && checked > 0 {
		c.pass(invUnknown)
	}
}

// screenColumns are the columns whose cells are checked against the
// snapshot, with the value each shows.
var screenColumns = []struct {
	title string
	value func(*model.Dependency) model.Value
}{
	{"CALLS/s", func(d *model.Dependency) model.Value { return d.CallsPerSecond }},
	{"ERR%", func(d *model.Dependency) model.Value { return d.ErrorRatio }},
	{"RETRY%", func(d *model.Dependency) model.Value { return d.RetryRatio }},
	{"p50", func(d *model.Dependency) model.Value { return d.Latency.P50 }},
	{"p99", func(d *model.Dependency) model.Value { return d.Latency.P99 }},
}

// checkScreen: every checked cell on screen shows "—" only where one of the
// UI's recent snapshots had the value unknown, and a number only where one
// had it known (the screen shows one of them; which is not observable).
func (c *checker) checkScreen(screen string, recent []*model.Snapshot) {
	rows := screenRows(screen)
	if len(recent) > 0 && len(recent[0].Dependencies) > 0 && len(rows) == 0 {
		c.fail(invScreen, "the snapshot has %d dependencies, the screen no row", len(recent[0].Dependencies))
		return
	}
	ok, checked := true, 0
	for name, cells := range rows {
		var known, unknown [8]bool
		seen := false
		for _, s := range recent {
			d := findDep(s, name)
			if d == nil {
				continue
			}
			seen = true
			for i, col := range screenColumns {
				if col.value(d).Known() {
					known[i] = true
				} else {
					unknown[i] = true
				}
			}
		}
		if !seen {
			continue
		}
		for i, col := range screenColumns {
			cell, shown := cells[col.title]
			if !shown {
				continue
			}
			c.cells++
			checked++
			if cell == format.Unknown && !unknown[i] {
				c.fail(invScreen, "%s: %s shows — for a known value", name, col.title)
				ok = false
			}
			if cell != format.Unknown && !known[i] {
				c.fail(invScreen, "%s: %s shows %q for an unknown value", name, col.title, cell)
				ok = false
			}
		}
	}
	if ok && checked > 0 {
		c.pass(invScreen)
	}
}

// screenRows reads the overview table off the screen: per dependency
// name, the cells of screenColumns. The columns are right-aligned, so a
// cell is the last word before its title's end in the header.
func screenRows(screen string) map[string]map[string]string {
	lines := strings.Split(screen, "\n")
	header := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "NAME ") && strings.Contains(l, "CALLS/s") {
			header = i
			break
		}
	}
	if header < 0 {
		return nil
	}
	ends := map[string]int{}
	words := strings.Fields(lines[header])
	pos := 0
	for _, w := range words {
		i := strings.Index(lines[header][pos:], w)
		pos += i + len(w)
		if title := strings.TrimRight(w, "▲▼"); ends[title] == 0 { // the first: "p99 TREND" comes after p99
			ends[title] = ansi.StringWidth(lines[header][:pos])
		}
	}
	rows := map[string]map[string]string{}
	for _, l := range lines[header+1:] {
		f := strings.Fields(l)
		if len(f) == 0 || !depName.MatchString(f[0]) {
			continue
		}
		cells := map[string]string{}
		for _, col := range screenColumns {
			end, ok := ends[col.title]
			if !ok {
				continue
			}
			before := strings.Fields(ansi.Cut(l, 0, end))
			if len(before) > 0 {
				cells[col.title] = before[len(before)-1]
			}
		}
		rows[f[0]] = cells
	}
	return rows
}

// depName matches the dependencies the fake targets expose (t042a).
var depName = regexp.MustCompile(`^t\d{3}[a-z]$`)

func findDep(s *model.Snapshot, name string) *model.Dependency {
	for i := range s.Dependencies {
		if s.Dependencies[i].Name == name {
			return &s.Dependencies[i]
		}
	}
	return nil
}

// checkResources: goroutines and heap stay within their bounds, and the
// live heap of the run's second half after warm-up is not much above the
// first's (history full, so nothing should accumulate).
func (c *checker) checkResources(now, start time.Time) {
	g := runtime.NumGoroutine()
	c.peakG = max(c.peakG, g)
	if g > c.cfg.maxGoroutines {
		c.fail(invGoroutines, "%d goroutines, bound %d", g, c.cfg.maxGoroutines)
	} else {
		c.pass(invGoroutines)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	c.peakHeap = max(c.peakHeap, ms.HeapInuse)
	if ms.HeapInuse > c.cfg.maxHeap {
		c.fail(invHeap, "heap in use %s, bound %s", mib(ms.HeapInuse), mib(c.cfg.maxHeap))
	} else {
		c.pass(invHeap)
	}
	live := liveHeap()
	c.peakLive = max(c.peakLive, live)
	if warm := c.cfg.history + c.cfg.window; c.cfg.duration-warm >= 2*time.Minute {
		if el := now.Sub(start); el >= warm {
			half := 0
			if el-warm >= (c.cfg.duration-warm)/2 {
				half = 1
			}
			c.liveByPhase[half] = max(c.liveByPhase[half], live)
			if first, second := c.liveByPhase[0], c.liveByPhase[1]; half == 1 && second > first+first/2+32<<20 {
				c.fail(invHeapGrowth, "live heap %s in the second half after warm-up, %s in the first", mib(second), mib(first))
			} else if half == 1 {
				c.pass(invHeapGrowth)
			}
		}
	}
}

// liveHeap is the heap the last garbage collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// observe records, per behaviour, what the screen and the snapshot showed
// of targets that have held it for a while: the matrix of the report.
func (c *checker) observe(snap *model.Snapshot, screen string) {
	health := map[string]*model.TargetHealth{}
	for i := range snap.Targets {
		health[snap.Targets[i].URL] = &snap.Targets[i]
	}
	rows := screenRows(screen)
	for _, t := range c.targets {
		st := t.state()
		if !c.settled(st, snap.Time) {
			continue
		}
		h := health[t.key]
		if h == nil || h.LastScrape.Before(st.since) {
			continue // not scraped under this behaviour yet (a backoff, a slow scrape)
		}
		o := c.matrix[st.fault]
		o.readings++
		msg := "up"
		if h.Err != "" {
			msg = normalise(h.Err)
		}
		o.errs[msg]++
		for _, d := range t.deps {
			dep := findDep(snap, d.name)
			cells, shown := rows[d.name]
			if dep == nil || !shown {
				continue
			}
			o.rows++
			if dep.Stale {
				o.stale++
			}
			if cells["CALLS/s"] == format.Unknown {
				o.callsUnknown++
			}
			if cells["p99"] == format.Unknown {
				o.p99Unknown++
			}
		}
	}
}

// normalise shortens an error for the matrix: ports, byte offsets and
// line numbers vary between targets and say nothing about the kind.
func normalise(msg string) string {
	msg = digits.ReplaceAllString(msg, "N")
	if r := []rune(msg); len(r) > 70 {
		msg = string(r[:70]) + "…"
	}
	return msg
}

var digits = regexp.MustCompile(`\d+`)

// topErrors lists an observation's messages, most frequent first.
func (o *observed) topErrors(n int) []string {
	type kv struct {
		msg string
		n   int
	}
	var all []kv
	for m, k := range o.errs {
		all = append(all, kv{m, k})
	}
	slices.SortFunc(all, func(a, b kv) int { return b.n - a.n })
	var out []string
	for _, e := range all[:min(n, len(all))] {
		out = append(out, fmt.Sprintf("%s (%d%%)", e.msg, 100*e.n/o.readings))
	}
	return out
}

func ago(now, t time.Time) string { return now.Sub(t).Round(100 * time.Millisecond).String() }

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
