package scrape

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	rmodel "resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/scrape/scrapetest"
)

// Run the ingest benchmarks together, so their ratios come from one run:
//
//	go test -run XXX -bench 'DecodeBaseline|Decode$|Ingest|Read$|LineCount' -count 5 ./internal/scrape

// decodeBaseline is bare expfmt: the text parser for text, the delimited
// decoder for protobuf; it returns the number of families.
func decodeBaseline(b *testing.B, format expfmt.Format, body []byte) int {
	if format == expfmt.FmtText {
		p := expfmt.NewTextParser(model.UTF8Validation)
		m, err := p.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		return len(m)
	}
	dec := expfmt.NewDecoder(bytes.NewReader(body), format)
	n := 0
	for {
		var f dto.MetricFamily
		err := dec.Decode(&f)
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
}

func formatName(f expfmt.Format) string {
	if f.FormatType() == expfmt.TypeProtoDelim {
		return "protobuf"
	}
	return "text"
}

// perSample reports the time per Prometheus series of Page10k.
func perSample(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/scrapetest.Samples, "ns/sample")
}

// BenchmarkDecodeBaseline is bare expfmt decoding of scrapetest.Page10k
// (12,000 series), the baseline of BenchmarkDecode and BenchmarkIngest.
func BenchmarkDecodeBaseline(b *testing.B) {
	for _, format := range scrapetest.Formats {
		page := scrapetest.Page10k(format)
		b.Run(formatName(format), func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				decodeBaseline(b, format, page)
			}
			perSample(b)
		})
	}
}

// BenchmarkDecode is ParsePage of the same page: resiltop's reader
// decoding every family, with merging, deduplication and the series cap.
func BenchmarkDecode(b *testing.B) {
	for _, format := range scrapetest.Formats {
		page := scrapetest.Page10k(format)
		b.Run(formatName(format), func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParsePage(page, string(format), DefaultMaxSeries); err != nil {
					b.Fatal(err)
				}
			}
			perSample(b)
		})
	}
}

// BenchmarkIngest is what one scrape of one target costs once its body is
// read: a Reader for the built-in profiles, warmed by the first (full)
// read, then Store.Ingest, one scrape a second so history and rates are
// exercised, then the page's release, as the app does. On Page10k the native profile reads 4,500 of the 12,000
// series; on the Envoy-like page the Envoy profile reads 1,000 of 20,000.
// allocs/wanted is allocations per Prometheus series decoded.
func BenchmarkIngest(b *testing.B) {
	for _, pg := range benchPages() {
		b.Run(pg.name, func(b *testing.B) {
			opts := rmodel.StoreOptions{Profiles: profile.Builtin()}
			s := rmodel.NewStore(opts)
			r := NewReader(opts.Candidates("http://bench/metrics"))
			t := time.Unix(1_700_000_000, 0)
			ingest := func(count bool) (wanted int) {
				page, err := r.Read(pg.body, pg.contentType, DefaultMaxSeries)
				if err != nil {
					b.Fatal(err)
				}
				if count {
					wanted = samples(page)
				}
				t = t.Add(time.Second)
				s.Ingest(rmodel.Scrape{Target: "http://bench/metrics", Time: t, Page: page})
				page.Release()
				return wanted
			}
			ingest(false)
			wanted := ingest(true)
			b.SetBytes(int64(len(pg.body)))
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				ingest(false)
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N)/float64(wanted), "allocs/wanted")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(pg.body)), "ns/byte")
			if pg.name != "text-envoy-like" {
				perSample(b)
			}
		})
	}
}

// benchPages are the pages of BenchmarkIngest and BenchmarkRead.
func benchPages() []struct {
	name, contentType string
	body              []byte
} {
	return []struct {
		name, contentType string
		body              []byte
	}{
		{"text", string(expfmt.FmtText), scrapetest.Page10k(expfmt.FmtText)},
		{"protobuf", string(expfmt.FmtProtoDelim), scrapetest.Page10k(expfmt.FmtProtoDelim)},
		{"text-envoy-like", string(expfmt.FmtText), scrapetest.EnvoyLikePage()},
	}
}

// BenchmarkRead is the Reader alone on BenchmarkIngest's pages, warmed by
// the first (full) read, each page released once read: the part of ingest
// this package does.
func BenchmarkRead(b *testing.B) {
	for _, pg := range benchPages() {
		b.Run(pg.name, func(b *testing.B) {
			r := NewReader(profile.Builtin())
			read := func() {
				page, err := r.Read(pg.body, pg.contentType, DefaultMaxSeries)
				if err != nil {
					b.Fatal(err)
				}
				page.Release()
			}
			read()
			b.SetBytes(int64(len(pg.body)))
			b.ReportAllocs()
			for b.Loop() {
				read()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(pg.body)), "ns/byte")
		})
	}
}

// BenchmarkLineCount is the physical floor of reading the Envoy-like page:
// one bytes.Count pass for its newlines.
func BenchmarkLineCount(b *testing.B) {
	page := scrapetest.EnvoyLikePage()
	b.Run("text-envoy-like", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if bytes.Count(page, []byte("\n")) < scrapetest.EnvoySeries {
				b.Fatal("short page")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(page)), "ns/byte")
	})
}

// samples counts a page's Prometheus series: a histogram's buckets, _sum
// and _count, a summary's quantiles, _sum and _count.
func samples(p *rmodel.Page) int {
	n := 0
	for _, f := range p.Families {
		for _, m := range f.Metric {
			switch {
			case m.Histogram != nil:
				n += len(m.Histogram.Bucket) + 2
			case m.Summary != nil:
				n += len(m.Summary.Quantile) + 2
			default:
				n++
			}
		}
	}
	return n
}
