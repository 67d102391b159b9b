package model

import "slices"

// GroupByName folds the dependencies of the same name across targets into
// one each, for watching several replicas of one service at once. It is pure:
// deps is left as it is, and the slices of the result (History, Findings, …)
// may share memory with it, so, like a Snapshot's, they are read-only.
//
// A name seen on one target only is that target's dependency unchanged, with
// Members set to its target: nothing is aggregated, so it still names the one
// target an admin action would reach. A name seen on several targets becomes
// one dependency with Target "" and Members listing the targets worst first
// (the Store's order), where:
//   - calls/s, timeouts/s, retries/s, bulkhead rejections/s and PENDING
//     created/s and resolved/s are sums of the known values, unknown only
//     when no member knows them;
//   - the error ratio is the calls-weighted mean over the members that know
//     both, and the retry ratio likewise, which is Σretries/Σcalls; both are
//     unknown when those calls add up to 0 (as in the Store: no calls, no ratio);
//   - latency quantiles cannot be merged exactly from quantiles, so each is
//     the worst (largest) known member value: the worst replica's tail, not a
//     quantile over all calls; the timeout is the largest too;
//   - pool in use, max and waiters, bulkhead in flight and max, the PENDING
//     count and ejected hosts are sums; the oldest PENDING age is the largest;
//   - the breaker is the member breaker in the worst state (see
//     groupBreakerRank; ties go to the worse member), with its Since, Limit
//     and own failure and slow-call rates, and transitions summed;
//   - findings are every member's, worst first; each still names its target;
//   - Stale only when every member is stale; LastSeen is the latest;
//     Profiles is the union;
//   - History, BucketBounds and every other field are the worst member's:
//     histories of different targets are scraped at different times and
//     cannot be added point by point, and a worst-case trend is what the
//     grouped row stands for.
//
// The result is ordered worst first, as Snapshot.Dependencies.
func GroupByName(deps []Dependency) []Dependency {
	// Members are laid out group by group in one copy (a counting sort), so
	// sorting them leaves deps as it is and costs one allocation.
	index := make(map[string]int, len(deps))
	gid := make([]int, len(deps))
	var start []int // start[g+1] counts group g's members until turned into offsets
	start = append(start, 0)
	for i := range deps {
		g, ok := index[deps[i].Name]
		if !ok {
			g = len(start) - 1
			index[deps[i].Name] = g
			start = append(start, 0)
		}
		gid[i] = g
		start[g+1]++
	}
	for g := 1; g < len(start); g++ {
		start[g] += start[g-1]
	}
	members := make([]Dependency, len(deps))
	next := slices.Clone(start)
	for i := range deps {
		members[next[gid[i]]] = deps[i]
		next[gid[i]]++
	}
	out := make([]Dependency, 0, len(start)-1)
	for g := 0; g+1 < len(start); g++ {
		ms := members[start[g]:start[g+1]]
		sortDependencies(ms)
		out = append(out, groupOf(ms))
	}
	sortDependencies(out)
	return out
}

