package profile

import (
	"fmt"
	"math"
	"resiltop/internal/model"
	"slices"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"
)

// ParseMappings reads the `profiles:` section of the --config file (node is
// that section's value, a sequence, or a document holding it) into one
// model.Profile per entry, mapping a team's own metric names and labels to
// resiltop's signals; docs/MAPPINGS.md documents the fields. Errors name the
// file, the line and the field: "resiltop.yaml:12: profiles[0].calls.outcome_label: required".
func ParseMappings(file string, node *yaml.Node) ([]model.Profile, error) {
	if node == nil || node.Kind == 0 {
		return nil, nil
	}
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil, nil
	}
	mp := mapParser{file: file}
	if node.Kind != yaml.SequenceNode {
		return nil, mp.errf(node, "profiles", "must be a list of profile mappings")
	}
	var out []model.Profile
	seen := map[string]bool{}
	for _, p := range registered {
		seen[p.Name()] = true
	}
	for i, n := range node.Content {
		path := fmt.Sprintf("profiles[%d]", i)
		prof, err := mp.profile(n, path)
		if err != nil {
			return nil, err
		}
		if seen[prof.name] {
			return nil, mp.errf(n, path+".name", "%q is already a profile name", prof.name)
		}
		seen[prof.name] = true
		out = append(out, prof)
	}
	return out, nil
}

// mappingProfile is one user mapping; it implements model.Profile.
type mappingProfile struct {
	name     string
	depLabel string
	calls    *mapCalls
	latency  *mapLatency
	breaker  *mapBreaker
	scalars  []mapScalar
}

// mapCalls maps a calls counter whose outcome label values mean outcomes.
type mapCalls struct {
	metric, label string
	outcomes      map[string]model.Outcome
}

// mapLatency is a latency histogram (or summary) and its unit.
type mapLatency struct {
	metric string
	scale  float64
}

// mapBreaker is a breaker state gauge, one-hot by a label or numeric codes.
type mapBreaker struct {
	metric, label string
	oneHot        map[string]model.BreakerState // label value -> state
	codes         map[float64]model.BreakerState
}

// mapScalar is a counter or gauge summed per dependency into one field.
type mapScalar struct {
	metric string
	field  func(*model.Observation) *float64
}

// Name implements model.Profile.
func (m *mappingProfile) Name() string { return m.name }

func (m *mappingProfile) Families() []string {
	var out []string
	if m.calls != nil {
		out = append(out, m.calls.metric)
	}
	if m.latency != nil {
		out = append(out, m.latency.metric)
	}
	if m.breaker != nil {
		out = append(out, m.breaker.metric)
	}
	for _, s := range m.scalars {
		out = append(out, s.metric)
	}
	return out
}

// Detect implements model.Profile: a mapped family carries the dependency label.
func (m *mappingProfile) Detect(p *model.Page) bool {
	for _, name := range m.Families() {
		if f := p.Family(name); f != nil {
			for _, s := range f.GetMetric() {
				if convLabel(s, m.depLabel) != "" {
					return true
				}
			}
		}
	}
	return false
}

// Read implements model.Profile.
func (m *mappingProfile) Read(p *model.Page) []model.Observation {
	set := newConvSet(m.name)
	each := func(metric string, fn func(f *dto.MetricFamily, s *dto.Metric, o *model.Observation)) {
		f := p.Family(metric)
		for _, s := range f.GetMetric() {
			if dep := convLabel(s, m.depLabel); dep != "" {
				fn(f, s, set.get(dep))
			}
		}
	}
	if c := m.calls; c != nil {
		each(c.metric, func(f *dto.MetricFamily, s *dto.Metric, o *model.Observation) {
			if out, ok := c.outcomes[convLabel(s, c.label)]; ok {
				o.AddCall(out, model.SeriesOf(c.metric, s), convValue(s))
			}
		})
	}
	if l := m.latency; l != nil {
		each(l.metric, func(f *dto.MetricFamily, s *dto.Metric, o *model.Observation) {
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				o.Latency = convMergeHistogram(o.Latency, convHistogram(s, l.scale))
			case dto.MetricType_SUMMARY:
				o.LatencyQuantiles = convQuantiles(o.LatencyQuantiles, s, l.scale)
			}
		})
	}
	if b := m.breaker; b != nil {
		each(b.metric, func(f *dto.MetricFamily, s *dto.Metric, o *model.Observation) {
			v := convValue(s)
			var st model.BreakerState
			if b.oneHot != nil {
				if v == 1 {
					st = b.oneHot[convLabel(s, b.label)]
				}
			} else {
				st = b.codes[v]
			}
			if st != "" && r4jStatePriority[st] > r4jStatePriority[o.Breaker] {
				o.Breaker = st
			}
		})
	}
	for _, sc := range m.scalars {
		each(sc.metric, func(f *dto.MetricFamily, s *dto.Metric, o *model.Observation) {
			o.Add(sc.field(o), model.SeriesOf(sc.metric, s), convNonNeg(convValue(s)))
		})
	}
	for _, o := range set.byDep {
		if o.Latency != nil {
			o.LatencyQuantiles = nil
		}
	}
	return set.list()
}

