package scrape

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"resiltop/internal/model"
)

// This file turns the series of Prometheus's answers back into metric
// families, one page per group (instance): the shape a scraped page has,
// so the Store and the profiles read a fleet exactly as they read targets.

// family is a metric family resiltop asks Prometheus for.
type family struct {
	name string
	typ  dto.MetricType
	// known is true when typ comes from Prometheus's metadata; without it
	// the type is derived from the series the answer holds (see finish).
	known bool
}

// query is the PromQL selector for f with the user's matchers (the inside
// of --selector's braces) merged in. A counter or gauge is its own series;
// a histogram is its _bucket, _sum and _count series, a summary its
// quantiles, _sum and _count; a family of unknown type asks for all of
// them and is typed by what comes back.
func (f family) query(matchers string) string {
	var names string
	switch {
	case f.known && (f.typ == dto.MetricType_HISTOGRAM || f.typ == dto.MetricType_GAUGE_HISTOGRAM):
		names = f.name + "_bucket|" + f.name + "_sum|" + f.name + "_count"
	case f.known && f.typ == dto.MetricType_SUMMARY:
		names = f.name + "|" + f.name + "_sum|" + f.name + "_count"
	case f.known:
		return selector(f.name, matchers)
	default:
		names = f.name + "|" + f.name + "_bucket|" + f.name + "_sum|" + f.name + "_count"
	}
	m := `__name__=~"` + names + `"`
	if matchers != "" {
		m += "," + matchers
	}
	return "{" + m + "}"
}

// selector writes name{matchers}, or name alone.
func selector(name, matchers string) string {
	if matchers == "" {
		return name
	}
	return name + "{" + matchers + "}"
}

// metadataType maps a type of Prometheus's metadata API to dto's; ok is
// false for a type resiltop cannot read as a classic family.
func metadataType(t string) (dto.MetricType, bool) {
	switch t {
	case "counter":
		return dto.MetricType_COUNTER, true
	case "gauge", "info", "stateset":
		return dto.MetricType_GAUGE, true
	case "histogram":
		return dto.MetricType_HISTOGRAM, true
	case "gaugehistogram":
		return dto.MetricType_GAUGE_HISTOGRAM, true
	case "summary":
		return dto.MetricType_SUMMARY, true
	case "unknown", "untyped":
		return dto.MetricType_UNTYPED, true
	}
	return 0, false
}

// role is what one series is to its family.
type role uint8

const (
	rolePlain    role = iota // a counter, gauge or untyped value
	roleBucket               // a histogram bucket (bound = le)
	roleSum                  // a histogram's or summary's _sum
	roleCount                // a histogram's or summary's _count
	roleQuantile             // a summary quantile (bound = quantile)
)

// prepared is one series of an answer made ready to be added to pages at
// any number of times (one for a live answer, one per step in a backfill):
// its group, its role and its labels with the target labels stripped.
type prepared struct {
	group  string
	role   role
	bound  float64
	labels []*dto.LabelPair // shared by every sample of the series: read-only
	key    string           // identifies the labels, for joining a histogram's series
}

// labelFilter decides which labels of an answer reach the pages.
type labelFilter struct {
	groupBy string
	// strip are the target labels (job, instance, and every label of the
	// `up` series, which Prometheus attaches to all a target's series):
	// they say where a series came from, not what it measures, and must
	// not reach dependency names. "dependency" is never stripped.
	strip map[string]bool
}

// ungrouped names the group of the series without the --group-by label.
func ungrouped(groupBy string) string { return "(no " + groupBy + ")" }

