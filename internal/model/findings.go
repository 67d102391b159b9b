package model

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// targetDownFinding reports a target whose latest scrape failed.
func targetDownFinding(ts *targetState, now time.Time) Finding {
	last := "never succeeded"
	if !ts.lastSuccess.IsZero() {
		last = "last success " + roundDur(now.Sub(ts.lastSuccess)).String() + " ago"
	}
	return Finding{
		Kind: TargetDown, Severity: Critical, Target: ts.url,
		Message: fmt.Sprintf("%s: target down — %s (%s)", ts.url, ts.err, last),
		Since:   ts.downSince,
	}
}

// findingsOf applies the rules of issue 3 to one dependency. all is its
// history up to the snapshot, allSteps the steps between its samples
// (allSteps[i] ends at all[i+1]), ws the part inside the window, w the
// window's rates. Since is the start of the latest run in which the
// condition held continuously, from the whole history, not only the
// window's; zero when history cannot tell.
func findingsOf(dep *Dependency, all []sample, allSteps []Point, ws []sample, w windowRates, th Thresholds) []Finding {
	var out []Finding
	add := func(kind FindingKind, sev Severity, since time.Time, format string, args ...any) {
		out = append(out, Finding{
			Kind: kind, Severity: sev, Target: dep.Target, Dependency: dep.Name,
			Message: dep.Name + ": " + fmt.Sprintf(format, args...), Since: since,
		})
	}
	last := &all[len(all)-1]
	steps := dep.History

	// breaker_open: the gauge's state; a concurrency limit (Envoy) is not a breaker.
	switch st := dep.Breaker.State; st {
	case BreakerOpen, BreakerForcedOpen, BreakerHalfOpen:
		sev := Critical
		if st == BreakerHalfOpen {
			sev = Warning
		}
		since := dep.Breaker.Since
		msg := "breaker " + string(st)
		if !since.IsZero() {
			msg += " since " + since.UTC().Format(time.TimeOnly)
		}
		switch {
		case dep.CallsPerSecond.Known() && dep.ErrorRatio.Known():
			msg += fmt.Sprintf(" (%s calls/s, error ratio %s)", num(float64(dep.CallsPerSecond)), num(float64(dep.ErrorRatio)))
		case dep.CallsPerSecond.Known():
			msg += fmt.Sprintf(" (%s calls/s)", num(float64(dep.CallsPerSecond)))
		}
		add(BreakerOpenKind, sev, since, "%s", msg)
	}

	// breaker_flapping: transitions within the flapping window, from the
	// counter when there is one, else from state changes the gauge showed.
	if th.FlappingTransitions > 0 {
		fw := inWindow(all, last.t.Add(-th.FlappingWindow), last.t)
		n, since := flaps(fw)
		if n >= float64(th.FlappingTransitions) {
			add(BreakerFlapping, Warning, since, "breaker flapping — %s transitions in %s", num(n), th.FlappingWindow)
		}
	}

	// retry_storm. Retries while no call completes have no ratio, but
	// retries/s ≥ first attempts/s holds: every call is still retrying.
	noneComplete := w.calls == 0 && w.retries > 0
	if w.retryRatio >= th.RetryRatioWarning && w.calls > 0 || noneComplete {
		sev := Warning
		if w.retryRatio >= 1 || noneComplete {
			sev = Critical
		}
		since := runSince(len(allSteps), func(i int) (bool, bool) {
			c, r := float64(allSteps[i].CallsPerSecond), float64(allSteps[i].RetriesPerSecond)
			switch {
			case math.IsNaN(c) || math.IsNaN(r) || c == 0 && r == 0:
				return false, false
			case c == 0:
				return true, true
			}
			return r/c >= th.RetryRatioWarning, true
		}, func(i int) time.Time { return allSteps[i].Time })
		// Below one retry per call the dependency is being retried hard,
		// not yet stormed: the words say which, the kind stays retry_storm.
		words := "retry storm"
		if sev == Warning {
			words = "retrying heavily"
		}
		if noneComplete {
			add(RetryStorm, sev, since, "%s — %s retries/s and no call completed", words, num(w.retries))
		} else {
			add(RetryStorm, sev, since, "%s — %s retries/s for %s first attempts/s (ratio %s)",
				words, num(w.retries), num(w.calls), num(w.retryRatio))
		}
	}

	// pool_exhausted: in-use ≥ max or waiters, continuously for long enough.
	exhausted := func(i int) (bool, bool) {
		a, m, p := all[i].v[fPoolActive], all[i].v[fPoolMax], all[i].v[fPoolPending]
		if math.IsNaN(p) && (math.IsNaN(a) || math.IsNaN(m)) {
			return false, false
		}
		return p > 0 || (m > 0 && a >= m), true
	}
	if ok, _ := exhausted(len(all) - 1); ok {
		since := runSince(len(all), exhausted, func(i int) time.Time { return all[i].t })
		if !since.IsZero() && last.t.Sub(since) >= th.PoolExhaustedFor {
			var parts []string
			if a, m := last.v[fPoolActive], last.v[fPoolMax]; !math.IsNaN(a) && !math.IsNaN(m) {
				parts = append(parts, num(a)+" of "+num(m)+" connections in use")
			}
			if p := last.v[fPoolPending]; !math.IsNaN(p) {
				parts = append(parts, num(p)+" waiting")
			}
			parts = append(parts, "for "+roundDur(last.t.Sub(since)).String())
			add(PoolExhausted, Critical, since, "pool exhausted — %s", strings.Join(parts, ", "))
		}
	}

	// bulkhead_saturated, and a concurrency limit being hit (Envoy).
	full := func(i int) (bool, bool) {
		f, m := all[i].v[fBulkheadInFlight], all[i].v[fBulkheadMax]
		if math.IsNaN(f) || !(m > 0) {
			return false, false
		}
		return f >= th.BulkheadSaturation*m, true
	}
	// Rejections count while they happen: one rejection does not keep the
	// finding up for the whole window once a scrape passes without any.
	recentReject := len(ws) > 1 && counterDelta(ws[len(ws)-2].v[fRejected], ws[len(ws)-1].v[fRejected]) > 0
	if ok, _ := full(len(all) - 1); ok || recentReject {
		since := runSince(len(all), full, func(i int) time.Time { return all[i].t })
		if !ok {
			since = runSince(len(steps), func(i int) (bool, bool) {
				return float64(steps[i].CallsPerSecond) > 0 && len(ws) > i+1 &&
					counterDelta(ws[i].v[fRejected], ws[i+1].v[fRejected]) > 0, true
			}, func(i int) time.Time { return steps[i].Time })
		}
		var parts []string
		if ok {
			parts = append(parts, num(last.v[fBulkheadInFlight])+" of "+num(last.v[fBulkheadMax])+" in flight")
		}
		if !math.IsNaN(w.rejected) {
			parts = append(parts, num(w.rejected)+" rejected/s")
		}
		add(BulkheadSaturated, Warning, since, "bulkhead saturated — %s", strings.Join(parts, ", "))
	}
	if last.limit != "" {
		add(BulkheadSaturated, Warning, time.Time{}, "concurrency limit %q hit", last.limit)
	}

	// tail_near_timeout.
	p99, timeout := float64(dep.Latency.P99), last.v[fTimeout]
	if timeout > 0 && p99 >= th.TailNearTimeout*timeout {
		since := runSince(len(allSteps), func(i int) (bool, bool) {
			v := float64(allSteps[i].Latency.P99)
			if math.IsNaN(v) {
				return false, false
			}
			return v >= th.TailNearTimeout*timeout, true
		}, func(i int) time.Time { return allSteps[i].Time })
		add(TailNearTimeout, Warning, since, "tail near timeout — p99 %ss is %s%% of the %ss timeout",
			num(p99), num(100*p99/timeout), num(timeout))
	}

	// timeouts_rising: unknown outcomes as a share of calls.
	if w.timeoutRatio >= th.TimeoutRatio && w.timeouts > 0 {
		since := runSince(len(allSteps), func(i int) (bool, bool) {
			c, t := float64(allSteps[i].CallsPerSecond), float64(allSteps[i].TimeoutsPerSecond)
			if !(c > 0) || math.IsNaN(t) {
				return false, false
			}
			return t/c >= th.TimeoutRatio, true
		}, func(i int) time.Time { return allSteps[i].Time })
		add(TimeoutsRising, Warning, since, "timeouts rising — %s timeouts/s, %s%% of %s calls/s (outcome unknown)",
			num(w.timeouts), num(100*w.timeoutRatio), num(w.calls))
	}

	// backlog_growing: the PENDING count rose over the window (from its
	// first known value there) while more were created than resolved.
	// Since is the level it grew from: a step where the count held neither
	// starts nor breaks the growth, so a plateau before it does not date it back.
	if len(ws) > 1 {
		first, lastCount := nan, last.v[fPendingCount]
		for i := range ws {
			if first = ws[i].v[fPendingCount]; !math.IsNaN(first) {
				break
			}
		}
		if grew(first, lastCount) && w.created > w.resolved*(1+backlogRateMargin) {
			since := runSince(len(all)-1, func(i int) (bool, bool) {
				a, b := all[i].v[fPendingCount], all[i+1].v[fPendingCount]
				if math.IsNaN(a) || math.IsNaN(b) || a == b {
					return false, false
				}
				return b > a, true
			}, func(i int) time.Time { return all[i].t })
			add(BacklogGrowing, Warning, since, "PENDING backlog growing — %s → %s, %s created/s vs %s resolved/s",
				num(first), num(lastCount), num(w.created), num(w.resolved))
		}
	}

	// backlog_stale.
	if age := last.v[fPendingOldest]; age > th.BacklogStaleAge.Seconds() {
		since := runSince(len(all), func(i int) (bool, bool) {
			a := all[i].v[fPendingOldest]
			if math.IsNaN(a) {
				return false, false
			}
			return a > th.BacklogStaleAge.Seconds(), true
		}, func(i int) time.Time { return all[i].t })
		add(BacklogStale, Warning, since, "PENDING backlog stale — oldest %s old, %s pending",
			roundDur(time.Duration(age*float64(time.Second))), num(last.v[fPendingCount]))
	}
	sortFindings(out)
	return out
}