// mapParser walks the YAML by hand rather than decoding into structs so
// that every error can name the line and the field's full path.
type mapParser struct{ file string }

func (mp mapParser) errf(n *yaml.Node, path, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", mp.file, n.Line, path, fmt.Sprintf(format, args...))
}

// fields returns a mapping's values by key, rejecting unknown and repeated keys.
func (mp mapParser) fields(n *yaml.Node, path string, allowed ...string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, mp.errf(n, path, "must be a mapping")
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !convContains(allowed, k.Value) {
			return nil, mp.errf(k, path+"."+k.Value, "unknown field (known: %s)", strings.Join(allowed, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, mp.errf(k, path+"."+k.Value, "given twice")
		}
		out[k.Value] = v
	}
	return out, nil
}

func convContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str reads a required non-empty scalar field of parent.
func (mp mapParser) str(parent *yaml.Node, fs map[string]*yaml.Node, path, key string) (string, error) {
	n, ok := fs[key]
	if !ok {
		return "", mp.errf(parent, path+"."+key, "required")
	}
	if n.Kind != yaml.ScalarNode || n.Value == "" {
		return "", mp.errf(n, path+"."+key, "must be a non-empty string")
	}
	return n.Value, nil
}

// strs reads a scalar or a list of scalars.
func (mp mapParser) strs(n *yaml.Node, path string) ([]string, error) {
	if n.Kind == yaml.ScalarNode && n.Value != "" {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, mp.errf(n, path, "must be a value or a non-empty list of values")
	}
	var out []string
	for i, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			return nil, mp.errf(c, fmt.Sprintf("%s[%d]", path, i), "must be a value")
		}
		out = append(out, c.Value)
	}
	return out, nil
}

// mapStates names the breaker states a mapping may use.
var mapStates = map[string]model.BreakerState{
	"closed": model.BreakerClosed, "open": model.BreakerOpen, "half_open": model.BreakerHalfOpen,
	"forced_open": model.BreakerForcedOpen, "disabled": model.BreakerDisabled,
}

// mapScalarFields are the single-metric signals: section -> key -> field.
var mapScalarFields = map[string]map[string]func(*model.Observation) *float64{
	"": {
		"retries":            func(o *model.Observation) *float64 { return &o.Retries },
		"retries_exhausted":  func(o *model.Observation) *float64 { return &o.RetriesExhausted },
		"retry_max_attempts": func(o *model.Observation) *float64 { return &o.RetryMaxAttempts },
		"timeout_seconds":    func(o *model.Observation) *float64 { return &o.TimeoutSeconds },
	},
	"pool": {
		"active":           func(o *model.Observation) *float64 { return &o.PoolActive },
		"idle":             func(o *model.Observation) *float64 { return &o.PoolIdle },
		"max":              func(o *model.Observation) *float64 { return &o.PoolMax },
		"pending":          func(o *model.Observation) *float64 { return &o.PoolPending },
		"acquire_timeouts": func(o *model.Observation) *float64 { return &o.PoolAcquireTimeouts },
	},
	"bulkhead": {
		"in_flight": func(o *model.Observation) *float64 { return &o.BulkheadInFlight },
		"max":       func(o *model.Observation) *float64 { return &o.BulkheadMax },
	},
	"pending": {
		"count":              func(o *model.Observation) *float64 { return &o.PendingCount },
		"oldest_age_seconds": func(o *model.Observation) *float64 { return &o.PendingOldestAge },
		"created":            func(o *model.Observation) *float64 { return &o.PendingCreated },
		"resolved":           func(o *model.Observation) *float64 { return &o.PendingResolved },
	},
}

func convSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// profile parses one entry of profiles:.
func (mp mapParser) profile(n *yaml.Node, path string) (*mappingProfile, error) {
	allowed := append([]string{"name", "dependency_label", "calls", "latency", "breaker", "pool", "bulkhead", "pending"}, convSortedKeys(mapScalarFields[""])...)
	fs, err := mp.fields(n, path, allowed...)
	if err != nil {
		return nil, err
	}
	prof := &mappingProfile{}
	if prof.name, err = mp.str(n, fs, path, "name"); err != nil {
		return nil, err
	}
	if prof.depLabel, err = mp.str(n, fs, path, "dependency_label"); err != nil {
		return nil, err
	}
	if c, ok := fs["calls"]; ok {
		if prof.calls, err = mp.calls(c, path+".calls"); err != nil {
			return nil, err
		}
	}
	if l, ok := fs["latency"]; ok {
		if prof.latency, err = mp.latency(l, path+".latency"); err != nil {
			return nil, err
		}
	}
	if b, ok := fs["breaker"]; ok {
		if prof.breaker, err = mp.breaker(b, path+".breaker"); err != nil {
			return nil, err
		}
	}
	for _, section := range convSortedKeys(mapScalarFields) {
		keys := mapScalarFields[section]
		parent, pfs, ppath := n, fs, path
		if section != "" {
			sn, ok := fs[section]
			if !ok {
				continue
			}
			ppath = path + "." + section
			if pfs, err = mp.fields(sn, ppath, convSortedKeys(keys)...); err != nil {
				return nil, err
			}
			parent = sn
		}
		for _, k := range convSortedKeys(keys) {
			if _, ok := pfs[k]; !ok {
				continue
			}
			metric, err := mp.str(parent, pfs, ppath, k)
			if err != nil {
				return nil, err
			}
			prof.scalars = append(prof.scalars, mapScalar{metric: metric, field: keys[k]})
		}
	}
	if len(prof.Families()) == 0 {
		return nil, mp.errf(n, path, "maps no signal: give at least one of calls, latency, breaker, retries, pool, bulkhead, pending")
	}
	return prof, nil
}

func (mp mapParser) calls(n *yaml.Node, path string) (*mapCalls, error) {
	fs, err := mp.fields(n, path, "metric", "outcome_label", "outcomes")
	if err != nil {
		return nil, err
	}
	c := &mapCalls{outcomes: map[string]model.Outcome{}}
	if c.metric, err = mp.str(n, fs, path, "metric"); err != nil {
		return nil, err
	}
	if c.label, err = mp.str(n, fs, path, "outcome_label"); err != nil {
		return nil, err
	}
	on, ok := fs["outcomes"]
	if !ok {
		return nil, mp.errf(n, path+".outcomes", "required")
	}
	known := make([]string, len(model.Outcomes))
	for i, o := range model.Outcomes {
		known[i] = string(o)
	}
	ofs, err := mp.fields(on, path+".outcomes", known...)
	if err != nil {
		return nil, err
	}
	if len(ofs) == 0 {
		return nil, mp.errf(on, path+".outcomes", "map at least one outcome to label values")
	}
	for _, key := range convSortedKeys(ofs) {
		vals, err := mp.strs(ofs[key], path+".outcomes."+key)
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			if prev, dup := c.outcomes[v]; dup {
				return nil, mp.errf(ofs[key], path+".outcomes."+key, "value %q is already mapped to %s", v, prev)
			}
			c.outcomes[v] = model.Outcome(key)
		}
	}
	return c, nil
}

func (mp mapParser) latency(n *yaml.Node, path string) (*mapLatency, error) {
	fs, err := mp.fields(n, path, "metric", "unit")
	if err != nil {
		return nil, err
	}
	l := &mapLatency{scale: 1}
	if l.metric, err = mp.str(n, fs, path, "metric"); err != nil {
		return nil, err
	}
	if u, ok := fs["unit"]; ok {
		switch u.Value {
		case "s", "seconds":
		case "ms", "milliseconds":
			l.scale = 0.001
		default:
			return nil, mp.errf(u, path+".unit", "must be s or ms, not %q", u.Value)
		}
	}
	return l, nil
}

