package model

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// StoreOptions configure a Store. The zero value is usable.
type StoreOptions struct {
	// History is how long raw values are kept per dependency, and how long a
	// vanished dependency stays listed (stale). Default 15m.
	History time.Duration
	// Thresholds decide findings. The zero value means DefaultThresholds.
	Thresholds Thresholds
	// Profiles are the conventions to read pages with, in the order they
	// are tried and merged: earlier profiles' observations win (the app
	// passes profile.Builtin(), resiltop's own first, then user mappings).
	Profiles []Profile
	// Force names profiles to use for every target instead of detection
	// (--profile). Names that match no profile are ignored; see Validate.
	Force []string
	// ForceByTarget overrides Force for the targets it names (by URL).
	ForceByTarget map[string][]string
	// MaxEvents bounds the event log. Default 1000.
	MaxEvents int
	// MaxDependencies bounds the dependencies kept per target, so a page
	// with thousands of dependency names cannot exhaust memory; further
	// names are ignored (with an event). Default 1000.
	MaxDependencies int
	// MaxSamples bounds the raw values kept over all dependencies (one
	// sample per dependency per scrape: its raw values and the history step
	// derived from it, under a kilobyte with a histogram). When
	// dependencies × scrapes in History exceed it, older history of each
	// dependency is thinned (every other sample dropped), recent history
	// keeps full resolution; a target's dependencies are brought within
	// their share at its next scrape. Each dependency keeps at least 4
	// samples (the fewest that still give a rate over the window), so the
	// bound is MaxSamples up to MaxSamples/4 dependencies, 4 per dependency
	// beyond: max(MaxSamples, 4 × targets × MaxDependencies). Default
	// 500,000 (about 350 MB at worst): 125,000 dependencies, such as 100
	// targets with 1,000 each, stay within it.
	MaxSamples int
}

// Defaults of StoreOptions.
const (
	DefaultHistory    = 15 * time.Minute
	DefaultMaxEvents  = 1000
	DefaultMaxSamples = 500_000
	// DefaultMaxDependencies is the default of StoreOptions.MaxDependencies.
	DefaultMaxDependencies = 1000
	// minSamplesPerDep is the resolution thinning never goes below: the
	// oldest sample, and recent ones for the window's rates and a step.
	// Small, because it multiplies with the number of dependencies and
	// would otherwise be the real bound on memory, not MaxSamples.
	minSamplesPerDep = 4
)

// Validate reports forced profile names that match no profile, so the CLI
// can refuse them as a usage error.
func (o StoreOptions) Validate() error {
	known := map[string]bool{}
	for _, p := range o.Profiles {
		known[p.Name()] = true
	}
	names := slices.Clone(o.Force)
	for _, ns := range o.ForceByTarget {
		names = append(names, ns...)
	}
	for _, n := range names {
		if !known[n] {
			return fmt.Errorf("unknown profile %q", n)
		}
	}
	return nil
}

// Store keeps a bounded history of what profiles read from each target's
// pages and derives Snapshots from it. Ingest and Snapshot are safe for
// concurrent use.
type Store struct {
	opts StoreOptions

	conventions []string // names of opts.Profiles, sorted

	mu      sync.RWMutex
	targets map[string]*targetState
	events  eventLog
	samples int      // samples held over all dependencies
	deps    int      // dependencies over all targets
	scratch []Bucket // quantile work space of Ingest, under mu
}

// targetState is what the Store knows about one target.
type targetState struct {
	url         string
	lastScrape  time.Time
	lastSuccess time.Time
	downSince   time.Time // first failure of the current failure streak
	err         string
	duration    time.Duration
	series      int
	bytes       int64
	profiles    []string
	warnings    []string // the last scrape's, read-only
	source      bool     // a source speaking for other targets (Scrape.Source)
	deps        map[string]*depState
	everScraped bool
	overLimit   bool // the last page had more dependencies than allowed
}

// depState is the history of one dependency of one target.
type depState struct {
	name     string
	profiles []string
	lastSeen time.Time
	samples  []sample // oldest first
	// base is samples' whole array and head how many slots before samples
	// trim freed in it: push moves the history back to the front instead
	// of growing a new array, which with a full History and one sample in,
	// one out per scrape was most of what an Ingest allocated. Samples are
	// never shared outside the Store's lock, so they may move.
	base []sample
	head int
	// points[i] is the history step from samples[i-1] to samples[i],
	// derived once when samples[i] is appended rather than on every
	// Snapshot (points[0] is never read: its predecessor is gone or never
	// was). An element is never written again once appended, so snapshots
	// share the slice read-only; thinning builds a new one.
	points []Point
	// version counts changes to samples (under the Store's write lock), so
	// memo can tell whether it still holds.
	version uint64
	// runs date the findings over all of samples (see runs).
	runs runs
	// counters turns each scrape's counters into cumulatives (cumulate),
	// hist the histogram's buckets (histTrack.cumulate).
	counters counterTrack
	hist     histTrack
	// memo is the last Dependency derived, reused while nothing it was
	// derived from changed: the UI takes a Snapshot on every ingest, and
	// one target's scrape leaves every other target's dependencies as
	// they were. Atomic because Snapshots run concurrently under the read lock.
	memo atomic.Pointer[depMemo]
}

