package model

import (
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"resiltop/internal/scrape/scrapetest"
)

// BenchmarkSnapshot derives a snapshot of 500 dependencies (5 targets × 100)
// with 60 scrapes of history each, all inside the window. "unchanged" takes
// snapshots of a store nothing was ingested into since the last one (the
// UI's tick, and every other target's dependencies after one target's
// scrape); "cold" derives every dependency again each time (a window
// alternating by a nanosecond defeats the Store's reuse without changing
// which samples are in it).
func BenchmarkSnapshot(b *testing.B) {
	s := newStore(StoreOptions{})
	base := scrapetest.Families10k()
	for tgt := range 5 {
		for i := range 60 {
			// The same values every scrape would give zero rates; scale the
			// counters so rates, quantiles and findings have work to do.
			fams := scaled(base, float64(i+1))
			s.Ingest(Scrape{Target: fmt.Sprintf("http://t%d/metrics", tgt), Time: t0.Add(time.Duration(i) * time.Second), Page: NewPage(fams)})
		}
	}
	now := t0.Add(60 * time.Second)
	if n := len(s.Snapshot(now, time.Minute).Dependencies); n != 500 {
		b.Fatalf("%d dependencies, want 500", n)
	}
	b.Run("unchanged", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Snapshot(now, time.Minute)
		}
	})
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			s.Snapshot(now, time.Minute+time.Duration(i%2))
		}
	})
	// The scale benchmark's cases (internal/bench/scale): targets of 17
	// dependencies each scraped every second, one Snapshot after each
	// round of scrapes, so every dependency has one new sample in each.
	// 17k is the 1,000-target run (the default MaxSamples leaves each
	// dependency 29 samples: thinned, trimmed); 1.7k-300 the 100-target
	// run after five minutes (300 samples each).
	b.Run("17k", func(b *testing.B) { benchSnapshotLive(b, 1000, 30) })
	b.Run("1.7k-300", func(b *testing.B) { benchSnapshotLive(b, 100, 300) })
}

// benchSnapshotLive ingests rounds scrapes of a 17-dependency page into
// targets targets, then times a Snapshot after each further round (the
// round's ingest untimed). It reports the cost per dependency too.
func benchSnapshotLive(b *testing.B, targets, rounds int) {
	base := firstDependencies(scrapetest.Families10k(), 17)
	s := newStore(StoreOptions{})
	urls := make([]string, targets)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://t%d/metrics", i)
	}
	round := 0
	ingest := func() time.Time {
		now := t0.Add(time.Duration(round) * time.Second)
		round++
		p := NewPage(scaled(base, float64(round)))
		for _, u := range urls {
			s.Ingest(Scrape{Target: u, Time: now, Page: p})
		}
		return now
	}
	for range rounds {
		ingest()
	}
	deps := len(s.Snapshot(ingest(), time.Minute).Dependencies)
	if want := targets * 17; deps != want {
		b.Fatalf("%d dependencies, want %d", deps, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		now := ingest()
		b.StartTimer()
		s.Snapshot(now, time.Minute)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*deps), "ns/dep")
}

// firstDependencies keeps the metrics of scrapetest's first n dependencies
// (dep000, dep001, …), as the scale benchmark's pages do.
func firstDependencies(fams []*dto.MetricFamily, n int) []*dto.MetricFamily {
	keep := func(m *dto.Metric) bool {
		for _, l := range m.Label {
			v := l.GetValue()
			if l.GetName() == "handler" {
				v = strings.Split(v, "/")[2] // /api/dep007/h1
			} else if l.GetName() != "dependency" {
				continue
			}
			return v < fmt.Sprintf("dep%03d", n)
		}
		return false
	}
	var out []*dto.MetricFamily
	for _, f := range fams {
		g := &dto.MetricFamily{Name: f.Name, Help: f.Help, Type: f.Type}
		for _, m := range f.Metric {
			if keep(m) {
				g.Metric = append(g.Metric, m)
			}
		}
		if len(g.Metric) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// scaled copies families with every counter and histogram multiplied by k.
func scaled(fams []*dto.MetricFamily, k float64) []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, len(fams))
	for i, f := range fams {
		g := &dto.MetricFamily{Name: f.Name, Help: f.Help, Type: f.Type}
		for _, m := range f.Metric {
			c := &dto.Metric{Label: m.Label, Gauge: m.Gauge}
			if m.Counter != nil {
				v := m.Counter.GetValue() * k
				c.Counter = &dto.Counter{Value: &v}
			}
			if m.Histogram != nil {
				h := &dto.Histogram{SampleSum: m.Histogram.SampleSum}
				n := uint64(float64(m.Histogram.GetSampleCount()) * k)
				h.SampleCount = &n
				for _, bk := range m.Histogram.Bucket {
					cc := uint64(float64(bk.GetCumulativeCount()) * k)
					h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: bk.UpperBound, CumulativeCount: &cc})
				}
				c.Histogram = h
			}
			g.Metric = append(g.Metric, c)
		}
		out[i] = g
	}
	return out
}