// flaps counts breaker transitions in the samples and the time of the
// first one seen.
func flaps(fw []sample) (float64, time.Time) {
	var since time.Time
	if inc, _, ok := increase(fw, fTransitions); ok {
		for i := 1; i < len(fw); i++ {
			a, b := fw[i-1].v[fTransitions], fw[i].v[fTransitions]
			if !math.IsNaN(a) && !math.IsNaN(b) && counterDelta(a, b) > 0 {
				since = fw[i].t
				break
			}
		}
		return inc, since
	}
	n := 0.0
	for i := 1; i < len(fw); i++ {
		if known(fw[i-1].breaker) && known(fw[i].breaker) && fw[i-1].breaker != fw[i].breaker {
			if n == 0 {
				since = fw[i].t
			}
			n++
		}
	}
	return n, since
}

// runSince walks n steps back from the newest and returns the time of the
// earliest step of the latest run in which cond held; steps where cond is
// unknown neither extend nor break a run. Zero when cond never held.
func runSince(n int, cond func(i int) (holds, known bool), at func(i int) time.Time) time.Time {
	start := -1
	for i := n - 1; i >= 0; i-- {
		holds, ok := cond(i)
		if !ok {
			continue
		}
		if holds {
			start = i
			continue
		}
		if start >= 0 {
			break
		}
	}
	if start < 0 {
		return time.Time{}
	}
	return at(start)
}