// depMemo is a derived Dependency and what it was derived from. Its slices
// are shared by every Snapshot that reuses it, read-only.
type depMemo struct {
	version uint64
	n       int // samples at or before the snapshot's time
	window  time.Duration
	stale   bool
	dep     Dependency
}

// Fields of a sample's values; calls per outcome follow fCalls in the order
// of Outcomes.
const (
	fTransitions = iota
	fLastTransition
	fRetries
	fUnsafeRetries
	fRetriesExhausted
	fRetryMaxAttempts
	fTimeout
	fLatencyMean
	fPoolActive
	fPoolIdle
	fPoolMax
	fPoolPending
	fPoolAcquireTimeouts
	fBulkheadInFlight
	fBulkheadMax
	fPendingCount
	fPendingOldest
	fPendingCreated
	fPendingResolved
	fFailureRate
	fSlowCallRate
	fForcedRejections
	fEjectedHosts
	fTimedOutFailures
	fCalls
	nFields = fCalls + 5
)

// callField is the sample field of an outcome's call counter.
func callField(o Outcome) int { return fCalls + slices.Index(Outcomes, o) }

// fRejected is the field of calls a bulkhead rejected, looked up once:
// findings read it for every step of a history.
var fRejected = callField(OutcomeBulkheadRejected)

// sample is one scrape's raw values for one dependency: only what the
// profiles extracted, never the page.
type sample struct {
	t       time.Time
	v       [nFields]float64
	breaker BreakerState
	limit   string
	// bounds is shared between samples while the layout does not change;
	// counts is cumulative, aligned with bounds. Both nil without histogram.
	bounds, counts []float64
	quantiles      map[float64]float64 // summary quantiles; nil when none
}

// NewStore returns an empty Store.
func NewStore(o StoreOptions) *Store {
	if o.History <= 0 {
		o.History = DefaultHistory
	}
	if o.Thresholds == (Thresholds{}) {
		o.Thresholds = DefaultThresholds()
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = DefaultMaxSamples
	}
	if o.MaxDependencies <= 0 {
		o.MaxDependencies = DefaultMaxDependencies
	}
	s := &Store{opts: o, targets: map[string]*targetState{}, events: eventLog{max: o.MaxEvents}}
	for _, p := range o.Profiles {
		s.conventions = append(s.conventions, p.Name())
	}
	slices.Sort(s.conventions)
	return s
}

// Candidates returns the profiles that may read target's pages: the forced
// ones when the target is forced (--profile), else every profile, which
// the Store narrows by detection on each page. A Source that decodes only
// the families profiles read (scrape.Target.Profiles) is given these.
func (o StoreOptions) Candidates(target string) []Profile {
	force := o.forced(target)
	if len(force) == 0 {
		return o.Profiles
	}
	return slices.DeleteFunc(slices.Clone(o.Profiles), func(p Profile) bool { return !slices.Contains(force, p.Name()) })
}

// forced returns the profile names forced for target, if any.
func (o StoreOptions) forced(target string) []string {
	if force, ok := o.ForceByTarget[target]; ok {
		return force
	}
	return o.Force
}

// applying returns the profiles to read a target's page with: the forced
// ones when forced, else those that detect their convention on the page.
func (s *Store) applying(target string, p *Page) []Profile {
	if len(s.opts.forced(target)) > 0 {
		return s.opts.Candidates(target)
	}
	var out []Profile
	for _, pr := range s.opts.Profiles {
		if detect(pr, p) {
			out = append(out, pr)
		}
	}
	return out
}

// detect and read guard the store against a profile that panics on odd
// input: one bad page must cost one target an error, not the program.
func detect(pr Profile, p *Page) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return pr.Detect(p)
}

func read(pr Profile, p *Page) (obs []Observation, err error) {
	defer func() {
		if r := recover(); r != nil {
			obs, err = nil, fmt.Errorf("profile %s failed on this page: %v", pr.Name(), r)
		}
	}()
	return pr.Read(p), nil
}

