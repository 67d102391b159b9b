package model

import (
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// This file holds user mappings and the small readers every convention
// profile of this package (resilience4j, spring, otel, envoy, mappings)
// shares. The readers are prefixed conv so they cannot collide with other
// files of the package.

// convLabel returns the value of the label called name on m, "" when absent.
func convLabel(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// convFirstLabel returns the first non-empty value among the labels names.
func convFirstLabel(m *dto.Metric, names ...string) string {
	for _, n := range names {
		if v := convLabel(m, n); v != "" {
			return v
		}
	}
	return ""
}

// convValue returns the value of a counter, gauge or untyped sample as the
// page typed it; NaN for histograms and summaries.
func convValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return nan
}

// convNonNeg keeps v only when it is a finite number ≥ 0: counters, sizes
// and counts cannot be negative, so anything else is unknown, never a value.
func convNonNeg(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return nan
	}
	return v
}

// convIsCounter reports whether the family is a counter by its # TYPE (or
// untyped, which text pages without TYPE lines produce). A _total suffix
// decides nothing.
func convIsCounter(f *dto.MetricFamily) bool {
	t := f.GetType()
	return t == dto.MetricType_COUNTER || t == dto.MetricType_UNTYPED
}

// convIsGauge reports whether the family is a gauge (or untyped).
func convIsGauge(f *dto.MetricFamily) bool {
	t := f.GetType()
	return t == dto.MetricType_GAUGE || t == dto.MetricType_UNTYPED
}

// convAdd adds v to *dst when v is known; an unknown *dst becomes v.
func convAdd(dst *float64, v float64) {
	if math.IsNaN(v) {
		return
	}
	if math.IsNaN(*dst) {
		*dst = v
		return
	}
	*dst += v
}

// convMax keeps the larger of *dst and v, ignoring unknowns.
func convMax(dst *float64, v float64) {
	if math.IsNaN(v) {
		return
	}
	if math.IsNaN(*dst) || v > *dst {
		*dst = v
	}
}

// convAddCall adds a known, non-negative count to o.Calls[out].
func convAddCall(o *Observation, out Outcome, v float64) {
	v = convNonNeg(v)
	if math.IsNaN(v) {
		return
	}
	if o.Calls == nil {
		o.Calls = map[Outcome]float64{}
	}
	o.Calls[out] += v
}

// convHistogram converts a classic histogram sample to seconds (scale
// multiplies bounds and sum: 0.001 for milliseconds). It returns nil when
// the sample has no usable buckets or carries negative or NaN counts, so a
// broken histogram reads as "no latency", never as made-up quantiles. A
// missing +Inf bucket is added from the sample count.
func convHistogram(m *dto.Metric, scale float64) *Histogram {
	h := m.GetHistogram()
	if h == nil || len(h.GetBucket()) == 0 {
		return nil
	}
	type bc struct{ b, c float64 }
	bs := make([]bc, 0, len(h.GetBucket())+1)
	for _, b := range h.GetBucket() {
		ub, c := b.GetUpperBound(), float64(b.GetCumulativeCount())
		if b.CumulativeCountFloat != nil {
			c = b.GetCumulativeCountFloat()
		}
		if math.IsNaN(ub) || math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
			return nil
		}
		bs = append(bs, bc{ub, c})
	}
	sort.SliceStable(bs, func(i, j int) bool { return bs[i].b < bs[j].b })
	count := float64(h.GetSampleCount())
	if h.SampleCountFloat != nil {
		count = h.GetSampleCountFloat()
	}
	if !math.IsInf(bs[len(bs)-1].b, 1) {
		if math.IsNaN(convNonNeg(count)) {
			return nil
		}
		bs = append(bs, bc{math.Inf(1), count})
	}
	out := &Histogram{Bounds: make([]float64, len(bs)), Counts: make([]float64, len(bs))}
	for i, x := range bs {
		out.Bounds[i] = x.b * scale
		out.Counts[i] = x.c
	}
	out.Count = convNonNeg(count)
	out.Sum = h.GetSampleSum() * scale
	return out
}

// convMergeHistogram adds b into a and returns the result. Cumulative counts
// add exactly only at bounds both share, so when the bounds differ the
// result keeps their intersection (which always holds +Inf).
func convMergeHistogram(a, b *Histogram) *Histogram {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := &Histogram{Sum: a.Sum + b.Sum, Count: a.Count + b.Count}
	i, j := 0, 0
	for i < len(a.Bounds) && j < len(b.Bounds) {
		switch {
		case a.Bounds[i] < b.Bounds[j]:
			i++
		case a.Bounds[i] > b.Bounds[j]:
			j++
		default:
			out.Bounds = append(out.Bounds, a.Bounds[i])
			out.Counts = append(out.Counts, a.Counts[i]+b.Counts[j])
			i++
			j++
		}
	}
	if len(out.Bounds) == 0 {
		return nil
	}
	return out
}

// convQuantiles folds a summary's quantiles into q (seconds after scale).
// Quantiles of several series cannot be merged, so q keeps the largest per
// quantile: a conservative tail ("the worst series"), never an invented one.
func convQuantiles(q map[float64]float64, m *dto.Metric, scale float64) map[float64]float64 {
	for _, x := range m.GetSummary().GetQuantile() {
		v := convNonNeg(x.GetValue())
		qq := x.GetQuantile()
		if math.IsNaN(v) || math.IsNaN(qq) || qq < 0 || qq > 1 {
			continue
		}
		if q == nil {
			q = map[float64]float64{}
		}
		if old, ok := q[qq]; !ok || v*scale > old {
			q[qq] = v * scale
		}
	}
	return q
}

// convSet collects one observation per dependency for one profile.
type convSet struct {
	profile string
	byDep   map[string]*Observation
}

func newConvSet(profile string) *convSet {
	return &convSet{profile: profile, byDep: map[string]*Observation{}}
}

// get returns the observation of dep, creating it with every value unknown.
func (s *convSet) get(dep string) *Observation {
	o, ok := s.byDep[dep]
	if !ok {
		n := NewObservation(dep, s.profile)
		o = &n
		s.byDep[dep] = o
	}
	return o
}

// list returns the observations sorted by dependency, so output is stable.
func (s *convSet) list() []Observation {
	out := make([]Observation, 0, len(s.byDep))
	for _, o := range s.byDep {
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dependency < out[j].Dependency })
	return out
}

// convMultiApp reports whether the metrics of the families whose names start
// with one of prefixes carry more than one distinct `application` label (a
// page aggregated from several Spring applications). Then dependency names
// are scoped as "application/name" (convScoped) so the applications' same-named
// breakers stay apart, in every Micrometer-based profile alike.
func convMultiApp(p *Page, prefixes ...string) bool {
	first := ""
	for _, f := range p.Families {
		if !convHasPrefix(f.GetName(), prefixes) {
			continue
		}
		for _, m := range f.GetMetric() {
			a := convLabel(m, "application")
			if a == "" {
				continue
			}
			if first == "" {
				first = a
			} else if a != first {
				return true
			}
		}
	}
	return false
}

// convMicrometerPrefixes are the families the Micrometer profiles read; they
// decide together whether a page holds several applications.
var convMicrometerPrefixes = []string{"resilience4j_", "http_client_requests", "hikaricp_", "httpcomponents_httpclient_"}

// convScoped names a dependency; see convMultiApp.
func convScoped(name string, m *dto.Metric, multi bool) string {
	if !multi {
		return name
	}
	if a := convLabel(m, "application"); a != "" {
		return a + "/" + name
	}
	return name
}

func convHasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