func (mp mapParser) breaker(n *yaml.Node, path string) (*mapBreaker, error) {
	fs, err := mp.fields(n, path, "metric", "encoding", "label", "states", "codes")
	if err != nil {
		return nil, err
	}
	b := &mapBreaker{}
	if b.metric, err = mp.str(n, fs, path, "metric"); err != nil {
		return nil, err
	}
	enc, err := mp.str(n, fs, path, "encoding")
	if err != nil {
		return nil, err
	}
	switch enc {
	case "one_hot":
		if _, ok := fs["codes"]; ok {
			return nil, mp.errf(fs["codes"], path+".codes", "only for encoding: codes")
		}
		if b.label, err = mp.str(n, fs, path, "label"); err != nil {
			return nil, err
		}
		b.oneHot = map[string]model.BreakerState{}
		sn, ok := fs["states"]
		if !ok {
			// Without states, the label values are resiltop's state names.
			for name, st := range mapStates {
				b.oneHot[name] = st
			}
			return b, nil
		}
		sfs, err := mp.fields(sn, path+".states", convSortedKeys(mapStates)...)
		if err != nil {
			return nil, err
		}
		for _, key := range convSortedKeys(sfs) {
			vals, err := mp.strs(sfs[key], path+".states."+key)
			if err != nil {
				return nil, err
			}
			for _, v := range vals {
				b.oneHot[v] = mapStates[key]
			}
		}
	case "codes":
		for _, k := range []string{"label", "states"} {
			if x, ok := fs[k]; ok {
				return nil, mp.errf(x, path+"."+k, "only for encoding: one_hot")
			}
		}
		cn, ok := fs["codes"]
		if !ok {
			return nil, mp.errf(n, path+".codes", "required for encoding: codes (number: state)")
		}
		if cn.Kind != yaml.MappingNode || len(cn.Content) == 0 {
			return nil, mp.errf(cn, path+".codes", "must map numbers to states")
		}
		b.codes = map[float64]model.BreakerState{}
		for i := 0; i+1 < len(cn.Content); i += 2 {
			k, v := cn.Content[i], cn.Content[i+1]
			code, err := strconv.ParseFloat(k.Value, 64)
			if err != nil || math.IsNaN(code) {
				return nil, mp.errf(k, path+".codes."+k.Value, "must be a number")
			}
			st, ok := mapStates[v.Value]
			if !ok {
				return nil, mp.errf(v, path+".codes."+k.Value, "unknown state %q (known: %s)", v.Value, strings.Join(convSortedKeys(mapStates), ", "))
			}
			b.codes[code] = st
		}
	default:
		return nil, mp.errf(fs["encoding"], path+".encoding", "must be one_hot or codes, not %q", enc)
	}
	return b, nil
}

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

// convHistogram converts a classic histogram sample to seconds (scale
// multiplies bounds and sum: 0.001 for milliseconds). It returns nil when
// the sample has no usable buckets or carries negative or NaN counts, so a
// broken histogram reads as "no latency", never as made-up quantiles. A
// missing +Inf bucket is added from the sample count.
func convHistogram(m *dto.Metric, scale float64) *model.Histogram {
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
	out := &model.Histogram{Bounds: make([]float64, len(bs)), Counts: make([]float64, len(bs))}
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
func convMergeHistogram(a, b *model.Histogram) *model.Histogram {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := &model.Histogram{Sum: a.Sum + b.Sum, Count: a.Count + b.Count}
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
	byDep   map[string]*model.Observation
	order   []*model.Observation // in order of creation
	// chunk is where get places new observations, so that a page of
	// hundreds of dependencies costs a few allocations, not one each;
	// a full chunk is replaced, never grown, so pointers stay valid.
	chunk []model.Observation
}

func newConvSet(profile string) *convSet {
	return &convSet{profile: profile, byDep: map[string]*model.Observation{}}
}

// get returns the observation of dep, creating it with every value unknown.
func (s *convSet) get(dep string) *model.Observation {
	o, ok := s.byDep[dep]
	if !ok {
		if len(s.chunk) == cap(s.chunk) {
			s.chunk = make([]model.Observation, 0, min(max(2*cap(s.chunk), 8), 256))
		}
		s.chunk = append(s.chunk, model.NewObservation(dep, s.profile))
		o = &s.chunk[len(s.chunk)-1]
		s.byDep[dep] = o
		s.order = append(s.order, o)
	}
	return o
}

// list returns the observations sorted by dependency, so output is stable.
func (s *convSet) list() []model.Observation {
	out := make([]model.Observation, len(s.order))
	for i, o := range s.order {
		out[i] = *o
	}
	return sortObservations(out)
}

// sortObservations returns obs sorted by dependency: obs itself when it
// is sorted already, as pages that list dependencies in order give it,
// else a sorted copy (indices are sorted, not the large observations).
func sortObservations(obs []model.Observation) []model.Observation {
	byName := func(a, b *model.Observation) int { return strings.Compare(a.Dependency, b.Dependency) }
	sorted := true
	for i := 1; i < len(obs) && sorted; i++ {
		sorted = byName(&obs[i-1], &obs[i]) <= 0
	}
	if sorted {
		return obs
	}
	order := make([]int, len(obs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return byName(&obs[a], &obs[b]) })
	out := make([]model.Observation, len(obs))
	for i, k := range order {
		out[i] = obs[k]
	}
	return out
}

// convMultiApp reports whether the metrics of the families whose names start
// with one of prefixes carry more than one distinct `application` label (a
// page aggregated from several Spring applications). Then dependency names
// are scoped as "application/name" (convScoped) so the applications' same-named
// breakers stay apart, in every Micrometer-based profile alike.
func convMultiApp(p *model.Page, prefixes ...string) bool {
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
