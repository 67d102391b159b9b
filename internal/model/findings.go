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
		Since:   ts.downSince, Advice: Advice(TargetDown),
	}
}

// findingsOf applies the rules of issue 3 to one dependency. all is its
// history up to the snapshot, pts the steps between its samples (pts[i]
// ends at all[i]; pts[0] is never read), ws the part inside the window, w
// the window's rates, r the runs of the conditions over exactly all, or nil
// when it has more samples than the snapshot sees. Since is the start of
// the latest run in which the condition held continuously, from the whole
// history, not only the window's; zero when history cannot tell.
func findingsOf(dep *Dependency, all []sample, pts []Point, ws []sample, w windowRates, th Thresholds, r *runs) []Finding {
	// Gathered on the stack and copied once, at their number: a dependency
	// in trouble has five or so, and growing a slice for them allocated
	// twice (a third of a Snapshot's bytes at 17,000 dependencies).
	var buf [12]Finding // one per kind, two bulkhead_saturated: at most 11
	out := buf[:0]
	last := &all[len(all)-1]
	dated := func(c cond) time.Time {
		if r != nil {
			return r.since(c, all)
		}
		return c.since(all, pts, &th)
	}
	// A dependency whose calls are slow holds its pool's connections
	// while it answers: pool_exhausted then has its own advice.
	p99, timeout := float64(dep.Latency.P99), last.v[fTimeout]
	slow := timeout > 0 && p99 >= th.TailNearTimeout*timeout || w.timeoutRatio >= th.TimeoutRatio && w.timeouts > 0
	// Messages are concatenated rather than formatted with fmt: a cold
	// Snapshot writes several per dependency, and fmt was a tenth of it.
	add := func(kind FindingKind, sev Severity, since time.Time, msg string) {
		adv := Advice(kind)
		if kind == PoolExhausted && slow {
			adv = poolHeldAcrossSlowCall
		}
		out = append(out, Finding{
			Kind: kind, Severity: sev, Target: dep.Target, Dependency: dep.Name,
			Message: dep.Name + ": " + msg, Since: since, Advice: adv,
		})
	}

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
			msg += " (" + num(float64(dep.CallsPerSecond)) + " calls/s, error ratio " + num(float64(dep.ErrorRatio)) + ")"
		case dep.CallsPerSecond.Known():
			msg += " (" + num(float64(dep.CallsPerSecond)) + " calls/s)"
		}
		add(BreakerOpenKind, sev, since, msg)
	}

	// breaker_flapping: transitions within the flapping window, from the
	// counter when there is one, else from state changes the gauge showed.
	if th.FlappingTransitions > 0 {
		fw := inWindow(all, last.t.Add(-th.FlappingWindow), last.t)
		n, since := flaps(fw)
		if n >= float64(th.FlappingTransitions) {
			add(BreakerFlapping, Warning, since, "breaker flapping — "+num(n)+" transitions in "+th.FlappingWindow.String())
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
		since := dated(condRetry)
		// Below one retry per call the dependency is being retried hard,
		// not yet stormed: the words say which, the kind stays retry_storm.
		words := "retry storm"
		if sev == Warning {
			words = "retrying heavily"
		}
		if noneComplete {
			add(RetryStorm, sev, since, words+" — "+num(w.retries)+" retries/s and no call completed")
		} else {
			add(RetryStorm, sev, since, words+" — "+num(w.retries)+" retries/s for "+num(w.calls)+
				" first attempts/s (ratio "+num(w.retryRatio)+")")
		}
	}

	// unsafe_retries: any retry without an idempotency key in the window may
	// have charged twice; there is no safe amount of them.
	if w.unsafeRetried > 0 {
		msg := "retrying without an idempotency key: duplicates possible — " + num(w.unsafeRetried) + " unsafe retries in " +
			roundDur(last.t.Sub(ws[0].t)).String()
		if w.retries > 0 && !math.IsNaN(w.unsafeRetries) {
			msg += " (" + num(w.unsafeRetries) + "/s, " + num(100*w.unsafeRetries/w.retries) + "% of retries)"
		}
		add(UnsafeRetries, Critical, unsafeSince(all, last.t.Sub(ws[0].t)), msg)
	}

	// pool_exhausted: in-use ≥ max or waiters, continuously for long enough.
	if ok, _ := condPool.holds(all, pts, len(all)-1, &th, timeout); ok {
		since := dated(condPool)
		if !since.IsZero() && last.t.Sub(since) >= th.PoolExhaustedFor {
			var parts []string
			if a, m := last.v[fPoolActive], last.v[fPoolMax]; !math.IsNaN(a) && !math.IsNaN(m) {
				parts = append(parts, num(a)+" of "+num(m)+" connections in use")
			}
			if p := last.v[fPoolPending]; !math.IsNaN(p) {
				parts = append(parts, num(p)+" waiting")
			}
			parts = append(parts, "for "+roundDur(last.t.Sub(since)).String())
			add(PoolExhausted, Critical, since, "pool exhausted — "+strings.Join(parts, ", "))
		}
	}

	// bulkhead_saturated, and a concurrency limit being hit (Envoy).
	// Rejections count while they happen: one rejection does not keep the
	// finding up for the whole window once a scrape passes without any.
	recentReject := len(ws) > 1 && counterDelta(ws[len(ws)-2].v[fRejected], ws[len(ws)-1].v[fRejected]) > 0
	if ok, _ := condBulkhead.holds(all, pts, len(all)-1, &th, timeout); ok || recentReject {
		var since time.Time
		// Rejections are dated within the window, from the step that ends
		// at its second sample.
		from := len(all) - len(ws) + 1
		switch {
		case ok:
			since = dated(condBulkhead)
		case r != nil:
			// A rejection in the last step is a call in it: the condition
			// holds at the newest sample, as sinceFrom needs.
			since = r.sinceFrom(condRejecting, all, from)
		default:
			since = runSince(len(all)-from, func(i int) (bool, bool) {
				return condRejecting.holds(all, pts, from+i, &th, timeout)
			}, func(i int) time.Time { return all[from+i].t })
		}
		var parts []string
		if ok {
			parts = append(parts, num(last.v[fBulkheadInFlight])+" of "+num(last.v[fBulkheadMax])+" in flight")
		}
		if !math.IsNaN(w.rejected) {
			parts = append(parts, num(w.rejected)+" rejected/s")
		}
		add(BulkheadSaturated, Warning, since, "bulkhead saturated — "+strings.Join(parts, ", "))
	}
	if last.limit != "" {
		add(BulkheadSaturated, Warning, time.Time{}, "concurrency limit "+strconv.Quote(last.limit)+" hit")
	}

	// tail_near_timeout.
	if timeout > 0 && p99 >= th.TailNearTimeout*timeout {
		add(TailNearTimeout, Warning, dated(condTail), "tail near timeout — p99 "+num(p99)+"s is "+num(100*p99/timeout)+
			"% of the "+num(timeout)+"s timeout")
	}

	// timeouts_rising: unknown outcomes as a share of calls.
	if w.timeoutRatio >= th.TimeoutRatio && w.timeouts > 0 {
		add(TimeoutsRising, Warning, dated(condTimeouts), "timeouts rising — "+num(w.timeouts)+" timeouts/s, "+num(100*w.timeoutRatio)+
			"% of "+num(w.calls)+" calls/s (outcome unknown)")
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
			add(BacklogGrowing, Warning, dated(condGrowing), "PENDING backlog growing — "+num(first)+" → "+num(lastCount)+", "+
				num(w.created)+" created/s vs "+num(w.resolved)+" resolved/s")
		}
	}

	// backlog_stale.
	if age := last.v[fPendingOldest]; age > th.BacklogStaleAge.Seconds() {
		add(BacklogStale, Warning, dated(condStale), "PENDING backlog stale — oldest "+
			roundDur(time.Duration(age*float64(time.Second))).String()+" old, "+num(last.v[fPendingCount])+" pending")
	}
	if len(out) == 0 {
		return nil
	}
	sortByRank(out)
	return slices.Clone(out)
}

