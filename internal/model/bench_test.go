package model

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"resiltop/internal/scrape/scrapetest"
)

// decodePage is the bare expfmt decode both benchmarks share: the text
// parser for text, the delimited decoder for protobuf.
func decodePage(b *testing.B, format expfmt.Format, body []byte) []*dto.MetricFamily {
	if format == expfmt.FmtText {
		p := expfmt.NewTextParser(model.UTF8Validation)
		m, err := p.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		out := make([]*dto.MetricFamily, 0, len(m))
		for _, f := range m {
			out = append(out, f)
		}
		return out
	}
	dec := expfmt.NewDecoder(bytes.NewReader(body), format)
	var out []*dto.MetricFamily
	for {
		f := &dto.MetricFamily{}
		err := dec.Decode(f)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, f)
	}
}

// benchFormats names the formats of the benchmark page.
var benchFormats = []struct {
	name   string
	format expfmt.Format
}{{"text", expfmt.FmtText}, {"protobuf", expfmt.FmtProtoDelim}}

// BenchmarkDecodeBaseline is bare expfmt decoding of scrapetest.Page10k, the
// baseline BenchmarkIngest is compared with in the same run.
func BenchmarkDecodeBaseline(b *testing.B) {
	for _, f := range benchFormats {
		body := scrapetest.Page10k(f.format)
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				decodePage(b, f.format, body)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/scrapetest.Samples, "ns/sample")
		})
	}
}

// BenchmarkIngest is decode + Page + Store.Ingest of the same page, one
// scrape a second of one target, so history and rates are exercised.
func BenchmarkIngest(b *testing.B) {
	for _, f := range benchFormats {
		body := scrapetest.Page10k(f.format)
		b.Run(f.name, func(b *testing.B) {
			s := newStore(StoreOptions{})
			t := t0
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				page := NewPage(decodePage(b, f.format, body))
				t = t.Add(time.Second)
				s.Ingest(Scrape{Target: "http://bench/metrics", Time: t, Page: page})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/scrapetest.Samples, "ns/sample")
		})
	}
}

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