// severityRank orders severities worst first.
func severityRank(s Severity) int {
	switch s {
	case Critical:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// kindRank orders kinds within a severity: a target down explains every
// other finding of it, then the breaker, then what leads to it.
func kindRank(k FindingKind) int {
	switch k {
	case TargetDown:
		return 0
	case BreakerOpenKind:
		return 1
	case PoolExhausted:
		return 2
	case RetryStorm:
		return 3
	case TimeoutsRising:
		return 4
	case TailNearTimeout:
		return 5
	case BulkheadSaturated:
		return 6
	case BacklogGrowing:
		return 7
	case BacklogStale:
		return 8
	case BreakerFlapping:
		return 9
	}
	return 10
}

// sortFindings orders findings worst first, then stably by kind and name.
func sortFindings(fs []Finding) {
	sortStable(fs, func(a, b *Finding) int {
		if d := severityRank(a.Severity) - severityRank(b.Severity); d != 0 {
			return d
		}
		if d := kindRank(a.Kind) - kindRank(b.Kind); d != 0 {
			return d
		}
		if d := cmpString(a.Target, b.Target); d != 0 {
			return d
		}
		return cmpString(a.Dependency, b.Dependency)
	})
}

// sortDependencies orders dependencies worst first: critical findings, then
// warnings, then error ratio, then calls/s (unknown last), then target and name.
func sortDependencies(ds []Dependency) {
	count := func(d *Dependency, s Severity) int {
		n := 0
		for i := range d.Findings {
			if d.Findings[i].Severity == s {
				n++
			}
		}
		return n
	}
	desc := func(a, b Value) int {
		switch ak, bk := a.Known(), b.Known(); {
		case ak && !bk:
			return -1
		case !ak && bk:
			return 1
		case !ak:
			return 0
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	}
	sortStable(ds, func(a, b *Dependency) int {
		if d := count(b, Critical) - count(a, Critical); d != 0 {
			return d
		}
		if d := count(b, Warning) - count(a, Warning); d != 0 {
			return d
		}
		if d := desc(a.ErrorRatio, b.ErrorRatio); d != 0 {
			return d
		}
		if d := desc(a.CallsPerSecond, b.CallsPerSecond); d != 0 {
			return d
		}
		if d := cmpString(a.Name, b.Name); d != 0 {
			return d
		}
		return cmpString(a.Target, b.Target)
	})
}

// sortStable orders s as slices.SortStableFunc does, but moves each element
// once: it sorts positions, ties broken by position, then permutes. Findings
// and dependencies are large structs, and a stable sort's merges moved them
// O(n log² n) times, which dominated Snapshot.
func sortStable[T any](s []T, cmp func(a, b *T) int) {
	if len(s) < 2 {
		return
	}
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		if c := cmp(&s[i], &s[j]); c != 0 {
			return c
		}
		return i - j
	})
	sorted := make([]T, len(s))
	for k, i := range idx {
		sorted[k] = s[i]
	}
	copy(s, sorted)
}

// num formats a number for a message: three significant digits, no
// exponent for everyday magnitudes, "?" when unknown.
func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "?"
	case math.Abs(v) >= 1000 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// A backlog grows when it rises by at least backlogMinGrowth operations and
// backlogGrowthShare of its size, while created/s exceeds resolved/s by
// backlogRateMargin: a steady backlog of ~60 that wanders 59 → 67 with
// 18.6 created/s against 18.5 resolved/s is noise, not a finding.
const (
	backlogMinGrowth   = 5
	backlogGrowthShare = 0.1
	backlogRateMargin  = 0.05
)

// grew reports whether a PENDING count rose by more than noise from first to last.
func grew(first, last float64) bool {
	return last-first >= max(backlogMinGrowth, backlogGrowthShare*first)
}