// sortByRank orders one dependency's findings as sortFindings would: they
// share target and dependency, so by rank alone, stably, by insertion.
func sortByRank(fs []Finding) {
	for i := 1; i < len(fs); i++ {
		r, j := findingRank(&fs[i]), i
		for j > 0 && findingRank(&fs[j-1]) > r {
			j--
		}
		if j < i {
			f := fs[i]
			copy(fs[j+1:i+1], fs[j:i])
			fs[j] = f
		}
	}
}

// unsafeSince is when the latest run of unsafe retries began: the first
// scrape that counted some, after which no gap between two that did was
// longer than the window (the finding holds while the window holds one).
func unsafeSince(all []sample, window time.Duration) time.Time {
	var since time.Time
	for i := len(all) - 1; i > 0; i-- {
		a, b := all[i-1].v[fUnsafeRetries], all[i].v[fUnsafeRetries]
		if math.IsNaN(a) || math.IsNaN(b) || b <= a {
			continue
		}
		if !since.IsZero() && since.Sub(all[i].t) > window {
			break
		}
		since = all[i].t
	}
	return since
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

// kindRank orders kinds within a severity as FindingKinds lists them: a
// target down explains every other finding of it, then the breaker, then
// what leads to it.
func kindRank(k FindingKind) int {
	if i := slices.Index(FindingKinds, k); i >= 0 {
		return i
	}
	return len(FindingKinds)
}

// findingRank orders findings by severity, then kind (kindRank is below 16).
func findingRank(f *Finding) int { return severityRank(f.Severity)*16 + kindRank(f.Kind) }

// sortFindings orders findings worst first, then stably by kind and name.
// Thousands may come at once (GroupByName's), so each is keyed once (rank,
// target, dependency) and the keys are sorted, not the findings; a few are
// sorted in place. A Snapshot lays its findings out in this order without
// sorting (orderFindings).
func sortFindings(fs []Finding) {
	type key struct {
		rank        int // findingRank
		target, dep string
		i           int // position, for stability
	}
	keyOf := func(i int) key {
		f := &fs[i]
		return key{findingRank(f), f.Target, f.Dependency, i}
	}
	cmp := func(a, b *key) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		if d := cmpString(a.target, b.target); d != 0 {
			return d
		}
		return cmpString(a.dep, b.dep)
	}
	if len(fs) <= 8 {
		// Insertion sort moves an element only past greater ones: stable.
		for i := 1; i < len(fs); i++ {
			for j := i; j > 0; j-- {
				if a, b := keyOf(j), keyOf(j-1); cmp(&a, &b) >= 0 {
					break
				}
				fs[j], fs[j-1] = fs[j-1], fs[j]
			}
		}
		return
	}
	keys := make([]key, len(fs))
	for i := range keys {
		keys[i] = keyOf(i)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if d := cmp(&a, &b); d != 0 {
			return d
		}
		return a.i - b.i
	})
	permute(fs, func(k int) int { return keys[k].i })
}

