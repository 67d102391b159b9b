package model

import (
	"maps"
	"math"
	"slices"
)

// merged is one dependency's observations from every applying profile,
// folded into one, plus the names of the profiles that reported it.
type merged struct {
	obs      *Observation // the first profile's, in its list, changed in place
	profiles []string
}

// mergeObservations folds observations by dependency name. lists are in
// profile order (resiltop's own first): for every value the first profile
// that knows it wins. Calls come whole from the first profile that counts
// any: two profiles may count the same calls in different outcomes
// (resilience4j's failures are Spring's timeouts), so outcomes of several
// never add up.
// Dependencies keep the order in which they were first reported.
//
// Every name is cleaned here (cleanName), the one place all profiles'
// observations pass, so that no profile can let a hostile label value reach
// the terminal, the --once table or an admin request.
func mergeObservations(lists [][]Observation) []merged {
	total := 0
	for _, list := range lists {
		total += len(list)
	}
	out := make([]merged, 0, total)
	index := make(map[string]int, total)
	// Each dependency's profile list starts as one element of own, capped
	// so that adding a second profile copies it: one allocation, not one
	// per dependency.
	own := make([]string, 0, total)
	for _, list := range lists {
		for i := range list {
			o := &list[i]
			name := cleanName(o.Dependency)
			if name == "" {
				continue
			}
			j, ok := index[name]
			if !ok {
				index[name] = len(out)
				o.Dependency = name
				o.parts = slices.Clip(o.parts) // fill appends: never into an array another observation may share
				own = append(own, o.Profile)
				out = append(out, merged{obs: o, profiles: own[len(own)-1 : len(own) : len(own)]})
				continue
			}
			m := &out[j]
			if !slices.Contains(m.profiles, o.Profile) {
				m.profiles = append(m.profiles, o.Profile)
			}
			fill(m.obs, o)
		}
	}
	return out
}

// fill copies into dst every value dst does not know yet, a counter with
// the parts it was summed from.
func fill(dst, src *Observation) {
	if dst.Breaker == BreakerUnknown || dst.Breaker == "" {
		dst.Breaker = src.Breaker
	}
	if dst.BreakerLimit == "" {
		dst.BreakerLimit = src.BreakerLimit
	}
	for _, f := range [...]struct{ d, s *float64 }{
		{&dst.LastTransition, &src.LastTransition},
		{&dst.Transitions, &src.Transitions},
		{&dst.Retries, &src.Retries},
		{&dst.UnsafeRetries, &src.UnsafeRetries},
		{&dst.RetriesExhausted, &src.RetriesExhausted},
		{&dst.RetryMaxAttempts, &src.RetryMaxAttempts},
		{&dst.TimeoutSeconds, &src.TimeoutSeconds},
		{&dst.LatencyMean, &src.LatencyMean},
		{&dst.PoolActive, &src.PoolActive},
		{&dst.PoolIdle, &src.PoolIdle},
		{&dst.PoolMax, &src.PoolMax},
		{&dst.PoolPending, &src.PoolPending},
		{&dst.PoolAcquireTimeouts, &src.PoolAcquireTimeouts},
		{&dst.BulkheadInFlight, &src.BulkheadInFlight},
		{&dst.BulkheadMax, &src.BulkheadMax},
		{&dst.PendingCount, &src.PendingCount},
		{&dst.PendingOldestAge, &src.PendingOldestAge},
		{&dst.PendingCreated, &src.PendingCreated},
		{&dst.PendingResolved, &src.PendingResolved},
		{&dst.BreakerFailureRate, &src.BreakerFailureRate},
		{&dst.BreakerSlowCallRate, &src.BreakerSlowCallRate},
		{&dst.ForcedRejections, &src.ForcedRejections},
		{&dst.EjectedHosts, &src.EjectedHosts},
	} {
		if math.IsNaN(*f.d) {
			*f.d = *f.s
			if cf := dst.counterOf(f.d); cf >= 0 {
				dst.takeParts(src, cf)
			}
		}
	}
	if len(dst.Calls) == 0 && len(src.Calls) > 0 {
		dst.Calls = maps.Clone(src.Calls)
		for out := range src.Calls {
			dst.takeParts(src, callField(out))
		}
		// Timeouts inside another outcome are inside these calls' outcomes.
		dst.dropParts(fTimedOutFailures)
		dst.TimedOutFailures = src.TimedOutFailures
		dst.takeParts(src, fTimedOutFailures)
	}
	if dst.Latency == nil {
		dst.Latency = src.Latency
	}
	if len(dst.LatencyQuantiles) == 0 {
		dst.LatencyQuantiles = src.LatencyQuantiles
	}
}

// dropParts removes o's parts of counter field f.
func (o *Observation) dropParts(f int) {
	match := func(p counterPart) bool { return p.field == f }
	if slices.ContainsFunc(o.parts, match) {
		// A copy: the array may be shared (see mergeObservations).
		o.parts = slices.DeleteFunc(slices.Clone(o.parts), match)
	}
}

// takeParts appends src's parts of counter field f to o's.
func (o *Observation) takeParts(src *Observation, f int) {
	for _, p := range src.parts {
		if p.field == f {
			o.parts = append(o.parts, p)
		}
	}
}
