package scrape

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"resiltop/internal/model"
)

// backfillBudget bounds groups × steps of a backfill: with about a hundred
// series per instance that is some 15 million points held at once at
// worst. A small fleet gets every step of --history at the refresh
// interval; a large one a coarser step over the same span.
const backfillBudget = 150_000

// rangeSeries is one series of a range answer: prepared once, with its
// points in time order.
type rangeSeries struct {
	p      prepared
	points []point
	next   int // the first point not yet used
}

// Backfill feeds the last span of history into emit before the first live
// refresh: one query_range per family (and for `up` and its timestamps),
// with a step of the refresh interval (coarser for a big fleet, see
// backfillBudget), replayed step by step in time order as per-group
// scrapes stamped with Prometheus's own scrape times. So the first frame
// already has trends, a breaker timeline and findings whose "since" lies
// before resiltop started. It returns the step used and an error when
// the history could not be read; the live refresh does not depend on it.
func (s *PromSource) Backfill(ctx context.Context, span time.Duration, emit func(model.Scrape)) (step time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		// Said on the Prometheus row for the whole session: the screen
		// lacks its history, whatever the live refreshes find.
		if err != nil {
			s.notes = append(s.notes, "history not loaded: "+err.Error())
		}
	}()
	if span <= 0 {
		return 0, nil
	}
	// Whole milliseconds: the API's times are written with three decimals.
	end := time.Now().Truncate(time.Millisecond)
	start := end.Add(-span)
	// A longer timeout than a refresh's: this runs once, and reads more.
	ctx, cancel := context.WithTimeout(ctx, max(4*s.cfg.Timeout, 30*time.Second))
	defer cancel()

	groups := 0
	_, _, err = s.query(ctx, "/api/v1/query", url.Values{"query": {"count(" + selector("up", s.matchers) + ")"}, "time": {formatTime(end)}}, func(sr *series) error {
		if len(sr.points) > 0 {
			groups = int(sr.points[0].v)
		}
		return nil
	})
	if err != nil {
		return 0, s.describe(err)
	}
	step = s.cfg.Interval
	if steps := int(span / step); groups > 0 && groups*steps > backfillBudget {
		step = span / time.Duration(max(1, backfillBudget/groups))
	}
	step = step.Round(time.Millisecond)
	if step <= 0 {
		step = time.Millisecond
	}
	a := &asker{s: s, path: "/api/v1/query_range", params: url.Values{"start": {formatTime(start)}, "end": {formatTime(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', 3, 64)}},
		tooMany: fmt.Sprintf("the history has more than %d series (narrow --selector, raise --max-series or shorten --history)", s.cfg.MaxSeries)}

	// up and its timestamps, per group and step.
	var mu sync.Mutex
	up := map[string][]point{}
	at := map[string][]point{}
	took := map[string][]point{}
	targets := map[string]int{} // up series per group
	strip := map[string]bool{"job": true, "instance": true}
	readUp := func(into map[string][]point, names bool) func(*series) error {
		return func(sr *series) error {
			g := s.groupOf(sr)
			mu.Lock()
			defer mu.Unlock()
			if names {
				targets[g]++
				for _, l := range sr.labels {
					if l.name != nameLabel {
						strip[l.name] = true
					}
				}
			}
			into[g] = append(into[g], sr.points...)
			return nil
		}
	}
	upSel := selector("up", s.matchers)
	jobs := []func() error{
		func() error { return a.ask(ctx, upSel, readUp(up, true)) },
		func() error { return a.ask(ctx, "timestamp("+upSel+")", readUp(at, false)) },
		func() error { return a.ask(ctx, selector("scrape_duration_seconds", s.matchers), readUp(took, false)) },
	}
	if s.types == nil {
		jobs = append(jobs, func() error { s.loadMetadata(ctx, end); return nil })
	}
	if err := runAll(ctx, jobs); err != nil {
		return step, s.describe(err)
	}
	lf := &labelFilter{groupBy: s.cfg.GroupBy, strip: strip}
	fams := s.typedFamilies()
	data := make([][]*rangeSeries, len(fams))
	jobs = jobs[:0]
	for i := range fams {
		jobs = append(jobs, func() error {
			return a.ask(ctx, fams[i].query(s.matchers), func(sr *series) error {
				if p, ok := lf.prepare(&fams[i], sr); ok && len(sr.points) > 0 {
					data[i] = append(data[i], &rangeSeries{p: p, points: slices.Clone(sr.points)})
				}
				return nil
			})
		})
	}
	if err := runAll(ctx, jobs); err != nil {
		return step, s.describe(err)
	}
	s.replay(start, step, int(span/step), fams, data, upSeries{value: up, at: at, took: took, targets: targets}, emit)
	return step, nil
}

// upSeries are the backfill's `up`, `timestamp(up)` and
// scrape_duration_seconds by group, and how many targets each group has.
type upSeries struct {
	value, at, took map[string][]point
	targets         map[string]int
}

// replay emits the history step by step: at each step, one scrape per
// group that Prometheus had scraped again by then. Points are matched to
// steps by index, not by comparing float times.
func (s *PromSource) replay(start time.Time, step time.Duration, steps int, fams []family, data [][]*rangeSeries,
	up upSeries, emit func(model.Scrape)) {
	first, width := float64(start.UnixMilli())/1000, step.Seconds()
	index := func(t float64) int { return int(math.Round((t - first) / width)) }
	// value returns the point of ps at step k, if there is one.
	value := func(ps []point, k int) (float64, bool) {
		i := sort.Search(len(ps), func(i int) bool { return index(ps[i].t) >= k })
		if i < len(ps) && index(ps[i].t) == k {
			return ps[i].v, true
		}
		return 0, false
	}
	prevT := map[string]time.Time{}
	for k := 0; k <= steps; k++ {
		var ps pageSet
		for i := range fams {
			builds := map[string]*famBuild{}
			for _, rs := range data[i] {
				for rs.next < len(rs.points) && index(rs.points[rs.next].t) < k {
					rs.next++
				}
				if rs.next >= len(rs.points) || index(rs.points[rs.next].t) != k {
					continue
				}
				b := builds[rs.p.group]
				if b == nil {
					b = &famBuild{}
					builds[rs.p.group] = b
				}
				b.add(&rs.p, rs.points[rs.next].v)
			}
			ps.collect(&fams[i], builds)
		}
		groups := make([]string, 0, len(ps.groups))
		for g := range ps.groups {
			groups = append(groups, g)
		}
		for g := range up.value {
			if _, ok := ps.groups[g]; !ok {
				if _, present := value(up.value[g], k); present {
					groups = append(groups, g)
				}
			}
		}
		slices.Sort(groups)
		for _, g := range groups {
			sc := model.Scrape{Target: g, Time: start.Add(time.Duration(k) * step)}
			if ts, ok := value(up.at[g], k); ok {
				sc.Time = unixTime(ts)
			}
			if d, ok := value(up.took[g], k); ok {
				sc.Duration = time.Duration(d * float64(time.Second))
			}
			if prev, ok := prevT[g]; ok && !sc.Time.After(prev) {
				continue // Prometheus had not scraped it again by this step
			}
			if n := up.targets[g]; n > 1 {
				sc.Err = s.mixed(g, n)
			} else if v, ok := value(up.value[g], k); ok && v == 0 {
				sc.Err = errors.New("down in Prometheus (up == 0)")
			} else {
				sc.Page = ps.page(g)
			}
			prevT[g] = sc.Time
			s.seen[g] = seenGroup{refresh: start, sample: sc.Time}
			emit(sc)
		}
	}
}