// sortDependencies orders dependencies worst first: critical findings, then
// warnings, then error ratio, then calls/s (unknown last), then target and
// name; stably. Like sortFindings it sorts keys, each computed once.
func sortDependencies(ds []Dependency) {
	type key struct {
		crit, warn      int
		errRatio, calls Value
		name, target    string
		i               int
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
	keys := make([]key, len(ds))
	for i := range ds {
		d := &ds[i]
		k := key{errRatio: d.ErrorRatio, calls: d.CallsPerSecond, name: d.Name, target: d.Target, i: i}
		for j := range d.Findings {
			switch d.Findings[j].Severity {
			case Critical:
				k.crit++
			case Warning:
				k.warn++
			}
		}
		keys[i] = k
	}
	slices.SortFunc(keys, func(a, b key) int {
		if d := b.crit - a.crit; d != 0 {
			return d
		}
		if d := b.warn - a.warn; d != 0 {
			return d
		}
		if d := desc(a.errRatio, b.errRatio); d != 0 {
			return d
		}
		if d := desc(a.calls, b.calls); d != 0 {
			return d
		}
		if d := cmpString(a.name, b.name); d != 0 {
			return d
		}
		if d := cmpString(a.target, b.target); d != 0 {
			return d
		}
		return a.i - b.i
	})
	permute(ds, func(k int) int { return keys[k].i })
}

// permute reorders s so that its k-th element is the one at from(k),
// moving each element once, in place along the permutation's cycles:
// findings and dependencies are large structs, and a cold Snapshot of
// thousands would otherwise allocate and copy a second array of them.
func permute[T any](s []T, from func(k int) int) {
	done := make([]bool, len(s))
	for k := range s {
		if done[k] {
			continue
		}
		tmp, j := s[k], k
		for {
			done[j] = true
			f := from(j)
			if f == k {
				s[j] = tmp
				break
			}
			s[j], j = s[f], f
		}
	}
}

// num formats a number for a message: three significant digits, no
// exponent for everyday magnitudes, "?" when unknown.
func num(v float64) string {
	switch {
	case v >= 0 && v < float64(len(smallInts)) && v == math.Trunc(v) && !math.Signbit(v):
		return smallInts[int(v)]
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "?"
	case math.Abs(v) >= 1000 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// smallInts are num's texts of the integers below 1,000, made once: a cold
// Snapshot formats counts, limits and percentages for thousands of
// findings, and each formatting was an allocation.
var smallInts = func() (t [1000]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

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
