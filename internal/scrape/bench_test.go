package scrape

import (
	"bytes"
	"errors"
	"io"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"resiltop/internal/scrape/scrapetest"
)

// BenchmarkDecode is the ingest baseline: ParsePage (expfmt plus resiltop's
// merging, dedup and series cap) of the 12,000-series Page10k, per format.
// ns/sample is per Prometheus series (sample line).
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
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/scrapetest.Samples, "ns/sample")
		})
	}
}

// BenchmarkExpfmt decodes the same bytes with bare expfmt, so
// BenchmarkDecode's overhead over it is visible in the same run.
func BenchmarkExpfmt(b *testing.B) {
	for _, format := range scrapetest.Formats {
		page := scrapetest.Page10k(format)
		b.Run(formatName(format), func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				dec := expfmt.NewDecoder(bytes.NewReader(page), format)
				for {
					var f dto.MetricFamily
					if err := dec.Decode(&f); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/scrapetest.Samples, "ns/sample")
		})
	}
}

func formatName(f expfmt.Format) string {
	if f.FormatType() == expfmt.TypeProtoDelim {
		return "protobuf"
	}
	return "text"
}
