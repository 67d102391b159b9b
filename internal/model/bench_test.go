package model

import (
	"fmt"
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