// Ingest records one scrape. Profiles read the page before the lock is
// taken, so concurrent scrapes only serialise on appending.
func (s *Store) Ingest(sc Scrape) {
	err := sc.Err
	if err == nil && sc.Page == nil {
		err = fmt.Errorf("empty scrape")
	}
	var (
		names []string
		lists [][]Observation
	)
	if err == nil {
		for _, pr := range s.applying(sc.Target, sc.Page) {
			obs, rerr := read(pr, sc.Page)
			if rerr != nil {
				err = rerr
				break
			}
			names = append(names, pr.Name())
			lists = append(lists, obs)
		}
	}
	var ms []merged
	if err == nil {
		ms = mergeObservations(lists)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.targets[sc.Target]
	if ts == nil {
		ts = &targetState{url: sc.Target, deps: map[string]*depState{}}
		s.targets[sc.Target] = ts
	}
	if ts.everScraped && !sc.Time.After(ts.lastScrape) {
		return // out of order: rates need time to move forward
	}
	ts.everScraped = true
	ts.lastScrape = sc.Time
	ts.duration = sc.Duration
	ts.bytes = sc.Bytes
	ts.warnings, ts.source = sc.Warnings, sc.Source
	if err != nil {
		s.targetFailed(ts, sc.Time, err.Error())
		return
	}
	if ts.err != "" {
		s.events.add(Event{Time: sc.Time, Target: ts.url,
			Message: fmt.Sprintf("scrape recovered after %s down", roundDur(sc.Time.Sub(ts.downSince)))})
	}
	ts.err, ts.downSince = "", time.Time{}
	ts.lastSuccess = sc.Time
	ts.series = sc.Page.Series()
	ts.profiles = names
	ignored := 0
	for i := range ms {
		if !s.append(ts, &ms[i], sc.Time) {
			ignored++
		}
	}
	if ignored > 0 && !ts.overLimit {
		s.events.add(Event{Time: sc.Time, Target: ts.url, Message: fmt.Sprintf(
			"%d dependencies over the limit of %d ignored", ignored, s.opts.MaxDependencies)})
	}
	ts.overLimit = ignored > 0
	s.trim(ts, sc.Time)
}

// targetFailed records a failed scrape; the target keeps its last values.
func (s *Store) targetFailed(ts *targetState, t time.Time, msg string) {
	if ts.err == "" {
		ts.downSince = t
	}
	if ts.err != msg {
		s.events.add(Event{Time: t, Target: ts.url, Message: "scrape failed: " + msg})
	}
	ts.err = msg
}

// append adds one scrape's values to a dependency's history; false when
// the dependency is new and the target already has as many as allowed.
func (s *Store) append(ts *targetState, m *merged, t time.Time) bool {
	d := ts.deps[m.obs.Dependency]
	if d == nil {
		if len(ts.deps) >= s.opts.MaxDependencies {
			return false
		}
		d = &depState{name: m.obs.Dependency}
		ts.deps[d.name] = d
		s.deps++
	}
	d.profiles = m.profiles
	d.lastSeen = t
	smp := sample{t: t, breaker: m.obs.Breaker, limit: m.obs.BreakerLimit, quantiles: m.obs.LatencyQuantiles}
	if smp.breaker == "" {
		smp.breaker = BreakerUnknown
	}
	o := m.obs
	smp.v = [nFields]float64{
		fTransitions: o.Transitions, fLastTransition: o.LastTransition,
		fRetries: o.Retries, fUnsafeRetries: o.UnsafeRetries, fRetriesExhausted: o.RetriesExhausted, fRetryMaxAttempts: o.RetryMaxAttempts,
		fTimeout: o.TimeoutSeconds, fLatencyMean: o.LatencyMean,
		fPoolActive: o.PoolActive, fPoolIdle: o.PoolIdle, fPoolMax: o.PoolMax, fPoolPending: o.PoolPending,
		fPoolAcquireTimeouts: o.PoolAcquireTimeouts,
		fBulkheadInFlight:    o.BulkheadInFlight, fBulkheadMax: o.BulkheadMax,
		fPendingCount: o.PendingCount, fPendingOldest: o.PendingOldestAge,
		fPendingCreated: o.PendingCreated, fPendingResolved: o.PendingResolved,
		fFailureRate: o.BreakerFailureRate, fSlowCallRate: o.BreakerSlowCallRate,
		fForcedRejections: o.ForcedRejections, fEjectedHosts: o.EjectedHosts,
		fTimedOutFailures: o.TimedOutFailures,
	}
	for i, out := range Outcomes {
		smp.v[fCalls+i] = nan
		if v, ok := o.Calls[out]; ok {
			smp.v[fCalls+i] = v
		}
	}
	// Profiles, user mappings included, promise finite non-negative
	// counters; a profile that breaks that promise must not make a rate
	// negative or infinite, so such a value is unknown.
	for _, f := range counterFields {
		if v := smp.v[f]; v < 0 || math.IsInf(v, 0) {
			smp.v[f] = nan
		}
	}
	d.counters.cumulate(&smp.v, o.parts)
	var prev *sample
	if n := len(d.samples); n > 0 {
		prev = &d.samples[n-1]
	}
	if o.Latency != nil && len(o.Latency.Bounds) == len(o.Latency.Counts) && len(o.Latency.Bounds) > 0 {
		smp.bounds, smp.counts = normalizeHistogram(o.Latency)
		smp.bounds = d.hist.cumulate(smp.bounds, smp.counts)
	}
	var step Point
	if prev != nil {
		forcedByRejections(prev, &smp)
		s.breakerEvents(ts.url, d.name, prev, &smp)
		step = pointOf(prev, &smp, &s.scratch)
	}
	d.push(smp)
	d.points = append(d.points, step)
	d.runs.appended(d.samples, d.points, &s.opts.Thresholds)
	d.version++
	s.samples++
	return true
}

// push appends smp to d's samples. When their array is full and at least
// a quarter of their length was freed before them, they move to its front
// (no more copying than growing by a quarter, as append does at this
// size, and no allocation); otherwise append grows a new array.
func (d *depState) push(smp sample) {
	if n := len(d.samples); n == cap(d.samples) && d.head > 0 && d.head >= n/4 {
		copy(d.base[:n], d.samples)
		clear(d.base[n : d.head+n]) // the moved samples' old slots
		d.samples, d.head = d.base[:n], 0
	}
	if len(d.samples) == cap(d.samples) {
		d.samples = append(d.samples, smp)
		d.base, d.head = d.samples[:0:cap(d.samples)], 0
		return
	}
	d.samples = append(d.samples, smp)
}

// counterTrack follows the series behind one dependency's counter fields
// and turns each field into one cumulative that never decreases, with
// Prometheus's semantics for a sum of counters (sum over series of
// increase()): each series' increase counts with its own resets, a series
// that vanished stops counting, a new one counts from its first sample on.
// History then stays one float per field, resets already accounted for,
// and rates are differences of it as before. It holds only the raw values
// of the last scrape that carried each field.
type counterTrack struct {
	cum  [nFields]float64 // per counter field, valid once the field was seen
	seen uint64           // bit f: field f was seen
	last []counterPart    // raw values, sorted by field then series
	next []counterPart    // the buffer the next last is built in
}

// cumulate replaces v's counter fields with their cumulatives. parts are
// the raw values of the series the fields were summed from; a field known
// without parts is one series. A field this scrape lacks stays unknown and
// keeps its series, so the increase across the gap counts when it is back,
// as a rate over a missed scrape does. parts is reordered.
func (c *counterTrack) cumulate(v *[nFields]float64, parts []counterPart) {
	var has uint64
	n := 0
	for _, p := range parts {
		if p.value >= 0 && !math.IsInf(p.value, 0) && p.field < 64 {
			parts[n] = p
			n++
			has |= 1 << p.field
		}
	}
	parts = parts[:n]
	for _, f := range counterFields {
		if has&(1<<f) == 0 && !math.IsNaN(v[f]) {
			parts = append(parts, counterPart{field: f, value: v[f]})
		}
	}
	if len(parts) > 1 {
		slices.SortFunc(parts, func(a, b counterPart) int {
			if a.field != b.field {
				return a.field - b.field
			}
			return cmp.Compare(a.series, b.series)
		})
	}
	next, li := c.next[:0], 0
	for i := 0; i < len(parts); {
		f := parts[i].field
		for li < len(c.last) && c.last[li].field < f {
			next = append(next, c.last[li]) // a field this scrape lacks
			li++
		}
		lo := li
		for li < len(c.last) && c.last[li].field == f {
			li++
		}
		prev, k := c.last[lo:li], 0
		sum, inc := 0.0, 0.0
		for ; i < len(parts) && parts[i].field == f; i++ {
			p := parts[i]
			sum += p.value
			if m := len(next) - 1; m >= 0 && next[m].field == f && next[m].series == p.series {
				next[m].value += p.value // one series reported twice adds up
			} else {
				next = append(next, p)
			}
		}
		// Increases of the series seen last time; next holds this field's
		// series from start on, sorted and each once.
		start := len(next)
		for start > 0 && next[start-1].field == f {
			start--
		}
		for _, p := range next[start:] {
			for k < len(prev) && prev[k].series < p.series {
				k++
			}
			if k < len(prev) && prev[k].series == p.series {
				inc += counterDelta(prev[k].value, p.value)
			}
		}
		if c.seen&(1<<f) == 0 {
			c.cum[f], c.seen = sum, c.seen|1<<f
		} else {
			c.cum[f] += inc
		}
		v[f] = c.cum[f]
	}
	next = append(next, c.last[li:]...)
	c.last, c.next = next, c.last
}

// histTrack turns a dependency's histogram buckets into cumulatives that
// never decrease, each bucket a counter with its own resets, as counterTrack
// does for counters: history holds no reset, so any two samples' difference
// is the increase between them, with samples in between dropped or missing.
//
// Samples share one bounds slice exactly while their cumulatives form one
// run: the same layout, no restart, every count finite and none lower than
// the run's previous sample's. A window whose first and last histograms
// share it has last − first as its increase (bucketIncrease).
type histTrack struct {
	bounds []float64 // layout of the last histogram; nil before the first
	raw    []float64 // its counts as scraped
	cum    []float64 // its cumulatives (the last sample's counts, read only)
}

// cumulate replaces counts, a histogram of layout bounds as scraped, by
// its cumulatives in place, and returns the bounds slice the sample keeps:
// the run's when it continues it, else bounds. A new layout starts afresh:
// its buckets are other counters.
func (h *histTrack) cumulate(bounds, counts []float64) []float64 {
	if h.bounds == nil || !sameBounds(h.bounds, bounds) {
		h.bounds, h.raw, h.cum = bounds, append(h.raw[:0], counts...), counts
		return bounds
	}
	// Negative or infinite counts from a broken page still cumulate as
	// every bucket's own counter, but end the run: between two of its
	// samples, last − first would not be the sum of the increases.
	run := true
	for k, v := range counts {
		counts[k] = h.cum[k] + counterDelta(h.raw[k], v)
		h.raw[k] = v
		run = run && counts[k] >= h.cum[k] && !math.IsInf(counts[k], 0)
	}
	if run {
		bounds = h.bounds
	}
	h.bounds, h.cum = bounds, counts
	return bounds
}

// counterFields are the sample fields that hold counters.
var counterFields = func() []int {
	fs := []int{fTransitions, fRetries, fUnsafeRetries, fRetriesExhausted, fPoolAcquireTimeouts,
		fPendingCreated, fPendingResolved, fForcedRejections, fTimedOutFailures}
	for i := range Outcomes {
		fs = append(fs, fCalls+i)
	}
	return fs
}()

// forcedByRejections shows cur's breaker forced open when calls rejected
// by a forced open (Envoy maintenance mode) rose since prev and no profile
// reported a state that says more: where no state gauge exists, rejections
// are the only way a force-open can be seen, and so verified.
func forcedByRejections(prev, cur *sample) {
	if cur.breaker != BreakerUnknown && cur.breaker != BreakerClosed {
		return
	}
	a, b := prev.v[fForcedRejections], cur.v[fForcedRejections]
	if !math.IsNaN(a) && !math.IsNaN(b) && counterDelta(a, b) > 0 {
		cur.breaker = BreakerForcedOpen
	}
}

// normalizeHistogram returns a histogram's bounds sorted, equal bounds
// merged and NaN bounds dropped, with its counts; copies, never the
// profile's slices.
func normalizeHistogram(h *Histogram) ([]float64, []float64) {
	bs := make([]Bucket, 0, len(h.Bounds))
	for i, b := range h.Bounds {
		if !math.IsNaN(b) {
			bs = append(bs, Bucket{b, h.Counts[i]})
		}
	}
	if len(bs) == 0 {
		return nil, nil
	}
	slices.SortStableFunc(bs, func(a, b Bucket) int {
		switch {
		case a.UpperBound < b.UpperBound:
			return -1
		case a.UpperBound > b.UpperBound:
			return 1
		}
		return 0
	})
	bs = coalesceBuckets(bs)
	bounds, counts := make([]float64, len(bs)), make([]float64, len(bs))
	for i, b := range bs {
		bounds[i], counts[i] = b.UpperBound, b.Count
	}
	return bounds, counts
}

// trim drops history older than History, drops dependencies not seen for
// that long, and thins histories when the store holds too many samples.
func (s *Store) trim(ts *targetState, now time.Time) {
	cutoff := now.Add(-s.opts.History)
	perDep := s.perDepBudget()
	for name, d := range ts.deps {
		if d.lastSeen.Before(cutoff) {
			s.samples -= len(d.samples)
			delete(ts.deps, name)
			s.deps--
			continue
		}
		k := 0
		for k < len(d.samples) && d.samples[k].t.Before(cutoff) {
			k++
		}
		if k > 0 {
			s.samples -= k
			clear(d.samples[:k]) // let dropped histograms be collected
			d.samples = d.samples[k:]
			d.head += k
			d.points = d.points[k:]
			d.runs.trimmed(k, d.samples, d.points, &s.opts.Thresholds)
			d.version++
		}
		// One pass drops a quarter; when the share shrank (dependencies
		// were added) more are needed.
		thinned := false
		for len(d.samples) > perDep {
			n := thin(d, &s.scratch)
			if n == 0 {
				break
			}
			s.samples -= n
			d.version++
			thinned = true
		}
		if thinned {
			d.runs.reset(d.samples, d.points, &s.opts.Thresholds)
		}
	}
}

// perDepBudget is how many samples one dependency may hold now. The
// dependencies are counted as they come and go: counting them over every
// target at each scrape was a tenth of Ingest with 1,000 targets.
func (s *Store) perDepBudget() int {
	if s.deps == 0 {
		return s.opts.MaxSamples
	}
	return max(minSamplesPerDep, s.opts.MaxSamples/s.deps)
}

// thin drops every other sample of the older half of d's history, keeping
// the oldest and the recent half at full resolution, and returns how many
// went. Counter and bucket increases survive: the Store keeps them as
// cumulatives with resets already accounted for (counterTrack, histTrack),
// so the increase across a dropped sample is the difference of its
// neighbours. Only the resolution of old gauges and steps is lost.
func thin(d *depState, scratch *[]Bucket) int {
	ss := d.samples
	half := len(ss) / 2
	out := ss[:0]
	// A new slice, not the old one rewritten: snapshots may still read it.
	pts := make([]Point, 0, len(ss)-half/2)
	for i := range ss {
		if i < half && i%2 == 1 {
			continue
		}
		p := d.points[i]
		if j := i - 1; j >= 0 && j < half && j%2 == 1 {
			// Its predecessor went: the step now spans both intervals.
			p = pointOf(&out[len(out)-1], &ss[i], scratch)
		}
		out = append(out, ss[i])
		pts = append(pts, p)
	}
	clear(ss[len(out):]) // let dropped histograms be collected
	d.samples, d.points = out, pts
	return len(ss) - len(out)
}

// roundDur rounds a duration for messages.
func roundDur(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// Snapshot derives an immutable view at now over the window: rates over the
// samples inside [end−window, end], where end is the last scrape at or
// before now that carried the dependency (so a stale dependency keeps its
// last values), gauges from that last scrape, findings, and events. A
// dependency that did not change since the last Snapshot is not derived
// again: its slices are shared with that Snapshot and with the store, which
// never writes them again, so every Snapshot is read-only to its users.
func (s *Store) Snapshot(now time.Time, window time.Duration) *Snapshot {
	return s.snapshot(now, window, false)
}

// snapshot is Snapshot; with walk, every dependency is derived again and
// its findings dated by walking its history, and the findings are sorted
// as one list: the reference the fast path must equal (tests).
func (s *Store) snapshot(now time.Time, window time.Duration, walk bool) *Snapshot {
	if window <= 0 {
		window = time.Minute
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	snap := &Snapshot{Time: now, Window: window, Events: s.events.list(), Conventions: s.conventions}
	// Sized once: a Dependency is a large struct, and growing a slice of
	// thousands by doubling copied each several times.
	snap.Targets = make([]TargetHealth, 0, len(s.targets))
	snap.Dependencies = make([]Dependency, 0, s.deps)
	var (
		scratch []Bucket
		// Every finding in sortFindings' order without sorting them:
		// each target's findings (its down finding, else its
		// dependencies') in the order of its URL and their names, each
		// dependency's already sorted, laid out by rank.
		groups   = make([]findingGroup, 0, len(s.targets))
		findings int
	)
	for _, ts := range s.targets {
		snap.Targets = append(snap.Targets, s.health(ts))
		var down *Finding
		g := findingGroup{url: ts.url, lo: len(snap.Dependencies)}
		if ts.err != "" {
			f := targetDownFinding(ts, now)
			down = &f
			g.down = []Finding{f}
			findings++
		}
		for _, d := range ts.deps {
			dep, ok := s.dependency(ts, d, now, window, &scratch, walk)
			if !ok {
				continue
			}
			if down != nil {
				f := *down
				f.Dependency = dep.Name
				dep.Findings = append([]Finding{f}, dep.Findings...)
			} else {
				findings += len(dep.Findings)
			}
			snap.Dependencies = append(snap.Dependencies, dep)
		}
		g.hi = len(snap.Dependencies)
		groups = append(groups, g)
	}
	slices.SortFunc(snap.Targets, func(a, b TargetHealth) int { return cmpString(a.URL, b.URL) })
	if findings > 0 {
		snap.Findings = s.orderFindings(groups, snap.Dependencies, findings, walk)
	}
	sortDependencies(snap.Dependencies)
	return snap
}

// findingGroup is one target's part of a Snapshot: its down finding, or
// its dependencies' findings, those of Dependencies[lo:hi].
type findingGroup struct {
	url    string
	down   []Finding
	lo, hi int
}

// orderFindings lists the n findings of the groups, worst first, in
// sortFindings' order. A finding's place is decided by its rank, target
// and dependency, and only one dependency's findings can tie, which each
// has in order already: laying them out by rank, the groups in target
// order and each target's dependencies by name, gives that order without
// comparing findings (sorting each of thousands of findings was a tenth
// of a Snapshot). With walk they are sorted instead, the reference.
func (s *Store) orderFindings(groups []findingGroup, deps []Dependency, n int, walk bool) []Finding {
	var lists [][]Finding // in target, then dependency order
	slices.SortFunc(groups, func(a, b findingGroup) int { return cmpString(a.url, b.url) })
	var byName []int
	for _, g := range groups {
		if g.down != nil {
			lists = append(lists, g.down)
			continue
		}
		byName = byName[:0]
		for i := g.lo; i < g.hi; i++ {
			if len(deps[i].Findings) > 0 {
				byName = append(byName, i)
			}
		}
		slices.SortFunc(byName, func(a, b int) int { return cmpString(deps[a].Name, deps[b].Name) })
		for _, i := range byName {
			lists = append(lists, deps[i].Findings)
		}
	}
	out := make([]Finding, 0, n)
	if walk {
		for _, l := range lists {
			out = append(out, l...)
		}
		sortFindings(out)
		return out
	}
	var at [3 * 16]int // where each rank's findings begin (findingRank)
	for _, l := range lists {
		for i := range l {
			at[findingRank(&l[i])]++
		}
	}
	sum := 0
	for r, c := range at {
		at[r], sum = sum, sum+c
	}
	out = out[:n]
	for _, l := range lists {
		for i := range l {
			r := findingRank(&l[i])
			out[at[r]] = l[i]
			at[r]++
		}
	}
	return out
}

// health reports how scraping one target goes.
func (s *Store) health(ts *targetState) TargetHealth {
	return TargetHealth{
		URL: ts.url, Up: ts.everScraped && ts.err == "", Err: ts.err,
		LastScrape: ts.lastScrape, LastSuccess: ts.lastSuccess,
		ScrapeDuration: ts.duration, Series: ts.series, Bytes: ts.bytes,
		Profiles: slices.Clone(ts.profiles), Warnings: ts.warnings, Source: ts.source,
	}
}

// dependency derives one dependency's readings; ok is false when it has no
// sample at or before now.
func (s *Store) dependency(ts *targetState, d *depState, now time.Time, window time.Duration, scratch *[]Bucket, walk bool) (Dependency, bool) {
	n := samplesUpTo(d.samples, now)
	all := d.samples[:n]
	if len(all) == 0 {
		return Dependency{}, false
	}
	stale := ts.err != "" || !d.lastSeen.Equal(ts.lastSuccess)
	if m := d.memo.Load(); !walk && m != nil && m.version == d.version && m.n == n && m.window == window && m.stale == stale {
		return m.dep, true
	}
	// The runs describe every sample; a snapshot of an earlier time walks.
	runs, brk := &d.runs, d.runs.breaker
	if walk || n < len(d.samples) {
		runs, brk = nil, breakerRun(all)
	}
	last := &all[len(all)-1]
	ws := inWindow(all, last.t.Add(-window), last.t)
	w := ratesOf(ws)
	dep := Dependency{
		Target: ts.url, Name: d.name, Profiles: slices.Clone(d.profiles),
		Breaker: Breaker{
			State: last.breaker, Since: breakerSince(all, brk), Transitions: Value(w.transitions), Limit: last.limit,
			FailureRate: Value(last.v[fFailureRate]), SlowCallRate: Value(last.v[fSlowCallRate]),
		},
		CallsPerSecond: Value(w.calls), ErrorRatio: Value(w.errorRatio),
		TimeoutsPerSecond: Value(w.timeouts), RetriesPerSecond: Value(w.retries), RetryRatio: Value(w.retryRatio),
		UnsafeRetriesPerSecond: Value(w.unsafeRetries),
		Latency:                unknownQuantiles(),
		LatencyMean:            Value(last.v[fLatencyMean]),
		TimeoutSeconds:         Value(last.v[fTimeout]),
		Pool:                   Pool{InUse: Value(last.v[fPoolActive]), Max: Value(last.v[fPoolMax]), Pending: Value(last.v[fPoolPending])},
		Bulkhead: Bulkhead{
			InFlight: Value(last.v[fBulkheadInFlight]), Max: Value(last.v[fBulkheadMax]), RejectedPerSecond: Value(w.rejected),
		},
		Pending: Pending{
			Count: Value(last.v[fPendingCount]), OldestAgeSeconds: Value(last.v[fPendingOldest]),
			CreatedPerSecond: Value(w.created), ResolvedPerSecond: Value(w.resolved),
		},
		EjectedHosts: Value(last.v[fEjectedHosts]),
		Stale:        stale,
		LastSeen:     d.lastSeen,
		BucketBounds: slices.Clone(last.bounds),
	}
	if bounds, inc, ok := bucketIncrease(ws); ok {
		dep.Latency = quantilesOf(bounds, inc, scratch)
	} else if last.bounds == nil && len(last.quantiles) > 0 {
		dep.Latency = summaryQuantiles(last.quantiles)
	}
	if len(ws) > 1 {
		dep.History = history(d, n-len(ws), n, last.bounds)
	}
	// A stale dependency's conditions are not current; a target down says
	// why (below), a vanished dependency's Stale flag does.
	if !dep.Stale {
		// d.points[0] has no predecessor: the steps start at the second sample.
		dep.Findings = findingsOf(&dep, all, d.points[:n], ws, w, s.opts.Thresholds, runs)
	}
	if !walk {
		d.memo.Store(&depMemo{version: d.version, n: n, window: window, stale: stale, dep: dep})
	}
	return dep, true
}

// breakerSince is when the breaker entered its current state: the reported
// last-transition time when the page has one, else the first scrape of the
// current state when history shows the change (the change happened between
// that scrape and the one before); zero when unknown. A scrape with no state
// but with the forced-rejections counter did show the breaker not forced
// open (forcedByRejections), so a forced open is dated from it. run is
// where the newest samples of one state begin (breakerRun).
func breakerSince(all []sample, run int) time.Time {
	last := &all[len(all)-1]
	if lt := last.v[fLastTransition]; lt > 0 && !math.IsInf(lt, 0) {
		sec, frac := math.Modf(lt)
		return time.Unix(int64(sec), int64(frac*1e9))
	}
	if !known(last.breaker) || run == 0 {
		return time.Time{}
	}
	prev := &all[run-1]
	sawNotForced := last.breaker == BreakerForcedOpen && !math.IsNaN(prev.v[fForcedRejections])
	if !known(prev.breaker) && !sawNotForced {
		return time.Time{}
	}
	return all[run].t
}

// breakerRun is the index of the first of the newest samples of ss that
// all have the last one's breaker state.
func breakerRun(ss []sample) int {
	i := len(ss) - 1
	for i > 0 && ss[i-1].breaker == ss[i].breaker {
		i--
	}
	return i
}

// history returns the steps between samples lo and hi-1 of d: the cached
// points themselves when every step with latency has the layout of the
// window's last scrape, else a copy in which the steps of another layout
// have none, as a chart of one layout cannot show them.
func history(d *depState, lo, hi int, bounds []float64) []Point {
	pts := d.points[lo+1 : hi : hi] // capped: appending to it copies
	if oneRun(d.samples[lo+1:hi], bounds) {
		return pts
	}
	var out []Point
	for i := range pts {
		if pts[i].Buckets == nil || sameBounds(d.samples[lo+1+i].bounds, bounds) {
			continue
		}
		if out == nil {
			out = slices.Clone(pts)
		}
		out[i].Latency, out[i].Buckets = unknownQuantiles(), nil
	}
	if out != nil {
		return out
	}
	return pts
}

// oneRun reports whether every sample of ss that has a histogram shares
// bounds' array, looking only as far as the first that has one: histTrack
// gives a sample either the array of the run it continues or a new one, so
// an array, once replaced, never comes back, and samples sharing one are
// consecutive (thin keeps their order). With the first histogram and the
// last (bounds) on one array, every one between is on it too. False says
// only that history must look at each.
func oneRun(ss []sample, bounds []float64) bool {
	for i := range ss {
		if b := ss[i].bounds; b != nil {
			return len(b) > 0 && len(b) == len(bounds) && &b[0] == &bounds[0]
		}
	}
	return true
}

// pointOf derives one history step from two consecutive samples; its
// latency and per-bucket rates need both to have b's histogram layout.
func pointOf(a, b *sample, scratch *[]Bucket) Point {
	dt := b.t.Sub(a.t).Seconds()
	p := Point{
		Time: b.t, CallsPerSecond: Unknown(), ErrorRatio: Unknown(),
		TimeoutsPerSecond: Unknown(), RetriesPerSecond: Unknown(), Latency: unknownQuantiles(),
		Breaker: b.breaker, PoolInUse: Value(b.v[fPoolActive]), BulkheadInFlight: Value(b.v[fBulkheadInFlight]),
		PendingCount: Value(b.v[fPendingCount]), PendingOldest: Value(b.v[fPendingOldest]),
	}
	if dt <= 0 {
		return p
	}
	step := func(f int) (float64, bool) {
		x, y := a.v[f], b.v[f]
		if math.IsNaN(x) || math.IsNaN(y) {
			return nan, false
		}
		return counterDelta(x, y), true
	}
	var all, bad float64
	anyCalls := false
	for i, o := range Outcomes {
		if d, ok := step(fCalls + i); ok {
			anyCalls = true
			all += d
			if o != OutcomeSuccess {
				bad += d
			}
		}
	}
	if anyCalls {
		p.CallsPerSecond = Value(all / dt)
		if all > 0 {
			p.ErrorRatio = Value(bad / all)
		}
	}
	var timeouts float64
	anyTimeouts := false
	for _, f := range timeoutFields {
		if d, ok := step(f); ok {
			timeouts += d
			anyTimeouts = true
		}
	}
	if anyTimeouts {
		p.TimeoutsPerSecond = Value(timeouts / dt)
	}
	if d, ok := step(fRetries); ok {
		p.RetriesPerSecond = Value(d / dt)
	}
	if bounds := b.bounds; bounds != nil && sameBounds(a.bounds, bounds) {
		// buckets holds the cumulative increases first, then the rates.
		buckets := make([]float64, len(bounds))
		for k := range buckets {
			buckets[k] = counterDelta(a.counts[k], b.counts[k])
		}
		p.Latency = quantilesOf(bounds, buckets, scratch)
		prev := 0.0
		for k, c := range buckets {
			buckets[k] = max(0, c-prev) / dt
			prev = max(prev, c)
		}
		p.Buckets = buckets
	}
	return p
}

// cmpString orders strings for sorting.
func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