// groupOf folds members, sorted worst first, into one dependency.
func groupOf(ms []Dependency) Dependency {
	g := ms[0]
	g.Members = make([]string, len(ms))
	for i := range ms {
		g.Members[i] = ms[i].Target
	}
	if len(ms) == 1 {
		return g
	}
	g.Target = ""

	g.CallsPerSecond = sumKnown(ms, func(d *Dependency) Value { return d.CallsPerSecond })
	g.TimeoutsPerSecond = sumKnown(ms, func(d *Dependency) Value { return d.TimeoutsPerSecond })
	g.RetriesPerSecond = sumKnown(ms, func(d *Dependency) Value { return d.RetriesPerSecond })
	g.UnsafeRetriesPerSecond = sumKnown(ms, func(d *Dependency) Value { return d.UnsafeRetriesPerSecond })
	g.ErrorRatio = weightedByCalls(ms, func(d *Dependency) Value { return d.ErrorRatio })
	g.RetryRatio = weightedByCalls(ms, func(d *Dependency) Value { return d.RetryRatio })

	g.Latency = Quantiles{
		P50:  maxKnown(ms, func(d *Dependency) Value { return d.Latency.P50 }),
		P90:  maxKnown(ms, func(d *Dependency) Value { return d.Latency.P90 }),
		P99:  maxKnown(ms, func(d *Dependency) Value { return d.Latency.P99 }),
		P999: maxKnown(ms, func(d *Dependency) Value { return d.Latency.P999 }),
	}
	g.LatencyMean = maxKnown(ms, func(d *Dependency) Value { return d.LatencyMean })
	g.TimeoutSeconds = maxKnown(ms, func(d *Dependency) Value { return d.TimeoutSeconds })

	g.Pool = Pool{
		InUse:   sumKnown(ms, func(d *Dependency) Value { return d.Pool.InUse }),
		Max:     sumKnown(ms, func(d *Dependency) Value { return d.Pool.Max }),
		Pending: sumKnown(ms, func(d *Dependency) Value { return d.Pool.Pending }),
	}
	g.Bulkhead = Bulkhead{
		InFlight:          sumKnown(ms, func(d *Dependency) Value { return d.Bulkhead.InFlight }),
		Max:               sumKnown(ms, func(d *Dependency) Value { return d.Bulkhead.Max }),
		RejectedPerSecond: sumKnown(ms, func(d *Dependency) Value { return d.Bulkhead.RejectedPerSecond }),
	}
	g.Pending = Pending{
		Count:             sumKnown(ms, func(d *Dependency) Value { return d.Pending.Count }),
		OldestAgeSeconds:  maxKnown(ms, func(d *Dependency) Value { return d.Pending.OldestAgeSeconds }),
		CreatedPerSecond:  sumKnown(ms, func(d *Dependency) Value { return d.Pending.CreatedPerSecond }),
		ResolvedPerSecond: sumKnown(ms, func(d *Dependency) Value { return d.Pending.ResolvedPerSecond }),
	}

	g.EjectedHosts = sumKnown(ms, func(d *Dependency) Value { return d.EjectedHosts })

	worst := 0
	for i := 1; i < len(ms); i++ {
		if groupBreakerRank(ms[i].Breaker.State) > groupBreakerRank(ms[worst].Breaker.State) {
			worst = i
		}
	}
	g.Breaker = ms[worst].Breaker
	g.Breaker.Transitions = sumKnown(ms, func(d *Dependency) Value { return d.Breaker.Transitions })

	g.Profiles, g.Findings = nil, nil
	for i := range ms {
		m := &ms[i]
		for _, p := range m.Profiles {
			if !slices.Contains(g.Profiles, p) {
				g.Profiles = append(g.Profiles, p)
			}
		}
		g.Findings = append(g.Findings, m.Findings...)
		g.Stale = g.Stale && m.Stale
		if m.LastSeen.After(g.LastSeen) {
			g.LastSeen = m.LastSeen
		}
	}
	sortFindings(g.Findings)
	return g
}

// groupBreakerRank orders breaker states for a group, worst highest. A
// tripped or forced breaker on any replica is what the row must show; closed
// outranks disabled and unknown because it is a breaker at work that finds
// the dependency healthy, where those two say nothing about its health.
func groupBreakerRank(s BreakerState) int {
	switch s {
	case BreakerOpen, BreakerForcedOpen:
		return 4
	case BreakerHalfOpen:
		return 3
	case BreakerClosed:
		return 2
	case BreakerDisabled:
		return 1
	}
	return 0
}

// sumKnown adds the members' known values; unknown when none is known.
func sumKnown(ms []Dependency, f func(*Dependency) Value) Value {
	s, known := 0.0, false
	for i := range ms {
		if v := f(&ms[i]); v.Known() {
			s, known = s+float64(v), true
		}
	}
	if !known {
		return Unknown()
	}
	return Value(s)
}

// maxKnown is the largest known member value; unknown when none is known.
func maxKnown(ms []Dependency, f func(*Dependency) Value) Value {
	out := Unknown()
	for i := range ms {
		if v := f(&ms[i]); v.Known() && (!out.Known() || v > out) {
			out = v
		}
	}
	return out
}

// weightedByCalls is the calls-weighted mean of a per-call ratio over the
// members that know both: for ratios of the calls themselves (errors/calls,
// retries/calls) that is the ratio of the sums.
func weightedByCalls(ms []Dependency, ratio func(*Dependency) Value) Value {
	num, calls := 0.0, 0.0
	for i := range ms {
		r, c := ratio(&ms[i]), ms[i].CallsPerSecond
		if r.Known() && c.Known() {
			num += float64(r) * float64(c)
			calls += float64(c)
		}
	}
	if calls <= 0 {
		return Unknown()
	}
	return Value(num / calls)
}