// prepare reads s as a series of f; ok is false for a series that is not
// part of f (another name, a bucket without a bound).
func (lf *labelFilter) prepare(f *family, s *series) (prepared, bool) {
	var p prepared
	name := s.get(nameLabel)
	switch name {
	case f.name:
		p.role = rolePlain
		if q := s.get("quantile"); q != "" && (!f.known || f.typ == dto.MetricType_SUMMARY) {
			p.role = roleQuantile
			v, err := strconv.ParseFloat(q, 64)
			if err != nil {
				return p, false
			}
			p.bound = v
		}
	case f.name + "_bucket":
		v, err := strconv.ParseFloat(s.get("le"), 64)
		if err != nil {
			return p, false
		}
		p.role, p.bound = roleBucket, v
	case f.name + "_sum":
		p.role = roleSum
	case f.name + "_count":
		p.role = roleCount
	default:
		return p, false
	}
	p.group = s.get(lf.groupBy)
	if p.group == "" {
		p.group = ungrouped(lf.groupBy)
	}
	var key strings.Builder
	p.labels = make([]*dto.LabelPair, 0, len(s.labels))
	for _, l := range s.labels {
		switch {
		case l.name == nameLabel, l.name == lf.groupBy,
			l.name == "le" && p.role == roleBucket, l.name == "quantile" && p.role == roleQuantile,
			lf.strip[l.name] && l.name != "dependency":
			continue
		}
		p.labels = append(p.labels, &dto.LabelPair{Name: &l.name, Value: &l.value})
	}
	slices.SortFunc(p.labels, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	if p.role != rolePlain {
		for _, l := range p.labels {
			key.WriteString(l.GetName())
			key.WriteByte(0xff)
			key.WriteString(l.GetValue())
			key.WriteByte(0xff)
		}
		p.key = key.String()
	}
	return p, true
}

// collect returns a callback for decodeAnswer that adds each series of an
// instant answer for f to its group's build in builds.
func (lf *labelFilter) collect(f *family, builds map[string]*famBuild) func(*series) error {
	return func(sr *series) error {
		if len(sr.points) == 0 {
			return nil
		}
		p, ok := lf.prepare(f, sr)
		if !ok {
			return nil
		}
		b := builds[p.group]
		if b == nil {
			b = &famBuild{}
			builds[p.group] = b
		}
		b.add(&p, sr.points[0].v)
		return nil
	}
}

// famBuild collects one family's series for one group.
type famBuild struct {
	plain      []*dto.Metric
	composite  map[string]*compMetric // histogram or summary pieces by label key
	order      []*compMetric          // composite in first-seen order
	hasBuckets bool
	hasQuant   bool
}

// compMetric is one histogram or summary being put together from its series.
type compMetric struct {
	labels           []*dto.LabelPair
	buckets          []*dto.Bucket
	quantiles        []*dto.Quantile
	sum, count       float64
	hasSum, hasCount bool
}

// add adds one sample of a prepared series.
func (b *famBuild) add(p *prepared, v float64) {
	if p.role == rolePlain {
		b.plain = append(b.plain, &dto.Metric{Label: p.labels, Untyped: &dto.Untyped{Value: &v}})
		return
	}
	if b.composite == nil {
		b.composite = map[string]*compMetric{}
	}
	c := b.composite[p.key]
	if c == nil {
		c = &compMetric{labels: p.labels}
		b.composite[p.key] = c
		b.order = append(b.order, c)
	}
	switch p.role {
	case roleBucket:
		b.hasBuckets = true
		bucket := &dto.Bucket{UpperBound: &p.bound}
		setCount(v, &bucket.CumulativeCount, &bucket.CumulativeCountFloat)
		c.buckets = append(c.buckets, bucket)
	case roleQuantile:
		b.hasQuant = true
		c.quantiles = append(c.quantiles, &dto.Quantile{Quantile: &p.bound, Value: &v})
	case roleSum:
		c.sum, c.hasSum = v, true
	case roleCount:
		c.count, c.hasCount = v, true
	}
}

// setCount stores a count as the integer the exposition had, or as a float
// when it is not one (a count summed across series, or garbage: the
// profiles drop non-finite counts).
func setCount(v float64, u **uint64, f **float64) {
	if v >= 0 && v < 1<<53 && v == math.Trunc(v) {
		n := uint64(v)
		*u = &n
		return
	}
	*f = &v
}

// finish returns the family, typed from metadata when known; otherwise a
// family with buckets is a histogram, one with quantiles, or with only
// _sum and _count series, a summary (Micrometer's timers without
// percentiles), and a plain one is untyped: without a # TYPE line resiltop
// does not guess counter from a _total suffix, and the profiles read an
// untyped family as either. nil when nothing usable is left.
func (b *famBuild) finish(f *family) *dto.MetricFamily {
	typ := f.typ
	if !f.known {
		switch {
		case b.hasBuckets:
			typ = dto.MetricType_HISTOGRAM
		case b.hasQuant, len(b.plain) == 0 && len(b.order) > 0:
			typ = dto.MetricType_SUMMARY
		default:
			typ = dto.MetricType_UNTYPED
		}
	}
	mf := &dto.MetricFamily{Name: &f.name, Type: &typ}
	switch typ {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		for _, c := range b.order {
			if len(c.buckets) == 0 {
				continue
			}
			slices.SortFunc(c.buckets, func(x, y *dto.Bucket) int { return cmp.Compare(x.GetUpperBound(), y.GetUpperBound()) })
			h := &dto.Histogram{Bucket: c.buckets}
			if c.hasSum {
				h.SampleSum = &c.sum
			}
			if c.hasCount {
				setCount(c.count, &h.SampleCount, &h.SampleCountFloat)
			}
			mf.Metric = append(mf.Metric, &dto.Metric{Label: c.labels, Histogram: h})
		}
	case dto.MetricType_SUMMARY:
		for _, c := range b.order {
			if !c.hasCount && !c.hasSum && len(c.quantiles) == 0 {
				continue
			}
			s := &dto.Summary{Quantile: c.quantiles}
			if c.hasSum {
				s.SampleSum = &c.sum
			}
			if c.hasCount && c.count >= 0 && c.count < 1<<63 { // NaN stays unknown, never 0
				n := uint64(c.count)
				s.SampleCount = &n
			}
			mf.Metric = append(mf.Metric, &dto.Metric{Label: c.labels, Summary: s})
		}
	default:
		for _, m := range b.plain {
			v := m.Untyped.Value
			switch typ {
			case dto.MetricType_COUNTER:
				m.Untyped, m.Counter = nil, &dto.Counter{Value: v}
			case dto.MetricType_GAUGE:
				m.Untyped, m.Gauge = nil, &dto.Gauge{Value: v}
			}
		}
		mf.Metric = b.plain
	}
	if len(mf.Metric) == 0 {
		return nil
	}
	return mf
}

// pageSet gathers the families of one answer per group.
type pageSet struct {
	groups map[string][]*dto.MetricFamily
}

// collect adds f's builds to the set.
func (ps *pageSet) collect(f *family, builds map[string]*famBuild) {
	if ps.groups == nil {
		ps.groups = map[string][]*dto.MetricFamily{}
	}
	for g, b := range builds {
		if mf := b.finish(f); mf != nil {
			ps.groups[g] = append(ps.groups[g], mf)
		} else if _, ok := ps.groups[g]; !ok {
			ps.groups[g] = nil // the group answered, if only with unusable series
		}
	}
}

// page returns the group's page (an empty page for a group with nothing).
func (ps *pageSet) page(group string) *model.Page {
	return model.NewPage(ps.groups[group])
}
